package server

import (
	"net/http"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestReadOnlyOperator is the README's access example: a group of operators that may see and run one task and read
// every job of it (also jobs others started), and nothing else.
func TestReadOnlyOperator(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "restart", Runner: "repo", Command: "echo restarted", Synchronous: true})
	ts.createTask(t, api.Task{Name: "wipe", Runner: "repo", Command: "echo wiped", Synchronous: true})

	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "operators", Provider: "local"}}).want(t, http.StatusOK).decode(t, &g)
	for _, r := range []api.Role{
		{Name: "see-restart", Resource: "tasks", ResourceIDs: []string{"restart"}, Access: api.AccessRead},
		{Name: "run-restart", Resource: "jobs", ResourceIDs: []string{"restart"}, Access: api.AccessWrite},
	} {
		ts.do(t, req{method: "POST", path: "/api/v1/roles", json: r}).want(t, http.StatusOK)
		ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "operators-" + r.Name, RoleName: r.Name,
			SubjectKind: "groups", SubjectProvider: "local", SubjectName: "operators"}}).want(t, http.StatusOK)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "olga", Password: "password-olga", Provider: "local",
		Groups: []string{g.ID}}}).want(t, http.StatusOK)
	olga := ts.login(t, "olga", "password-olga")

	// Root runs both tasks once.
	rootRestart := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/restart"}))
	rootWipe := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/wipe"}))

	var tasks []api.Task
	ts.do(t, req{method: "GET", path: "/api/v1/tasks", as: olga}).want(t, http.StatusOK).decode(t, &tasks)
	if len(tasks) != 1 || tasks[0].Name != "restart" {
		t.Errorf("operator sees tasks %v, want only restart", tasks)
	}
	own := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/tasks/restart/run", as: olga}))
	if own.Status != api.JobSucceeded || own.Owner != "olga" {
		t.Errorf("operator's run = %+v, want succeeded, owned by olga", own)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + rootRestart.ID, as: olga}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + rootRestart.ID + "/log", as: olga}).want(t, http.StatusOK)
	var jobs []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs", as: olga}).want(t, http.StatusOK).decode(t, &jobs)
	if len(jobs) != 2 {
		t.Errorf("operator lists %d jobs, want the 2 of restart", len(jobs))
	}
	for _, j := range jobs {
		if j.Task != "restart" {
			t.Errorf("operator lists job %s of task %s", j.ID, j.Task)
		}
	}

	for _, r := range []req{
		{method: "POST", path: "/api/v1/jobs/wipe"},
		{method: "GET", path: "/api/v1/jobs/" + rootWipe.ID},
		{method: "GET", path: "/api/v1/jobs/" + rootWipe.ID + "/log"},
		{method: "GET", path: "/api/v1/tasks/wipe"},
		{method: "PATCH", path: "/api/v1/tasks/restart", body: `{"command":"rm -rf /"}`},
		{method: "GET", path: "/api/v1/runners"},
		{method: "GET", path: "/api/v1/runners/repo"},
		{method: "GET", path: "/api/v1/users"},
		{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "escalate", RoleName: "Admin", SubjectProvider: "local", SubjectName: "operators"}},
	} {
		r.as = olga
		if res := ts.do(t, r); res.status != http.StatusForbidden {
			t.Errorf("operator %s %s = %d %s, want 403", r.method, r.path, res.status, res.body)
		}
	}
}
