package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// stored reads a runner straight from the store, unmasked, to check what updates kept.
func (ts *testServer) stored(t *testing.T, name string) api.Runner {
	t.Helper()
	r, err := ts.store.GetRunner(t.Context(), name)
	if err != nil {
		t.Fatalf("store.GetRunner(%q): %v", name, err)
	}
	return r
}

func TestRunnersCRUD(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	url := newRepoURL(t)
	created := ts.createRunner(t, api.Runner{Name: "r1", GitURL: url, Token: "tok-1",
		Secret: map[string]string{"API_KEY": "k-1", "OTHER": "o-1"}})
	want := api.Runner{Name: "r1", GitURL: url, Token: api.Mask, Branch: "main",
		Secret: map[string]string{"API_KEY": api.Mask, "OTHER": api.Mask}}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Fatalf("create answer (-want +got):\n%s", diff)
	}

	var got api.Runner
	ts.do(t, req{method: "GET", path: "/api/v1/runners/r1"}).want(t, 200).decode(t, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	var list []api.Runner
	res := ts.do(t, req{method: "GET", path: "/api/v1/runners"}).want(t, 200)
	res.decode(t, &list)
	if diff := cmp.Diff([]api.Runner{want}, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if cr := res.header.Get("Content-Range"); cr != "runners 0-0/1" {
		t.Errorf("list Content-Range = %q, want runners 0-0/1", cr)
	}

	// PATCH changes only what it names; masks keep values, "" deletes.
	ts.do(t, req{method: "PATCH", path: "/api/v1/runners/r1", body: `{"image":"alpine:3"}`}).want(t, 200)
	if s := ts.stored(t, "r1"); s.Image != "alpine:3" || s.Token != "tok-1" || s.Secret["API_KEY"] != "k-1" || s.Secret["OTHER"] != "o-1" {
		t.Errorf("after PATCH image: stored %+v, want image changed and token/secrets kept", s)
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/runners/r1",
		body: `{"token":"` + api.Mask + `","secret":{"API_KEY":"` + api.Mask + `","OTHER":"","NEW":"n-1"}}`}).want(t, 200)
	if diff := cmp.Diff(map[string]string{"API_KEY": "k-1", "NEW": "n-1"}, ts.stored(t, "r1").Secret); diff != "" {
		t.Errorf("after PATCH secret (-want +got):\n%s", diff)
	}
	if tok := ts.stored(t, "r1").Token; tok != "tok-1" {
		t.Errorf("masked token in PATCH changed the stored token")
	}

	// PUT replaces: fields left out are cleared, masks still keep values.
	ts.do(t, req{method: "PUT", path: "/api/v1/runners/r1",
		json: api.Runner{GitURL: url, Branch: "dev", Token: "", Secret: map[string]string{"API_KEY": api.Mask}}}).want(t, 200)
	wantStored := api.Runner{Name: "r1", GitURL: url, Branch: "dev", Secret: map[string]string{"API_KEY": "k-1"}}
	if diff := cmp.Diff(wantStored, ts.stored(t, "r1")); diff != "" {
		t.Errorf("after PUT (-want +got):\n%s", diff)
	}

	// A kept (masked) token never follows gitURL to another host; sending it again does.
	ts.do(t, req{method: "PATCH", path: "/api/v1/runners/r1", body: `{"token":"tok-2"}`}).want(t, 200)
	for _, r := range []req{
		{method: "PATCH", path: "/api/v1/runners/r1", body: `{"gitURL":"https://evil.example/repo.git"}`},
		{method: "PATCH", path: "/api/v1/runners/r1", body: `{"gitURL":"https://evil.example/repo.git","token":"` + api.Mask + `"}`},
		{method: "PUT", path: "/api/v1/runners/r1", json: api.Runner{GitURL: "https://evil.example/repo.git", Token: api.Mask}},
	} {
		if e := ts.do(t, r).want(t, http.StatusBadRequest).apiError(t); !strings.Contains(e.Error, "send the token again") {
			t.Errorf("%s moving gitURL with a masked token: error %q", r.method, e.Error)
		}
	}
	if s := ts.stored(t, "r1"); s.GitURL != url || s.Token != "tok-2" {
		t.Errorf("refused moves changed the runner: %+v", s)
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/runners/r1", body: `{"gitURL":"https://other.example/repo.git","token":"tok-3"}`}).want(t, 200)
	if s := ts.stored(t, "r1"); s.GitURL != "https://other.example/repo.git" || s.Token != "tok-3" {
		t.Errorf("move with a new token: stored %+v", s)
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/runners/r1", body: `{"gitURL":"https://other.example/another.git"}`}).want(t, 200)

	// PUT on the collection creates, as Kriten does.
	ts.do(t, req{method: "PUT", path: "/api/v1/runners", json: api.Runner{Name: "r2", GitURL: url}}).want(t, 200)

	ts.do(t, req{method: "DELETE", path: "/api/v1/runners/r2"}).want(t, 200)
	ts.do(t, req{method: "GET", path: "/api/v1/runners/r2"}).want(t, 404)
}

func TestRunnersErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	url := newRepoURL(t)
	ts.createRunner(t, api.Runner{Name: "taken", GitURL: url})
	ts.createTask(t, api.Task{Name: "user", Runner: "taken", Command: "true"})
	big := `{"name":"big","gitURL":"` + url + `","image":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name    string
		r       req
		status  int
		wantErr string
	}{
		{"create taken name", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "taken", GitURL: url}}, 409, `runner "taken" already exists`},
		{"create without name", req{method: "POST", path: "/api/v1/runners", json: api.Runner{GitURL: url}}, 400, "name is required"},
		{"create bad name", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "Bad Name", GitURL: url}}, 400, "name"},
		{"create without gitURL", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "x"}}, 400, "gitURL is required"},
		{"create bad gitURL", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "x", GitURL: "--upload-pack=evil"}}, 400, "gitURL"},
		{"create bad secret key", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "x", GitURL: url, Secret: map[string]string{"1BAD": "v"}}}, 400, "secret key"},
		{"create reserved secret key", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "x", GitURL: url, Secret: map[string]string{"PATH": "v"}}}, 400, "reserved"},
		{"create malformed", req{method: "POST", path: "/api/v1/runners", body: `{"name":`}, 400, "malformed JSON"},
		{"create trailing garbage", req{method: "POST", path: "/api/v1/runners", body: `{"name":"x","gitURL":"` + url + `"} []`}, 400, "after the JSON value"},
		{"create wrong type", req{method: "POST", path: "/api/v1/runners", body: `{"name":"x","secret":"s"}`}, 400, `field "secret"`},
		{"create empty body", req{method: "POST", path: "/api/v1/runners"}, 400, "empty"},
		{"create too large", req{method: "POST", path: "/api/v1/runners", body: big}, 413, "larger than 4096 bytes"},
		{"get missing", req{method: "GET", path: "/api/v1/runners/nope"}, 404, `runner "nope" not found`},
		{"put missing", req{method: "PUT", path: "/api/v1/runners/nope", json: api.Runner{GitURL: url}}, 404, `runner "nope" not found`},
		{"put name mismatch", req{method: "PUT", path: "/api/v1/runners/taken", json: api.Runner{Name: "other", GitURL: url}}, 400, "does not match"},
		{"put invalid", req{method: "PUT", path: "/api/v1/runners/taken", json: api.Runner{}}, 400, "gitURL is required"},
		{"put malformed", req{method: "PUT", path: "/api/v1/runners/taken", body: `nope`}, 400, "malformed JSON"},
		{"patch missing", req{method: "PATCH", path: "/api/v1/runners/nope", body: `{}`}, 404, `runner "nope" not found`},
		{"patch rename", req{method: "PATCH", path: "/api/v1/runners/taken", body: `{"name":"other"}`}, 400, "does not match"},
		{"patch invalid", req{method: "PATCH", path: "/api/v1/runners/taken", body: `{"branch":"-x"}`}, 400, "branch"},
		{"patch malformed", req{method: "PATCH", path: "/api/v1/runners/taken", body: `{`}, 400, "malformed JSON"},
		{"patch too large", req{method: "PATCH", path: "/api/v1/runners/taken", body: big}, 413, "larger than"},
		{"delete missing", req{method: "DELETE", path: "/api/v1/runners/nope"}, 404, `runner "nope" not found`},
		{"delete in use", req{method: "DELETE", path: "/api/v1/runners/taken"}, 409, "user"},
		{"secret get missing", req{method: "GET", path: "/api/v1/runners/nope/secret"}, 404, "not found"},
		{"secret post missing", req{method: "POST", path: "/api/v1/runners/nope/secret", body: `{"A":"1"}`}, 404, "not found"},
		{"secret put missing", req{method: "PUT", path: "/api/v1/runners/nope/secret", body: `{"A":"1"}`}, 404, "not found"},
		{"secret delete missing", req{method: "DELETE", path: "/api/v1/runners/nope/secret"}, 404, "not found"},
		{"secret bad key", req{method: "POST", path: "/api/v1/runners/taken/secret", body: `{"bad-key":"1"}`}, 400, "secret key"},
		{"secret not a map", req{method: "PUT", path: "/api/v1/runners/taken/secret", body: `["A"]`}, 400, "want an object"},
		{"secret value not a string", req{method: "POST", path: "/api/v1/runners/taken/secret", body: `{"A":1}`}, 400, "want a string"},
		{"secret malformed", req{method: "POST", path: "/api/v1/runners/taken/secret", body: `{"A"`}, 400, "malformed"},
		{"secret delete bad body", req{method: "DELETE", path: "/api/v1/runners/taken/secret", body: `5`}, 400, "want an array"},
		{"secret delete bad key list", req{method: "DELETE", path: "/api/v1/runners/taken/secret", body: `[1]`}, 400, "array of secret keys"},
		{"secret too large", req{method: "PUT", path: "/api/v1/runners/taken/secret", body: `{"A":"` + strings.Repeat("x", 5000) + `"}`}, 413, "larger than"},
		{"list bad limit", req{method: "GET", path: "/api/v1/runners?limit=x"}, 400, "limit"},
		{"list negative offset", req{method: "GET", path: "/api/v1/runners?offset=-1"}, 400, "offset"},
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
	// Nothing above changed the runner.
	if s := ts.stored(t, "taken"); s.Secret != nil && len(s.Secret) > 0 {
		t.Errorf("failed requests changed the runner's secrets: %v", s.Secret)
	}
}

func TestRunnerSecretEndpoint(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "r", GitURL: newRepoURL(t), Secret: map[string]string{"A": "a-1"}})
	masked := func(keys ...string) map[string]string {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = api.Mask
		}
		return m
	}
	steps := []struct {
		name       string
		r          req
		wantAnswer any
		wantStored map[string]string
	}{
		{"get", req{method: "GET", path: "/api/v1/runners/r/secret"}, masked("A"), map[string]string{"A": "a-1"}},
		{"post merges", req{method: "POST", path: "/api/v1/runners/r/secret", body: `{"B":"b-1"}`}, masked("A", "B"), map[string]string{"A": "a-1", "B": "b-1"}},
		{"post mask keeps, empty deletes", req{method: "POST", path: "/api/v1/runners/r/secret", body: `{"A":"` + api.Mask + `","B":"","C":"c-1"}`}, masked("A", "C"), map[string]string{"A": "a-1", "C": "c-1"}},
		{"put replaces", req{method: "PUT", path: "/api/v1/runners/r/secret", body: `{"C":"` + api.Mask + `","D":"d-1"}`}, masked("C", "D"), map[string]string{"C": "c-1", "D": "d-1"}},
		{"delete listed keys", req{method: "DELETE", path: "/api/v1/runners/r/secret", body: `["C","NOPE"]`}, map[string]any{"msg": "secret deleted successfully"}, map[string]string{"D": "d-1"}},
		{"delete object keys", req{method: "DELETE", path: "/api/v1/runners/r/secret", body: `{"D":""}`}, map[string]any{"msg": "secret deleted successfully"}, map[string]string{}},
		{"put again", req{method: "PUT", path: "/api/v1/runners/r/secret", body: `{"E":"e-1","F":"f-1"}`}, masked("E", "F"), map[string]string{"E": "e-1", "F": "f-1"}},
		{"delete all", req{method: "DELETE", path: "/api/v1/runners/r/secret"}, map[string]any{"msg": "secret deleted successfully"}, map[string]string{}},
		{"get empty", req{method: "GET", path: "/api/v1/runners/r/secret"}, map[string]string{}, map[string]string{}},
	}
	for _, st := range steps {
		res := ts.do(t, st.r).want(t, 200)
		switch want := st.wantAnswer.(type) {
		case map[string]string:
			var got map[string]string
			res.decode(t, &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: answer (-want +got):\n%s", st.name, diff)
			}
		case map[string]any:
			var got map[string]any
			res.decode(t, &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: answer (-want +got):\n%s", st.name, diff)
			}
		}
		got := ts.stored(t, "r").Secret
		if got == nil {
			got = map[string]string{}
		}
		if diff := cmp.Diff(st.wantStored, got); diff != "" {
			t.Errorf("%s: stored secret (-want +got):\n%s", st.name, diff)
		}
	}
}

func TestRunnerDeleteInUse(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "t1", Runner: "repo", Command: "true"})
	e := ts.do(t, req{method: "DELETE", path: "/api/v1/runners/repo"}).want(t, http.StatusConflict).apiError(t)
	if !strings.Contains(e.Error, "t1") {
		t.Errorf("delete-in-use error %q does not name the task", e.Error)
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/tasks/t1"}).want(t, 200)
	var m map[string]string
	ts.do(t, req{method: "DELETE", path: "/api/v1/runners/repo"}).want(t, 200).decode(t, &m)
	if m["msg"] != "runner deleted successfully" {
		t.Errorf("delete answer = %v, want Kriten's msg", m)
	}
}
