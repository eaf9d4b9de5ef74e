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

const objSchema = `{"type":"object","properties":{"n":{"type":"integer","minimum":1},"name":{"type":"string"}},"required":["n"]}`

func TestTasksCRUD(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createRunner(t, api.Runner{Name: "other", GitURL: newRepoURL(t)})

	in := api.Task{Name: "t1", Runner: "repo", Command: "sh hello.sh", Synchronous: true,
		Schema: json.RawMessage(objSchema), Timeout: api.Duration(time.Minute), SyncTimeout: api.Duration(5 * time.Second)}
	got := ts.createTask(t, in)
	if diff := cmp.Diff(in, got, cmp.Comparer(jsonEqual)); diff != "" {
		t.Fatalf("create answer (-want +got):\n%s", diff)
	}
	var one api.Task
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/t1"}).want(t, 200).decode(t, &one)
	if diff := cmp.Diff(in, one, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}

	ts.createTask(t, api.Task{Name: "t2", Runner: "repo", Command: "true"})
	ts.do(t, req{method: "PUT", path: "/api/v1/tasks", json: api.Task{Name: "t3", Runner: "repo", Command: "true"}}).want(t, 200)
	var list []api.Task
	res := ts.do(t, req{method: "GET", path: "/api/v1/tasks?limit=1&offset=1"}).want(t, 200)
	res.decode(t, &list)
	if len(list) != 1 || list[0].Name != "t2" {
		t.Errorf("page limit=1 offset=1 = %+v, want [t2]", list)
	}
	if cr := res.header.Get("Content-Range"); cr != "tasks 1-1/3" {
		t.Errorf("Content-Range = %q, want tasks 1-1/3", cr)
	}
	res = ts.do(t, req{method: "GET", path: "/api/v1/tasks?offset=10"}).want(t, 200)
	if string(res.body) != "[]\n" || res.header.Get("Content-Range") != "tasks */3" {
		t.Errorf("page past the end = %q (Content-Range %q), want [] and tasks */3", res.body, res.header.Get("Content-Range"))
	}

	// PATCH changes only what it names.
	var patched api.Task
	ts.do(t, req{method: "PATCH", path: "/api/v1/tasks/t1", body: `{"command":"sh fail.sh","runner":"other"}`}).want(t, 200).decode(t, &patched)
	want := in
	want.Command, want.Runner = "sh fail.sh", "other"
	if diff := cmp.Diff(want, patched, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("after PATCH (-want +got):\n%s", diff)
	}
	// PATCH schema null removes it.
	var unschema api.Task
	ts.do(t, req{method: "PATCH", path: "/api/v1/tasks/t1", body: `{"schema":null}`}).want(t, 200).decode(t, &unschema)
	if len(unschema.Schema) != 0 {
		t.Errorf("after PATCH schema null, schema = %s, want none", unschema.Schema)
	}
	// PUT replaces everything.
	var replaced api.Task
	ts.do(t, req{method: "PUT", path: "/api/v1/tasks/t1", json: api.Task{Runner: "repo", Command: "true"}}).want(t, 200).decode(t, &replaced)
	if diff := cmp.Diff(api.Task{Name: "t1", Runner: "repo", Command: "true"}, replaced, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("after PUT (-want +got):\n%s", diff)
	}
	var m map[string]string
	ts.do(t, req{method: "DELETE", path: "/api/v1/tasks/t1"}).want(t, 200).decode(t, &m)
	if m["msg"] != "task deleted successfully" {
		t.Errorf("delete answer = %v", m)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/t1"}).want(t, 404)
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && cmp.Equal(x, y)
}

func TestTaskSchemaEndpoint(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "t", Runner: "repo", Command: "true"})
	steps := []struct {
		name   string
		r      req
		status int
		want   string // JSON answer, compared as values
	}{
		{"get none", req{method: "GET", path: "/api/v1/tasks/t/schema"}, 200, `{}`},
		{"post", req{method: "POST", path: "/api/v1/tasks/t/schema", body: objSchema}, 200, objSchema},
		{"get", req{method: "GET", path: "/api/v1/tasks/t/schema"}, 200, objSchema},
		{"put invalid", req{method: "PUT", path: "/api/v1/tasks/t/schema", body: `{"type":"nonsense"}`}, 400, ""},
		{"post not json", req{method: "POST", path: "/api/v1/tasks/t/schema", body: `{type:object}`}, 400, ""},
		{"unchanged after invalid", req{method: "GET", path: "/api/v1/tasks/t/schema"}, 200, objSchema},
		{"put openapi v2 style", req{method: "PUT", path: "/api/v1/tasks/t/schema", body: `{"type":"object","properties":{"x":{"type":"string","nullable":true}}}`}, 200, `{"type":"object","properties":{"x":{"type":"string","nullable":true}}}`},
		{"delete", req{method: "DELETE", path: "/api/v1/tasks/t/schema"}, 200, `{"msg":"schema deleted successfully"}`},
		{"get after delete", req{method: "GET", path: "/api/v1/tasks/t/schema"}, 200, `{}`},
		{"get missing task", req{method: "GET", path: "/api/v1/tasks/nope/schema"}, 404, ""},
		{"post missing task", req{method: "POST", path: "/api/v1/tasks/nope/schema", body: objSchema}, 404, ""},
		{"put missing task", req{method: "PUT", path: "/api/v1/tasks/nope/schema", body: objSchema}, 404, ""},
		{"delete missing task", req{method: "DELETE", path: "/api/v1/tasks/nope/schema"}, 404, ""},
	}
	for _, st := range steps {
		res := ts.do(t, st.r)
		if res.status != st.status {
			t.Errorf("%s: %s %s = %d %s, want %d", st.name, st.r.method, st.r.path, res.status, res.body, st.status)
			continue
		}
		if st.want == "" {
			res.apiError(t)
			continue
		}
		if !jsonEqual(res.body, json.RawMessage(st.want)) {
			t.Errorf("%s: answer %s, want %s", st.name, res.body, st.want)
		}
	}
}

func TestTasksErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "taken", Runner: "repo", Command: "true"})
	post := func(body string) req { return req{method: "POST", path: "/api/v1/tasks", body: body} }
	tests := []struct {
		name    string
		r       req
		status  int
		wantErr string
	}{
		{"missing runner", post(`{"name":"x","runner":"nope","command":"true"}`), 400, `runner "nope" does not exist`},
		{"invalid schema", post(`{"name":"x","runner":"repo","command":"true","schema":{"type":12}}`), 400, "schema"},
		{"schema refers outside", post(`{"name":"x","runner":"repo","command":"true","schema":{"$ref":"http://example.com/s.json"}}`), 400, "schema"},
		{"taken", post(`{"name":"taken","runner":"repo","command":"true"}`), 409, `task "taken" already exists`},
		{"no name", post(`{"runner":"repo","command":"true"}`), 400, "name is required"},
		{"no command", post(`{"name":"x","runner":"repo"}`), 400, "command is required"},
		{"no runner", post(`{"name":"x","command":"true"}`), 400, "runner is required"},
		{"bad timeout", post(`{"name":"x","runner":"repo","command":"true","timeout":"soon"}`), 400, "invalid duration"},
		{"negative timeout", post(`{"name":"x","runner":"repo","command":"true","timeout":-5}`), 400, "out of range"},
		{"sync timeout too long", post(`{"name":"x","runner":"repo","command":"true","sync_timeout":"1h"}`), 400, "sync_timeout"},
		{"synchronous not bool", post(`{"name":"x","runner":"repo","command":"true","synchronous":"yes"}`), 400, `field "synchronous"`},
		{"malformed", post(`{"name":"x",`), 400, "malformed JSON"},
		{"too large", post(`{"name":"x","runner":"repo","command":"` + strings.Repeat("x", 5000) + `"}`), 413, "larger than"},
		{"get missing", req{method: "GET", path: "/api/v1/tasks/nope"}, 404, `task "nope" not found`},
		{"put missing", req{method: "PUT", path: "/api/v1/tasks/nope", body: `{"runner":"repo","command":"true"}`}, 404, `task "nope" not found`},
		{"put name mismatch", req{method: "PUT", path: "/api/v1/tasks/taken", body: `{"name":"x","runner":"repo","command":"true"}`}, 400, "does not match"},
		{"put missing runner", req{method: "PUT", path: "/api/v1/tasks/taken", body: `{"runner":"nope","command":"true"}`}, 400, "does not exist"},
		{"put invalid", req{method: "PUT", path: "/api/v1/tasks/taken", body: `{"runner":"repo"}`}, 400, "command is required"},
		{"patch missing", req{method: "PATCH", path: "/api/v1/tasks/nope", body: `{}`}, 404, `task "nope" not found`},
		{"patch rename", req{method: "PATCH", path: "/api/v1/tasks/taken", body: `{"name":"x"}`}, 400, "does not match"},
		{"patch missing runner", req{method: "PATCH", path: "/api/v1/tasks/taken", body: `{"runner":"nope"}`}, 400, "does not exist"},
		{"patch invalid schema", req{method: "PATCH", path: "/api/v1/tasks/taken", body: `{"schema":{"minimum":"x"}}`}, 400, "schema"},
		{"patch malformed", req{method: "PATCH", path: "/api/v1/tasks/taken", body: `[`}, 400, "malformed"},
		{"delete missing", req{method: "DELETE", path: "/api/v1/tasks/nope"}, 404, `task "nope" not found`},
		{"list bad limit", req{method: "GET", path: "/api/v1/tasks?limit=-2"}, 400, "limit"},
		// Only a promise's pipelines with rbac get a service account's token: a task naming the server's account
		// would get its rights.
		{"service account token", post(`{"name":"x","runner":"repo","command":"true","kubernetes":{"serviceAccount":"runplane","serviceAccountToken":true}}`),
			400, "kubernetes.serviceAccountToken: only the pipelines of a promise"},
		{"patch service account token", req{method: "PATCH", path: "/api/v1/tasks/taken", body: `{"kubernetes":{"serviceAccount":"runplane","serviceAccountToken":true}}`},
			400, "kubernetes.serviceAccountToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, tt.r).want(t, tt.status)
			if e := res.apiError(t); !strings.Contains(e.Error, tt.wantErr) {
				t.Errorf("%s %s error = %q, want it to contain %q", tt.r.method, tt.r.path, e.Error, tt.wantErr)
			}
		})
	}
	var got api.Task
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/taken"}).want(t, http.StatusOK).decode(t, &got)
	if diff := cmp.Diff(api.Task{Name: "taken", Runner: "repo", Command: "true"}, got, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("failed requests changed the task (-want +got):\n%s", diff)
	}
}
