package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestIdempotencyKeyScope: a key belongs to a user (by id, not name) and a task.
func TestIdempotencyKeyScope(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "echo secret-of-hello"})
	ts.createTask(t, api.Task{Name: "other", Runner: "repo", Command: "true"})
	key := map[string]string{"Idempotency-Key": "k1"}

	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "submitters", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &g)
	var role api.Role
	ts.do(t, req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "submit", Resource: api.ResourceJobs,
		ResourceIDs: []string{"hello", "other"}, Access: api.AccessWrite}}).want(t, http.StatusOK).decode(t, &role)
	ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "submit", RoleID: role.ID, GroupID: g.ID}}).
		want(t, http.StatusOK)
	newUser := func(name string) (id, token string) {
		var u api.User
		ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: name, Password: "password-" + name,
			Provider: "local", Groups: []string{g.ID}}}).want(t, http.StatusOK).decode(t, &u)
		return u.ID, ts.login(t, name, "password-"+name)
	}
	submit := func(token, task string) *resp {
		return ts.do(t, req{method: "POST", path: "/api/v1/jobs/" + task, as: token, header: key})
	}

	aliceID, alice := newUser("alice")
	first := created(t, submit(alice, "hello"))
	if again := created(t, submit(alice, "hello")); again != first {
		t.Errorf("alice again with her key = %s, want %s", again, first)
	}

	// The same key for another task is a conflict, which names neither the earlier job nor its task.
	res := submit(alice, "other").want(t, http.StatusConflict)
	if msg := res.apiError(t).Error; !strings.Contains(msg, "another task") || strings.Contains(msg, "hello") ||
		strings.Contains(msg, first) {
		t.Errorf("key reused for another task: error %q, want one saying so without naming the job or task", msg)
	}

	// Another user with the same name (alice deleted, then re-created) has keys of her own.
	ts.do(t, req{method: "DELETE", path: "/api/v1/groups/" + g.ID + "/users", json: []api.GroupMember{{ID: aliceID}}}).
		want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/users/" + aliceID}).want(t, http.StatusOK)
	_, alice2 := newUser("alice")
	if second := created(t, submit(alice2, "hello")); second == first {
		t.Errorf("a new user named alice with the old alice's key got her job %s, want a new one", second)
	}
}

// TestIdempotencyReplayReauthorized: a user who lost access to a task's jobs cannot get one of them back by
// replaying its key on a task it may still run.
func TestIdempotencyReplayReauthorized(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "echo secret-of-hello"})
	ts.createTask(t, api.Task{Name: "other", Runner: "repo", Command: "true"})
	key := map[string]string{"Idempotency-Key": "k1"}

	bob := makePersona(t, ts, "bob", &api.Role{Resource: api.ResourceJobs, ResourceIDs: []string{"hello", "other"},
		Access: api.AccessWrite})
	first := created(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/hello", as: bob, header: key}))
	ts.waitFinal(t, first)

	// bob's role shrinks to the other task.
	var role api.Role
	ts.do(t, req{method: "GET", path: "/api/v1/roles/bob"}).want(t, http.StatusOK).decode(t, &role)
	role.ResourceIDs = []string{"other"}
	ts.do(t, req{method: "PUT", path: "/api/v1/roles/" + role.ID, json: role}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + first, as: bob}).want(t, http.StatusForbidden)

	res := ts.do(t, req{method: "POST", path: "/api/v1/jobs/other?wait=30s", as: bob, header: key})
	if res.status == http.StatusOK || strings.Contains(string(res.body), "secret-of-hello") || strings.Contains(string(res.body), first) {
		t.Errorf("replaying a key of a job bob may no longer read = %d %s, want a refusal naming nothing of it", res.status, res.body)
	}
}
