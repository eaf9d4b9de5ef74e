package server

import (
	"bufio"
	"context"
	"github.com/runplane/runplane/internal/executor/local"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestFollowLog: a follower receives output while the job runs, and the stream ends when the job ends.
func TestFollowLog(t *testing.T) {
	t.Parallel()
	ts := startServer(t, hostFiles)
	ts.withRepo(t)
	fifo := mkfifo(t)
	ts.createTask(t, api.Task{Name: "chatty", Runner: "repo", Command: "echo first; cat " + fifo + "; echo second"})
	id := created(t, ts.submit(t, "/api/v1/jobs/chatty", "", nil))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/jobs/"+id+"/log?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("follow = %d %s, want 200 text/plain", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
		t.Errorf("follow Transfer-Encoding = %v, want chunked", res.TransferEncoding)
	}
	lines := bufio.NewReader(res.Body)
	line, err := lines.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line = %q, %v; want \"first\\n\" while the job runs", line, err)
	}
	// The job is blocked on the fifo, so it is still running: the line arrived live.
	var j api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + id}).want(t, 200).decode(t, &j)
	if j.Status != api.JobRunning || !strings.Contains(j.Stdout, "first") {
		t.Errorf("while blocked: job status %s stdout %q, want running with the output so far", j.Status, j.Stdout)
	}
	release(t, fifo, "middle\n")
	rest, err := io.ReadAll(lines)
	if err != nil {
		t.Fatalf("reading the rest of the stream: %v", err)
	}
	if string(rest) != "middle\nsecond\n" {
		t.Errorf("rest of the stream = %q, want \"middle\\nsecond\\n\" then the end", rest)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + id}).want(t, 200).decode(t, &j)
	if j.Status != api.JobSucceeded {
		t.Errorf("after the stream ended: job status %s, want succeeded", j.Status)
	}
}

func TestCancelJob(t *testing.T) {
	t.Parallel()
	ts := startServer(t, hostFiles)
	ts.withRepo(t)
	fifo := mkfifo(t)
	t.Cleanup(func() { unblock(fifo) })
	ts.createTask(t, api.Task{Name: "stuck", Runner: "repo", Command: "echo started; cat " + fifo})
	id := created(t, ts.submit(t, "/api/v1/jobs/stuck", "", nil))
	// Wait until it runs: its first output line.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/jobs/"+id+"/log?follow=true", nil)
	hr.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if line, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}

	var j api.Job
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + id + "/cancel"}).want(t, 200).decode(t, &j)
	if j.Status != api.JobCancelled || j.Reason != api.ReasonCancelled {
		t.Errorf("cancel answered %+v, want status and reason cancelled", j)
	}
	e := ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + id + "/cancel"}).want(t, http.StatusConflict).apiError(t)
	if !strings.Contains(e.Error, "already finished") {
		t.Errorf("second cancel error = %q", e.Error)
	}
}

func TestCancelQueuedJob(t *testing.T) {
	t.Parallel()
	ts := startServer(t, hostFiles, func(c *Config) { c.MaxConcurrentJobs = 1 })
	ts.withRepo(t)
	fifo := mkfifo(t)
	t.Cleanup(func() { unblock(fifo) })
	ts.createTask(t, api.Task{Name: "stuck", Runner: "repo", Command: "cat " + fifo})
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh"})
	first := created(t, ts.submit(t, "/api/v1/jobs/stuck", "", nil))
	queued := created(t, ts.submit(t, "/api/v1/jobs/hello", "", nil))
	var j api.Job
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + queued + "/cancel"}).want(t, 200).decode(t, &j)
	if j.Status != api.JobCancelled || j.StartTime != nil {
		t.Errorf("cancelled queued job = %+v, want cancelled without having started", j)
	}
	release(t, fifo, "x\n")
	ts.waitFinal(t, first)
}

// hostFiles runs the server's jobs without a sandbox, so that they can reach the fifos of the test's directory
// (containment is executor/local's and test/e2e's to test).
func hostFiles(c *Config) { c.Isolation = local.IsolationNone }

// mkfifo makes a named pipe a job can block on until the test writes to it.
func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// release writes s to the fifo once a job has it open for reading, and closes it: the job's cat ends.
func release(t *testing.T, fifo, s string) {
	t.Helper()
	opened := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until the job opens the fifo
		if err == nil {
			_, err = f.WriteString(s)
			err = errorsJoin(err, f.Close())
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("write fifo: %v", err)
		}
	case <-time.After(2 * time.Minute):
		unblock(fifo)
		t.Fatalf("no job opened the fifo")
	}
}

// unblock opens the fifo for reading and writing, releasing anyone blocked opening it, and closes it.
func unblock(fifo string) {
	if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
		f.Close()
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
