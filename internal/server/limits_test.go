package server

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// waitOutput follows job id's log until its first line arrives, which the job writes once it runs.
func (ts *testServer) waitOutput(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/jobs/"+id+"/log?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("follow %s: %v", id, err)
	}
	defer res.Body.Close()
	if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil {
		t.Fatalf("follow %s: no first line: %v", id, err)
	}
}

// TestMaxQueuedPerOwner: past the cap a submission answers 429 with Retry-After and says why; resubmitting a
// queued job by its Idempotency-Key still answers that job.
func TestMaxQueuedPerOwner(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxConcurrentJobs, c.MaxQueuedPerOwner = 1, 1 })
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "block", Runner: "repo", Command: "echo started; exec sleep 600"})
	running := created(t, ts.submit(t, "/api/v1/jobs/block", "", nil))
	ts.waitOutput(t, running) // the only slot is taken: what comes next stays queued
	key := map[string]string{"Idempotency-Key": "second"}
	queued := created(t, ts.submit(t, "/api/v1/jobs/block", "", key))

	for _, path := range []string{"/api/v1/jobs/block", "/api/v1/tasks/block/run"} {
		r := ts.submit(t, path, "", map[string]string{"Idempotency-Key": "third"}).want(t, http.StatusTooManyRequests)
		if got := r.header.Get("Retry-After"); got != "10" {
			t.Errorf("POST %s past the cap: Retry-After %q, want \"10\"", path, got)
		}
		if e := r.apiError(t); !strings.Contains(e.Error, "root already has 1 jobs queued, the most this server allows") {
			t.Errorf("POST %s past the cap: error %q, want it to say whose queue is full and how long it is", path, e.Error)
		}
	}
	if again := created(t, ts.submit(t, "/api/v1/jobs/block", "", key)); again != queued {
		t.Errorf("resubmission with the queued job's Idempotency-Key = %s, want %s", again, queued)
	}
	for _, id := range []string{queued, running} {
		ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + id + "/cancel"}).want(t, http.StatusOK)
	}
	if j := ts.waitFinal(t, running); j.Status != api.JobCancelled {
		t.Errorf("running job after cancel = %s, want cancelled", j.Status)
	}
	// Nothing is queued now: the owner may submit again.
	created(t, ts.submit(t, "/api/v1/jobs/block", "", map[string]string{"Idempotency-Key": "third"}))
}

// TestDefaultTimeout: a job whose task sets no timeout ends at the server's default, failed with reason timeout.
func TestDefaultTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.DefaultTimeout = time.Second })
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "forever", Runner: "repo", Command: "exec sleep 600"})
	j := ts.waitFinal(t, created(t, ts.submit(t, "/api/v1/jobs/forever", "", nil)))
	if j.Status != api.JobFailed || j.Reason != api.ReasonTimeout {
		t.Errorf("job past the default timeout = %s %q, want failed %q", j.Status, j.Reason, api.ReasonTimeout)
	}
}

// TestMaxLogSize: a job writing past the cap runs to its end; its log stops at the cap and says where and how
// much was dropped.
func TestMaxLogSize(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxLogSize = 4096 })
	ts.withRepo(t)
	// 100 KB of output, then a result only a job still running can print.
	ts.createTask(t, api.Task{Name: "chatty", Runner: "repo", Synchronous: true,
		Command: `head -c 100000 /dev/zero | tr '\0' x; echo; echo done >&2; exit 5`})
	j := finished(t, ts.submit(t, "/api/v1/jobs/chatty", "", nil))
	if j.Status != api.JobFailed || j.ExitCode == nil || *j.ExitCode != 5 {
		t.Errorf("job = %s exit %v, want failed with its own exit code 5: it must run to its end", j.Status, j.ExitCode)
	}
	r := ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + j.ID + "/log"}).want(t, http.StatusOK)
	log := string(r.body)
	want := strings.Repeat("x", 4096) + "\nrunplane: the log is cut here, at 4096 bytes (the server's max log size); the job goes on, its further output is dropped\n" +
		"runplane: 95910 bytes of output were dropped after the cut at 4096 bytes\n"
	if log != want {
		t.Errorf("log (%d bytes) ends %q, want %d bytes ending %q", len(log), log[max(0, len(log)-200):], len(want), want[len(want)-200:])
	}
	if !slices.ContainsFunc(j.Warnings, func(w string) bool { return strings.Contains(w, "log cut at 4096 bytes") }) {
		t.Errorf("job warnings %q, want one saying the log was cut", j.Warnings)
	}
}
