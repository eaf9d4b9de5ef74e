package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestRerun: a job shows the input it was run with (to its readers), and POST /jobs/{id}/rerun starts a new job
// of its task with that input, validated against the task's schema as it is now, as the caller, authorized as a
// submission.
func TestRerun(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh", Synchronous: true, Schema: json.RawMessage(objSchema)})
	first := finished(t, ts.submit(t, "/api/v1/jobs/hello", `{"n": 2, "name": "a\\b"}`, nil))
	if string(first.Input) != `{"n":2,"name":"a\\b"}` {
		t.Errorf("job input = %s, want the submitted input", first.Input)
	}
	var got api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + first.ID}).want(t, 200).decode(t, &got)
	if string(got.Input) != string(first.Input) {
		t.Errorf("GET job input = %s, want %s", got.Input, first.Input)
	}

	again := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + first.ID + "/rerun"}))
	if again.ID == first.ID || again.Task != "hello" || string(again.Input) != string(first.Input) || string(again.JSONData) != string(first.JSONData) {
		t.Errorf("rerun = %+v, want a new job of hello with the same input and result as %+v", again, first)
	}
	// As async, with the answers of a submission.
	r := ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + first.ID + "/rerun?wait=0"})
	created(t, r)

	// A reader of the task's jobs sees the input but may not rerun; a runner of the task may.
	reader := makePersona(t, ts, "reader", &api.Role{Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessRead})
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + first.ID, as: reader}).want(t, 200).decode(t, &got)
	if string(got.Input) != string(first.Input) {
		t.Errorf("reader sees input %s, want %s", got.Input, first.Input)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + first.ID + "/rerun", as: reader}).want(t, http.StatusForbidden)
	runner := makePersona(t, ts, "runner", &api.Role{Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessWrite})
	mine := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + first.ID + "/rerun", as: runner}))
	if mine.Owner != "runner" {
		t.Errorf("rerun by runner: owner %q, want runner", mine.Owner)
	}
	stranger := makePersona(t, ts, "stranger", nil)
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + first.ID + "/rerun", as: stranger}).want(t, http.StatusForbidden)

	// The schema as it is now decides.
	ts.do(t, req{method: "PUT", path: "/api/v1/tasks/hello/schema", body: `{"type":"object","properties":{"n":{"type":"integer","minimum":5}}}`}).want(t, 200)
	if e := ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + first.ID + "/rerun"}).want(t, http.StatusBadRequest).apiError(t); len(e.Fields) == 0 {
		t.Errorf("rerun against a stricter schema: %+v, want the failing field", e)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/hello-zzzzz/rerun"}).want(t, http.StatusNotFound)
}
