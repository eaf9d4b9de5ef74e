package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestHonestWaits: an answer for a job not yet finished keeps Kriten's 200 {"msg","id"} and adds the job's URL
// (Location) and status; Prefer: respond-async makes it 202; a finished wait answers 200 with the job; GET
// /jobs/{id}?wait= is a long poll woken by the job's end; a log can be read from an offset.
func TestHonestWaits(t *testing.T) {
	t.Parallel()
	ts := startServer(t, hostFiles)
	ts.withRepo(t)
	fifo := mkfifo(t)
	t.Cleanup(func() { unblock(fifo) })
	ts.createTask(t, api.Task{Name: "slow", Runner: "repo", Command: "echo 0123456789; cat " + fifo, Synchronous: true,
		SyncTimeout: api.Duration(200 * time.Millisecond)})
	ts.createTask(t, api.Task{Name: "quick", Runner: "repo", Command: "sh hello.sh"})

	createdAt := func(r *resp, wantStatus int) api.JobCreated {
		t.Helper()
		r.want(t, wantStatus)
		var c api.JobCreated
		r.decode(t, &c)
		if c.Msg != api.JobCreatedMsg || c.ID == "" || (c.Status != api.JobQueued && c.Status != api.JobRunning) {
			t.Fatalf("%s %s = %s, want msg, id and a live status", r.req.method, r.req.path, r.body)
		}
		if got, want := r.header.Get("Location"), "/api/v1/jobs/"+c.ID; got != want {
			t.Errorf("%s %s: Location %q, want %q", r.req.method, r.req.path, got, want)
		}
		return c
	}

	// A sync task whose wait ran out: Kriten's 200, with the job's URL and status.
	slow := createdAt(ts.submit(t, "/api/v1/jobs/slow", "", nil), http.StatusOK)
	// The same, asking for async answers (RFC 7240): 202 at once, saying the preference was applied.
	r := ts.submit(t, "/api/v1/jobs/quick", "", map[string]string{"Prefer": "respond-async"})
	quick := createdAt(r, http.StatusAccepted)
	if got := r.header.Get("Preference-Applied"); got != "respond-async" {
		t.Errorf("Preference-Applied = %q, want respond-async", got)
	}
	// respond-async with a wait long enough: the finished job, 200.
	if j := finished(t, ts.submit(t, "/api/v1/jobs/quick", "", map[string]string{"Prefer": "respond-async, wait=60"})); j.Status != api.JobSucceeded {
		t.Errorf("Prefer respond-async, wait=60: job %+v, want succeeded", j)
	}
	ts.submit(t, "/api/v1/jobs/quick", "", map[string]string{"Prefer": "respond-async, wait=soon"}).want(t, http.StatusBadRequest)

	// The long poll: returns the finished job, or the job as it stands when the wait runs out.
	var j api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + quick.ID + "?wait=60s"}).want(t, 200).decode(t, &j)
	if j.Status != api.JobSucceeded {
		t.Errorf("GET ?wait=60s: job %+v, want succeeded", j)
	}
	start := time.Now()
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + slow.ID + "?wait=300ms"}).want(t, 200).decode(t, &j)
	if j.Status.Final() || time.Since(start) < 300*time.Millisecond {
		t.Errorf("GET ?wait=300ms of a live job: %s after %v, want it live after the wait", j.Status, time.Since(start))
	}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + slow.ID + "?wait=forever"}).want(t, http.StatusBadRequest)

	woke := make(chan api.Job, 1)
	go func() {
		var j api.Job
		ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + slow.ID + "?wait=5m"}).decode(t, &j)
		woke <- j
	}()
	release(t, fifo, "done\n")
	select {
	case j := <-woke:
		if j.Status != api.JobSucceeded {
			t.Errorf("long poll woke with %+v, want succeeded", j)
		}
	case <-time.After(time.Minute):
		t.Fatal("the long poll was not woken by the job's end")
	}

	// The log from an offset: "0123456789\n" then "done\n".
	r = ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + slow.ID + "/log?offset=5"}).want(t, 200)
	if got := string(r.body); got != "56789\ndone\n" {
		t.Errorf("log from offset 5 = %q, want %q", got, "56789\ndone\n")
	}
	if r := ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + slow.ID + "/log?offset=999"}).want(t, 200); len(r.body) != 0 {
		t.Errorf("log from beyond its end = %q, want nothing", r.body)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + slow.ID + "/log?offset=-1"}).want(t, http.StatusBadRequest)
}
