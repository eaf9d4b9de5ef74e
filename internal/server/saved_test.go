package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestSavedMeansRunnable: what git or exec would refuse at the first job is refused when saved or submitted (400),
// and nothing is stored.
func TestSavedMeansRunnable(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh"})
	tests := []struct {
		name string
		r    req
		says string
	}{
		{"credentials in gitURL", req{method: "POST", path: "/api/v1/runners",
			json: api.Runner{Name: "creds", GitURL: "https://bob:hunter2@git.example.com/r.git"}}, "token field"},
		{"token as gitURL user", req{method: "POST", path: "/api/v1/runners",
			json: api.Runner{Name: "creds", GitURL: "https://ghp_hunter2@github.com/o/r.git"}}, "token field"},
		{"git protocol", req{method: "POST", path: "/api/v1/runners",
			json: api.Runner{Name: "gitproto", GitURL: "git://git.example.com/r.git"}}, "git://"},
		{"branch git refuses", req{method: "POST", path: "/api/v1/runners",
			json: api.Runner{Name: "badbranch", GitURL: "https://git.example.com/r.git", Branch: "feature..x"}}, "branch"},
		{"branch ending in .lock", req{method: "PATCH", path: "/api/v1/runners/repo", body: `{"branch":"main.lock"}`}, "branch"},
		{"NUL in a secret", req{method: "POST", path: "/api/v1/runners/repo/secret", body: `{"K":"a\u0000b"}`}, "NUL"},
		{"secret too large for the environment", req{method: "POST", path: "/api/v1/runners/repo/secret",
			json: map[string]string{"K": strings.Repeat("x", api.MaxEnvEntry)}}, "KiB"},
		{"NUL in a command", req{method: "POST", path: "/api/v1/tasks",
			body: `{"name":"nul","runner":"repo","command":"echo a\u0000b"}`}, "NUL"},
		{"input too large for EXTRA_VARS", req{method: "POST", path: "/api/v1/jobs/hello",
			body: `"` + strings.Repeat("a", api.MaxEnvEntry) + `"`}, "EXTRA_VARS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ts.do(t, tt.r).want(t, http.StatusBadRequest).apiError(t)
			if !strings.Contains(e.Error, tt.says) || strings.Contains(e.Error, "hunter2") {
				t.Errorf("%s %s: error %q, want it to mention %q and not the credentials", tt.r.method, tt.r.path, e.Error, tt.says)
			}
		})
	}
	for _, name := range []string{"creds", "gitproto", "badbranch"} {
		ts.do(t, req{method: "GET", path: "/api/v1/runners/" + name}).want(t, http.StatusNotFound)
	}
	if r := ts.stored(t, "repo"); r.Branch != "main" || len(r.Secret) != 0 {
		t.Errorf("runner repo after refused updates = %+v, want it unchanged", r)
	}
	var jobs []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs"}).want(t, http.StatusOK).decode(t, &jobs)
	if len(jobs) != 0 {
		t.Errorf("jobs after a refused submission = %d, want 0", len(jobs))
	}
}

// TestGitURLCredentialsNeverShown: a runner saved with credentials in gitURL before they were refused shows them
// masked, to a read-only user too.
func TestGitURLCredentialsNeverShown(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	if err := ts.store.CreateRunner(t.Context(), api.Runner{Name: "old", GitURL: "https://bob:hunter2@git.example.com/r.git", Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	reader := makePersona(t, ts, "reader", &api.Role{Resource: api.ResourceRunners, ResourceIDs: []string{"*"}, Access: api.AccessRead})
	for _, as := range []string{"", reader} {
		for _, path := range []string{"/api/v1/runners/old", "/api/v1/runners"} {
			res := ts.do(t, req{method: "GET", path: path, as: as}).want(t, http.StatusOK)
			if strings.Contains(string(res.body), "hunter2") || !strings.Contains(string(res.body), api.Mask+"@git.example.com") {
				t.Errorf("GET %s = %s, want the gitURL credentials masked", path, res.body)
			}
		}
	}
}

// TestConflictNamesOnlyReadable: deleting a runner tasks use answers 409 naming only the tasks the caller may read.
func TestConflictNamesOnlyReadable(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "visible", Runner: "repo", Command: "true"})
	ts.createTask(t, api.Task{Name: "hidden-payroll", Runner: "repo", Command: "true"})
	ops := makePersona(t, ts, "ops", &api.Role{Resource: api.ResourceRunners, ResourceIDs: []string{"repo"}, Access: api.AccessWrite})
	// ops may also read task "visible" only.
	var groups []api.Group
	ts.do(t, req{method: "GET", path: "/api/v1/groups"}).want(t, http.StatusOK).decode(t, &groups)
	for _, x := range groups {
		if x.Name != "ops" {
			continue
		}
		var role api.Role
		ts.do(t, req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "ops-tasks", Resource: api.ResourceTasks,
			ResourceIDs: []string{"visible"}, Access: api.AccessRead}}).want(t, http.StatusOK).decode(t, &role)
		ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "ops-tasks", RoleID: role.ID, GroupID: x.ID}}).
			want(t, http.StatusOK)
	}
	e := ts.do(t, req{method: "DELETE", path: "/api/v1/runners/repo", as: ops}).want(t, http.StatusConflict).apiError(t)
	if strings.Contains(e.Error, "hidden-payroll") || !strings.Contains(e.Error, "visible") || !strings.Contains(e.Error, "2 tasks") {
		t.Errorf("DELETE runner as ops: error %q, want 2 tasks counted, \"visible\" named and \"hidden-payroll\" not", e.Error)
	}
	e = ts.do(t, req{method: "DELETE", path: "/api/v1/runners/repo"}).want(t, http.StatusConflict).apiError(t)
	if !strings.Contains(e.Error, "hidden-payroll") {
		t.Errorf("DELETE runner as root: error %q, want every task named", e.Error)
	}
}
