package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// submit posts input to path and returns the answer.
func (ts *testServer) submit(t *testing.T, path, input string, header map[string]string) *resp {
	t.Helper()
	return ts.do(t, req{method: "POST", path: path, body: input, header: header})
}

// created decodes an async answer.
func created(t *testing.T, r *resp) string {
	t.Helper()
	r.want(t, http.StatusOK)
	var c api.JobCreated
	r.decode(t, &c)
	// "name" is read by Kriten's API test suite (test_jobs.py): the job's name, its id.
	if c.Msg != api.JobCreatedMsg || c.ID == "" || c.Name != c.ID {
		t.Fatalf("%s %s = %s, want {\"msg\":%q,\"id\":ID,\"name\":ID}", r.req.method, r.req.path, r.body, api.JobCreatedMsg)
	}
	return c.ID
}

// finished decodes a sync answer.
func finished(t *testing.T, r *resp) api.Job {
	t.Helper()
	r.want(t, http.StatusOK)
	var j api.Job
	r.decode(t, &j)
	if !j.Status.Final() {
		t.Fatalf("%s %s = %s, want a finished job", r.req.method, r.req.path, r.body)
	}
	return j
}

func TestSyncJob(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh", Synchronous: true,
		Schema: json.RawMessage(objSchema)})
	paths := []struct{ name, path string }{
		{"kriten path", "/api/v1/jobs/hello"},
		{"run path", "/api/v1/tasks/hello/run"},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			j := finished(t, ts.submit(t, p.path, `{"n": 2, "name": "a\\b"}`, nil))
			if j.Status != api.JobSucceeded || j.Completed != 1 || j.Failed != 0 || j.ExitCode == nil || *j.ExitCode != 0 {
				t.Errorf("job = %+v, want succeeded with exit code 0", j)
			}
			if j.Owner != "root" || j.Task != "hello" || !strings.HasPrefix(j.ID, "hello-") {
				t.Errorf("job owner/task/id = %q/%q/%q, want root/hello/hello-*", j.Owner, j.Task, j.ID)
			}
			if !strings.Contains(j.Stdout, "hello from hello as root") {
				t.Errorf("stdout = %q, want the greeting", j.Stdout)
			}
			var data any
			if err := json.Unmarshal(j.JSONData, &data); err != nil {
				t.Fatalf("json_data %s: %v", j.JSONData, err)
			}
			want := map[string]any{"ok": true, "input": map[string]any{"n": 2.0, "name": `a\b`}}
			if diff := cmp.Diff(want, data); diff != "" {
				t.Errorf("json_data (-want +got):\n%s", diff)
			}
			if j.StartTime == nil || j.CompletionTime == nil || j.CompletionTime.Before(*j.StartTime) {
				t.Errorf("times start=%v completion=%v", j.StartTime, j.CompletionTime)
			}
			// GET answers the same job.
			var got api.Job
			ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + j.ID}).want(t, 200).decode(t, &got)
			if diff := cmp.Diff(j, got); diff != "" {
				t.Errorf("GET job (-sync answer +GET):\n%s", diff)
			}
			// The log is the job's output as text.
			res := ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + j.ID + "/log"}).want(t, 200)
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("log Content-Type = %q, want text/plain", ct)
			}
			if !strings.Contains(string(res.body), "hello from hello") {
				t.Errorf("log = %q, want the greeting", res.body)
			}
		})
	}
}

func TestAsyncJob(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh"})
	ts.createTask(t, api.Task{Name: "fail", Runner: "repo", Command: "sh fail.sh"})

	id := created(t, ts.submit(t, "/api/v1/jobs/hello", "", nil))
	j := ts.waitFinal(t, id)
	if j.Status != api.JobSucceeded || string(j.JSONData) != `{"ok":true,"input":null}` {
		t.Errorf("async job = %+v (json_data %s), want succeeded with input null", j, j.JSONData)
	}

	id = created(t, ts.do(t, req{method: "PUT", path: "/api/v1/jobs/fail"}))
	j = ts.waitFinal(t, id)
	if j.Status != api.JobFailed || j.Failed != 1 || j.Completed != 0 || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("failing job = %+v, want failed with exit code 3", j)
	}
	if len(j.JSONData) != 0 {
		t.Errorf("failing job json_data = %s, want none", j.JSONData)
	}
}

func TestJobWait(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "async", Runner: "repo", Command: "sh hello.sh"})
	ts.createTask(t, api.Task{Name: "sync", Runner: "repo", Command: "sh hello.sh", Synchronous: true})
	tests := []struct {
		name     string
		path     string
		wantSync bool
	}{
		{"async task with wait", "/api/v1/jobs/async?wait=60s", true},
		{"async task with wait in seconds", "/api/v1/tasks/async/run?wait=60", true},
		{"sync task with wait=0", "/api/v1/jobs/sync?wait=0", false},
		{"sync task", "/api/v1/jobs/sync", true},
		{"async task", "/api/v1/jobs/async", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.submit(t, tt.path, "", nil)
			if tt.wantSync {
				if j := finished(t, res); j.Status != api.JobSucceeded {
					t.Errorf("job = %+v, want succeeded", j)
				}
				return
			}
			ts.waitFinal(t, created(t, res))
		})
	}
}

// TestSyncTimeout: a synchronous job still running after the task's sync_timeout is answered as async.
func TestSyncTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, hostFiles)
	ts.withRepo(t)
	fifo := mkfifo(t)
	ts.createTask(t, api.Task{Name: "slow", Runner: "repo", Command: "cat " + fifo, Synchronous: true,
		SyncTimeout: api.Duration(500 * time.Millisecond)})
	id := created(t, ts.submit(t, "/api/v1/jobs/slow", "", nil))
	var j api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + id}).want(t, 200).decode(t, &j)
	if j.Status.Final() {
		t.Errorf("job %s is %s, want it still live", id, j.Status)
	}
	release(t, fifo, "done\n")
	if j := ts.waitFinal(t, id); j.Status != api.JobSucceeded || !strings.Contains(j.Stdout, "done") {
		t.Errorf("job = %+v, want succeeded with stdout done", j)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh"})
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
	a := created(t, ts.submit(t, "/api/v1/jobs/hello", `{"n":1}`, key("key-1")))
	b := created(t, ts.submit(t, "/api/v1/jobs/hello", `{"n":1}`, key("key-1")))
	c := created(t, ts.submit(t, "/api/v1/jobs/hello", `{"n":1}`, key("key-2")))
	d := created(t, ts.submit(t, "/api/v1/jobs/hello", `{"n":1}`, nil))
	if a != b {
		t.Errorf("same Idempotency-Key gave jobs %s and %s, want one", a, b)
	}
	if c == a || d == a || d == c {
		t.Errorf("different keys gave jobs %s, %s, %s; want distinct", a, c, d)
	}
	// The job's executor handle and idempotency key stay inside the server (its input is shown: see TestRerun).
	var raw map[string]any
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + a}).want(t, 200).decode(t, &raw)
	for _, k := range []string{"Input", "handle", "Handle", "idempotency_key", "IdempotencyKey"} {
		if _, ok := raw[k]; ok {
			t.Errorf("job JSON exposes %q: %v", k, raw)
		}
	}
	// A repeat after the job finished, waiting, answers the finished job.
	ts.waitFinal(t, a)
	if j := finished(t, ts.submit(t, "/api/v1/jobs/hello?wait=30s", `{"n":1}`, key("key-1"))); j.ID != a {
		t.Errorf("repeat after finish = job %s, want %s", j.ID, a)
	}
	for _, id := range []string{c, d} {
		ts.waitFinal(t, id)
	}
}

func TestJobErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "typed", Runner: "repo", Command: "sh hello.sh", Schema: json.RawMessage(objSchema)})
	done := created(t, ts.submit(t, "/api/v1/jobs/typed", `{"n":1}`, nil))
	ts.waitFinal(t, done)
	tests := []struct {
		name       string
		r          req
		status     int
		wantErr    string
		wantFields []string // paths in fields
	}{
		{"input fails schema", req{method: "POST", path: "/api/v1/jobs/typed", body: `{"n":"two","name":5}`}, 400, "", []string{"/n", "/name"}},
		{"input misses required", req{method: "POST", path: "/api/v1/tasks/typed/run", body: `{}`}, 400, "", []string{"/"}},
		{"empty input misses required", req{method: "POST", path: "/api/v1/jobs/typed"}, 400, "", nil},
		{"input below minimum", req{method: "PUT", path: "/api/v1/jobs/typed", body: `{"n":0}`}, 400, "", []string{"/n"}},
		{"input not json", req{method: "POST", path: "/api/v1/jobs/typed", body: `n=1`}, 400, "JSON", nil},
		{"input trailing garbage", req{method: "POST", path: "/api/v1/jobs/typed", body: `{"n":1} {}`}, 400, "after the JSON value", nil},
		{"input too large", req{method: "POST", path: "/api/v1/jobs/typed", body: `{"n":1,"name":"` + strings.Repeat("x", 5000) + `"}`}, 413, "larger than", nil},
		{"missing task", req{method: "POST", path: "/api/v1/jobs/nope", body: `{}`}, 404, `task "nope" not found`, nil},
		{"missing task run path", req{method: "POST", path: "/api/v1/tasks/nope/run"}, 404, `task "nope" not found`, nil},
		{"bad wait", req{method: "POST", path: "/api/v1/jobs/typed?wait=soon", body: `{"n":1}`}, 400, "wait", nil},
		{"negative wait", req{method: "POST", path: "/api/v1/jobs/typed?wait=-1s", body: `{"n":1}`}, 400, "wait", nil},
		{"bad idempotency key", req{method: "POST", path: "/api/v1/jobs/typed", body: `{"n":1}`, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}}, 400, "Idempotency-Key", nil},
		{"get missing job", req{method: "GET", path: "/api/v1/jobs/nope-12345"}, 404, `job "nope-12345" not found`, nil},
		{"log of missing job", req{method: "GET", path: "/api/v1/jobs/nope-12345/log"}, 404, "not found", nil},
		{"follow missing job", req{method: "GET", path: "/api/v1/jobs/nope-12345/log?follow=true"}, 404, "not found", nil},
		{"bad follow", req{method: "GET", path: "/api/v1/jobs/" + done + "/log?follow=maybe"}, 400, "follow", nil},
		{"cancel missing job", req{method: "POST", path: "/api/v1/jobs/nope-12345/cancel"}, 404, "not found", nil},
		{"cancel finished job", req{method: "POST", path: "/api/v1/jobs/" + done + "/cancel"}, 409, "already finished", nil},
		{"list bad limit", req{method: "GET", path: "/api/v1/jobs?limit=many"}, 400, "limit", nil},
		{"list limit too large", req{method: "GET", path: "/api/v1/jobs?limit=5000"}, 400, "at most 1000", nil},
		{"list bad status", req{method: "GET", path: "/api/v1/jobs?status=done"}, 400, "status", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, tt.r).want(t, tt.status)
			e := res.apiError(t)
			if !strings.Contains(e.Error, tt.wantErr) {
				t.Errorf("%s %s error = %q, want it to contain %q", tt.r.method, tt.r.path, e.Error, tt.wantErr)
			}
			var paths []string
			for _, f := range e.Fields {
				paths = append(paths, f.Path)
				if f.Message == "" {
					t.Errorf("field %q has no message", f.Path)
				}
			}
			for _, p := range tt.wantFields {
				if !contains(paths, p) {
					t.Errorf("fields %v do not include %q (body %s)", paths, p, res.body)
				}
			}
		})
	}
	// None of the rejected submissions created a job.
	var list []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs"}).want(t, 200).decode(t, &list)
	if len(list) != 1 {
		t.Errorf("%d jobs exist, want only the one valid submission", len(list))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestListJobs(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "a", Runner: "repo", Command: "true"})
	ts.createTask(t, api.Task{Name: "b", Runner: "repo", Command: "false"})
	var ids []string
	for _, task := range []string{"a", "b", "a"} {
		j := finished(t, ts.submit(t, "/api/v1/jobs/"+task+"?wait=60s", "", nil))
		ids = append(ids, j.ID)
	}
	idsOf := func(r *resp) []string {
		var list []api.Job
		r.decode(t, &list)
		out := []string{}
		for _, j := range list {
			out = append(out, j.ID)
		}
		return out
	}
	tests := []struct {
		name      string
		query     string
		want      []string
		wantRange string
	}{
		{"all newest first", "", []string{ids[2], ids[1], ids[0]}, "jobs 0-2/3"},
		{"limit", "?limit=2", []string{ids[2], ids[1]}, "jobs 0-1/3"},
		{"offset", "?limit=2&offset=2", []string{ids[0]}, "jobs 2-2/3"},
		{"past the end", "?offset=5", []string{}, "jobs */3"},
		{"by task", "?task=a", []string{ids[2], ids[0]}, "jobs 0-1/2"},
		{"by status", "?status=failed", []string{ids[1]}, "jobs 0-0/1"},
		{"by statuses", "?status=succeeded,failed&limit=1", []string{ids[2]}, "jobs 0-0/3"},
		{"none match", "?task=nope", []string{}, "jobs */0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, req{method: "GET", path: "/api/v1/jobs" + tt.query}).want(t, 200)
			if diff := cmp.Diff(tt.want, idsOf(res)); diff != "" {
				t.Errorf("GET /jobs%s (-want +got):\n%s", tt.query, diff)
			}
			if cr := res.header.Get("Content-Range"); cr != tt.wantRange {
				t.Errorf("GET /jobs%s Content-Range = %q, want %q", tt.query, cr, tt.wantRange)
			}
		})
	}
}
