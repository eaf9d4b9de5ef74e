package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
)

// TestEscalationsOfTheIssue replays the three escalations the security review found (issue 11, item 1), each end
// to end: the attempt is refused and the caller has gained nothing.
func TestEscalationsOfTheIssue(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var groups []api.Group
	ts.do(t, req{method: "GET", path: "/api/v1/groups"}).want(t, http.StatusOK).decode(t, &groups)
	var root string
	for _, g := range groups {
		if g.Name == auth.AdminGroup {
			root = g.UserIDs[0]
		}
	}

	t.Run("role_bindings write on one name binds Admin to one's own group", func(t *testing.T) {
		tok := makePersona(t, ts, "binder", &api.Role{Resource: "role_bindings", ResourceIDs: []string{"mine"}, Access: api.AccessWrite})
		ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", as: tok, json: api.RoleBinding{Name: "mine", RoleName: auth.AdminRole,
			SubjectKind: "groups", SubjectProvider: "local", SubjectName: "binder"}}).want(t, http.StatusForbidden)
		ts.do(t, req{method: "GET", path: "/api/v1/users", as: tok}).want(t, http.StatusForbidden)
	})

	t.Run("write on one role rewrites it to every resource", func(t *testing.T) {
		// makePersona names the role after the persona: this one may write its own role.
		tok := makePersona(t, ts, "rewriter", &api.Role{Resource: "roles", ResourceIDs: []string{"rewriter"}, Access: api.AccessWrite})
		ts.do(t, req{method: "PATCH", path: "/api/v1/roles/rewriter", as: tok, body: `{"resource":"*","resource_ids":["*"],"access":"write"}`}).
			want(t, http.StatusForbidden)
		ts.do(t, req{method: "PUT", path: "/api/v1/roles/rewriter", as: tok,
			json: api.Role{Name: "rewriter", Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}}).want(t, http.StatusForbidden)
		ts.do(t, req{method: "GET", path: "/api/v1/users", as: tok}).want(t, http.StatusForbidden)
		var r api.Role
		ts.do(t, req{method: "GET", path: "/api/v1/roles/rewriter"}).want(t, http.StatusOK).decode(t, &r)
		if r.Resource != "roles" {
			t.Errorf("role after the refused rewrite = %+v, want it unchanged", r)
		}
	})

	// Last: on a server that lets it happen, root's session ends here.
	t.Run("users write resets root's password and logs in as root", func(t *testing.T) {
		tok := makePersona(t, ts, "resetter", &api.Role{Resource: "users", ResourceIDs: []string{"*"}, Access: api.AccessWrite})
		for _, method := range []string{"PATCH", "PUT"} {
			ts.do(t, req{method: method, path: "/api/v1/users/" + root, body: `{"password":"owned-by-resetter"}`, as: tok}).
				want(t, http.StatusForbidden)
		}
		res := ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
			json: api.Login{Username: "root", Password: "owned-by-resetter", Provider: "local"}})
		if res.status != http.StatusUnauthorized {
			t.Errorf("login as root with the password the attacker set = %d, want 401", res.status)
		}
		ts.login(t, "root", rootPassword)
	})
}

// TestOwnPassword: changing one's own password needs current_password, administrators included; a wrong one is a
// 403 and changes nothing; the field is never answered. A directory user has no password here to change.
func TestOwnPassword(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "dee", Password: "password-1", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	var ad api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "dana", Provider: "active_directory"}}).
		want(t, http.StatusOK).decode(t, &ad)
	var groups []api.Group
	ts.do(t, req{method: "GET", path: "/api/v1/groups"}).want(t, http.StatusOK).decode(t, &groups)
	var root string
	for _, g := range groups {
		if g.Name == auth.AdminGroup {
			root = g.UserIDs[0]
		}
	}
	dee := ts.login(t, "dee", "password-1")

	tests := []struct {
		name   string
		r      req
		status int
		says   string
	}{
		{"no current_password", req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"password-2"}`, as: dee}, 400, "current_password"},
		{"empty current_password", req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"password-2","current_password":""}`, as: dee}, 400, "current_password"},
		{"wrong current_password", req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"password-2","current_password":"password-x"}`, as: dee}, 403, "current_password is wrong"},
		{"PUT without current_password", req{method: "PUT", path: "/api/v1/users/" + u.ID, body: `{"username":"dee","password":"password-2"}`, as: dee}, 400, "current_password"},
		{"root without current_password", req{method: "PATCH", path: "/api/v1/users/" + root, body: `{"password":"password-2"}`}, 400, "current_password"},
		{"root with a wrong one", req{method: "PATCH", path: "/api/v1/users/" + root, body: `{"password":"password-2","current_password":"password-1"}`}, 403, "wrong"},
		{"a directory user's password", req{method: "PATCH", path: "/api/v1/users/" + ad.ID, body: `{"password":"password-2"}`}, 400, "active_directory"},
		{"current_password alone changes nothing", req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"current_password":"password-x"}`, as: dee}, 200, ""},
		{"right current_password", req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"password-2","current_password":"password-1"}`, as: dee}, 200, ""},
	}
	for _, tt := range tests {
		res := ts.do(t, tt.r)
		if res.status != tt.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.r.method, tt.r.path, res.status, res.body, tt.status)
			continue
		}
		if strings.Contains(string(res.body), "password-x") || strings.Contains(string(res.body), "password-1") {
			t.Errorf("%s: answer %s shows a password", tt.name, res.body)
		}
		if tt.status != http.StatusOK {
			if e := res.apiError(t); !strings.Contains(e.Error, tt.says) {
				t.Errorf("%s: error = %q, want it to say %q", tt.name, e.Error, tt.says)
			}
		}
	}
	// Only the last change happened, and it ended dee's earlier session.
	fresh := ts.login(t, "dee", "password-2")
	ts.do(t, req{method: "GET", path: "/api/v1/users/" + u.ID, as: dee}).want(t, http.StatusUnauthorized)
	ts.do(t, req{method: "PUT", path: "/api/v1/users/" + u.ID, as: fresh,
		json: api.User{Username: "dee", Password: "password-3", CurrentPassword: "password-2"}}).want(t, http.StatusOK)
	ts.login(t, "dee", "password-3")
	ts.login(t, "root", rootPassword)
}
