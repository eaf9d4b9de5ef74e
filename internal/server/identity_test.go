package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
)

// TestBuiltins: a fresh server has root in Admin, bound to Admin (write on everything), and a WriteAll role per
// resource; none of them can be changed or deleted.
func TestBuiltins(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var roles []api.Role
	ts.do(t, req{method: "GET", path: "/api/v1/roles"}).want(t, http.StatusOK).decode(t, &roles)
	byName := map[string]api.Role{}
	for _, r := range roles {
		byName[r.Name] = r
	}
	admin, ok := byName[auth.AdminRole]
	if !ok || admin.Resource != "*" || admin.Access != api.AccessWrite || !slices.Equal(admin.ResourceIDs, []string{"*"}) || !admin.Builtin {
		t.Errorf("role Admin = %+v, want builtin write on * for *", admin)
	}
	for _, res := range api.Resources {
		if r, ok := byName[auth.WriteAllRole(res)]; !ok || r.Resource != res || !r.Builtin {
			t.Errorf("role %s = %+v, want builtin write on %s", auth.WriteAllRole(res), r, res)
		}
	}
	var groups []api.Group
	ts.do(t, req{method: "GET", path: "/api/v1/groups"}).want(t, http.StatusOK).decode(t, &groups)
	var adminGroup api.Group
	for _, g := range groups {
		if g.Name == auth.AdminGroup {
			adminGroup = g
		}
	}
	if !adminGroup.Builtin || len(adminGroup.UserIDs) != 1 || !slices.Contains(adminGroup.RoleIDs, admin.ID) {
		t.Errorf("group Admin = %+v, want builtin with root, bound to role Admin", adminGroup)
	}
	var bindings []api.RoleBinding
	ts.do(t, req{method: "GET", path: "/api/v1/role_bindings"}).want(t, http.StatusOK).decode(t, &bindings)
	if len(bindings) != 1 || !bindings[0].Builtin || bindings[0].RoleName != "Admin" || bindings[0].SubjectName != "Admin" ||
		bindings[0].SubjectKind != "groups" || bindings[0].SubjectProvider != "local" {
		t.Errorf("role bindings = %+v, want the builtin Admin binding in both forms", bindings)
	}
	root := adminGroup.UserIDs[0]

	for _, tt := range []req{
		{method: "DELETE", path: "/api/v1/roles/Admin"},
		{method: "PATCH", path: "/api/v1/roles/" + admin.ID, body: `{"access":"read"}`},
		{method: "DELETE", path: "/api/v1/roles/WriteAllRunners"},
		{method: "DELETE", path: "/api/v1/groups/" + adminGroup.ID},
		{method: "PATCH", path: "/api/v1/groups/" + adminGroup.ID, body: `{"name":"Admins"}`},
		{method: "DELETE", path: "/api/v1/role_bindings/" + bindings[0].ID},
		{method: "PUT", path: "/api/v1/role_bindings/" + bindings[0].ID, body: `{"name":"x","role_name":"WriteAllRunners","subject_provider":"local","subject_name":"Admin"}`},
		{method: "DELETE", path: "/api/v1/users/" + root},
	} {
		res := ts.do(t, tt)
		if res.status != http.StatusConflict {
			t.Errorf("%s %s = %d %s, want 409", tt.method, tt.path, res.status, res.body)
		}
	}
	// Admin's members may change: that is how administrators are made.
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "ann", Password: "password-ann", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	ts.do(t, req{method: "POST", path: "/api/v1/groups/" + adminGroup.ID + "/users", json: []api.GroupMember{{Name: "ann", Provider: "local"}}}).
		want(t, http.StatusOK)
	ann := ts.login(t, "ann", "password-ann")
	ts.do(t, req{method: "GET", path: "/api/v1/users", as: ann}).want(t, http.StatusOK)
}

// TestIdentityConflicts: deleting a group with members, a role that is bound or a user in groups answers 409
// counting what is in the way (not naming it: the caller may not read it); names are unique; references to missing objects are 400.
func TestIdentityConflicts(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "ops", Provider: "local"}}).want(t, http.StatusOK).decode(t, &g)
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "bob", Password: "password-bob", Provider: "local", Groups: []string{g.ID}}}).
		want(t, http.StatusOK).decode(t, &u)
	if !slices.Equal(u.Groups, []string{g.ID}) || u.Password != "" {
		t.Errorf("created user = %+v, want groups [%s] and no password", u, g.ID)
	}
	var r api.Role
	ts.do(t, req{method: "POST", path: "/api/v1/roles", body: `{"name":"runner-reader","resource":"runners","resource_names":["a","b"],"access":"read"}`}).
		want(t, http.StatusOK).decode(t, &r)
	if !slices.Equal(r.ResourceIDs, []string{"a", "b"}) {
		t.Errorf("role from resource_names = %+v, want resource_ids [a b]", r)
	}
	var b api.RoleBinding
	ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "ops-read", RoleName: "runner-reader",
		SubjectKind: "groups", SubjectProvider: "local", SubjectName: "ops"}}).want(t, http.StatusOK).decode(t, &b)
	if b.RoleID != r.ID || b.GroupID != g.ID {
		t.Errorf("binding from names = %+v, want role %s group %s", b, r.ID, g.ID)
	}

	tests := []struct {
		r      req
		status int
		says   string
	}{
		{req{method: "DELETE", path: "/api/v1/groups/" + g.ID}, 409, "1 member"},
		{req{method: "DELETE", path: "/api/v1/roles/runner-reader"}, 409, "1 role binding"},
		{req{method: "DELETE", path: "/api/v1/users/" + u.ID}, 409, "1 group"},
		{req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "ops", Provider: "local"}}, 409, "ops"},
		{req{method: "POST", path: "/api/v1/users", json: api.User{Username: "bob", Password: "password-bob", Provider: "local"}}, 409, "bob"},
		{req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "runner-reader", Resource: "runners", ResourceIDs: []string{"*"}, Access: "read"}}, 409, "runner-reader"},
		{req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "again", RoleID: r.ID, GroupID: g.ID}}, 409, ""},
		{req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "x", RoleName: "nope", SubjectProvider: "local", SubjectName: "ops"}}, 400, "nope"},
		{req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "x", RoleID: r.ID, SubjectProvider: "local", SubjectName: "nope"}}, 400, "nope"},
		{req{method: "POST", path: "/api/v1/users", json: api.User{Username: "carl", Password: "password-carl", Provider: "local", Groups: []string{"no-such-group"}}}, 400, "no-such-group"},
		{req{method: "POST", path: "/api/v1/users", json: api.User{Username: "carl", Password: "short", Provider: "local"}}, 400, "at least"},
		{req{method: "POST", path: "/api/v1/users", json: api.User{Username: "carl", Provider: "local"}}, 400, "password"},
		{req{method: "POST", path: "/api/v1/users", json: api.User{Username: "carl", Password: "password-carl", Provider: "ldap"}}, 400, "provider"},
		{req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "bad", Resource: "planets", ResourceIDs: []string{"*"}, Access: "read"}}, 400, "planets"},
		{req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "bad", Resource: "runners", ResourceIDs: []string{"*"}, Access: "admin"}}, 400, "admin"},
		{req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "bad", Resource: "runners", Access: "read"}}, 400, "resource_ids"},
		{req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "x", Provider: "local", RoleIDs: []string{r.ID}}}, 400, "role bindings"},
		{req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"username":"robert"}`}, 400, "cannot change"},
		{req{method: "GET", path: "/api/v1/users/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "GET", path: "/api/v1/groups/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "GET", path: "/api/v1/roles/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "GET", path: "/api/v1/role_bindings/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "GET", path: "/api/v1/api_tokens/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "GET", path: "/api/v1/audit_logs/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "DELETE", path: "/api/v1/users/00000000-0000-0000-0000-000000000000"}, 404, ""},
		{req{method: "POST", path: "/api/v1/users", body: `{"username":`}, 400, ""},
	}
	for _, tt := range tests {
		res := ts.do(t, tt.r)
		if res.status != tt.status {
			t.Errorf("%s %s = %d %s, want %d", tt.r.method, tt.r.path, res.status, res.body, tt.status)
			continue
		}
		if e := res.apiError(t); !strings.Contains(e.Error, tt.says) {
			t.Errorf("%s %s error = %q, want it to mention %q", tt.r.method, tt.r.path, e.Error, tt.says)
		}
	}

	// Emptying the group, then unbinding the role, clears the way.
	ts.do(t, req{method: "DELETE", path: "/api/v1/groups/" + g.ID + "/users", json: []api.GroupMember{{ID: u.ID}}}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/users/" + u.ID}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/role_bindings/" + b.ID}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/roles/" + r.ID}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/groups/" + g.ID}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/groups/" + g.ID}).want(t, http.StatusNotFound)
}
