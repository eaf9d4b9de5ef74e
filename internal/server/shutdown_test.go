package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestGracefulShutdown: when Run's context ends, a synchronous request still waiting is answered as async (its
// job exists), Run returns nil, and a job that finishes within the engine's grace is recorded as it ended.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.RootPassword = "127.0.0.1:0", dir, rootPassword
	hostFiles(&cfg)
	logs := &syncBuffer{}
	s, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	ts := &testServer{Server: s, url: s.URL(), logs: logs, console: &syncBuffer{}, seen: &syncBuffer{}}
	ts.token = ts.login(t, "root", rootPassword)
	ts.withRepo(t)
	started, fifo := mkfifo(t), mkfifo(t)
	t.Cleanup(func() { unblock(fifo); unblock(started) })
	ts.createTask(t, api.Task{Name: "slow", Runner: "repo", Command: "echo started > " + started + "; cat " + fifo, Synchronous: true})

	answered := make(chan *resp, 1)
	go func() {
		answered <- ts.doNoFatal(req{method: "POST", path: "/api/v1/jobs/slow?wait=5m"})
	}()
	// The job runs once it writes to the started fifo; then it is the only job.
	if got := receive(t, started); got != "started\n" {
		t.Fatalf("started fifo got %q", got)
	}
	var list []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs"}).want(t, 200).decode(t, &list)
	if len(list) != 1 || list[0].Status != api.JobRunning {
		t.Fatalf("jobs = %+v, want one running", list)
	}
	id := list[0].ID

	stop()
	var r *resp
	select {
	case r = <-answered:
	case <-time.After(time.Minute):
		t.Fatal("the waiting synchronous request was not answered after shutdown began")
	}
	if r == nil || r.status != http.StatusOK {
		t.Fatalf("sync request during shutdown = %+v, want 200", r)
	}
	var c api.JobCreated
	if err := json.Unmarshal(r.body, &c); err != nil || c.ID != id || c.Msg != api.JobCreatedMsg {
		t.Errorf("sync request during shutdown answered %s, want {msg, id %s}", r.body, id)
	}
	release(t, fifo, "bye\n")
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context ended")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(s.URL() + "/healthz"); err == nil {
		t.Errorf("the server still answers after Run returned")
	}

	// The job ended within the grace and was recorded; a new server on the same data dir shows it.
	again := startServer(t, func(c *Config) { c.DataDir = dir })
	var j api.Job
	again.do(t, req{method: "GET", path: "/api/v1/jobs/" + id}).want(t, 200).decode(t, &j)
	if j.Status != api.JobSucceeded || !strings.Contains(j.Stdout, "bye") {
		t.Errorf("after restart, job = %+v, want succeeded with stdout bye", j)
	}
}

// doNoFatal is do for use off the test goroutine: it returns nil on a transport error.
func (ts *testServer) doNoFatal(r req) *resp {
	hr, err := http.NewRequest(r.method, ts.url+r.path, strings.NewReader(r.body))
	if err != nil {
		return nil
	}
	hr.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b, req: r}
}

// receive reads everything a job writes into the fifo, once the job opens it.
func receive(t *testing.T, fifo string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until a writer opens the fifo, ends when it closes it
		got <- string(b)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(2 * time.Minute):
		unblock(fifo)
		t.Fatal("no job wrote to the fifo")
		return ""
	}
}
