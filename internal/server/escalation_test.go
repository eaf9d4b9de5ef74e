package server

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
)

// The kinds of caller TestNoEscalation tries every identity route as. Each but none and admin exists per resource X
// (users, groups, roles, role_bindings).
const (
	kNone        = iota // no roles at all
	kRead               // X read on all
	kOne                // X write on the one object the request acts on (or creates)
	kAll                // X write on all
	kCover              // X write on all, and the access the request hands on (runners write on all)
	kCoverGroups        // kCover and groups write on all
	kAdmin              // in the Admin group
	kinds
)

var kindNames = [kinds]string{"no roles", "read", "write on one", "write on all", "covering", "covering+groups", "admin"}

// escWorld is what TestNoEscalation acts on. payload (runners write on all) is the access the requests hand on.
type escWorld struct {
	ts         *testServer
	seq        int
	payload    api.Role
	admin      api.Role                  // the built-in role Admin
	adminGroup api.Group                 // the built-in group Admin
	root       string                    // root's id
	oneRole    map[string]string         // resource → id of the role of its write-on-one persona
	tokens     map[string]*[kinds]string // resource → token per kind
}

func (w *escWorld) name(prefix string) string {
	w.seq++
	return fmt.Sprintf("%s-%d", prefix, w.seq)
}

// role stores r under a fresh name.
func (w *escWorld) role(t *testing.T, r api.Role) api.Role {
	t.Helper()
	r.Name = w.name("role")
	var got api.Role
	w.ts.do(t, req{method: "POST", path: "/api/v1/roles", json: r}).want(t, http.StatusOK).decode(t, &got)
	return got
}

// group makes a group bound to roles.
func (w *escWorld) group(t *testing.T, roles ...api.Role) api.Group {
	t.Helper()
	var g api.Group
	w.ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: w.name("group"), Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &g)
	for _, r := range roles {
		w.bind(t, r, g)
	}
	w.ts.do(t, req{method: "GET", path: "/api/v1/groups/" + g.ID}).want(t, http.StatusOK).decode(t, &g)
	return g
}

func (w *escWorld) bind(t *testing.T, r api.Role, g api.Group) api.RoleBinding {
	t.Helper()
	var b api.RoleBinding
	w.ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: w.name("binding"), RoleID: r.ID, GroupID: g.ID}}).
		want(t, http.StatusOK).decode(t, &b)
	return b
}

// user makes a local user in groups.
func (w *escWorld) user(t *testing.T, groups ...api.Group) api.User {
	t.Helper()
	u := api.User{Username: w.name("user"), Password: "password-123", Provider: "local", Groups: []string{}}
	for _, g := range groups {
		u.Groups = append(u.Groups, g.ID)
	}
	var got api.User
	w.ts.do(t, req{method: "POST", path: "/api/v1/users", json: u}).want(t, http.StatusOK).decode(t, &got)
	return got
}

// persona makes a user in a group bound to roles and logs it in.
func (w *escWorld) persona(t *testing.T, roles ...api.Role) string {
	t.Helper()
	var stored []api.Role
	for _, r := range roles {
		stored = append(stored, w.role(t, r))
	}
	u := w.user(t, w.group(t, stored...))
	return w.ts.login(t, u.Username, "password-123")
}

func allOf(resource string, access api.Access) api.Role {
	return api.Role{Resource: resource, ResourceIDs: []string{"*"}, Access: access}
}

// newEscWorld starts a server and makes the personas. Setups run as "boss", a second administrator, so that root's
// password may change under the test.
func newEscWorld(t *testing.T) *escWorld {
	t.Helper()
	ts := startServer(t)
	w := &escWorld{ts: ts, oneRole: map[string]string{}, tokens: map[string]*[kinds]string{}}
	ts.do(t, req{method: "GET", path: "/api/v1/roles/" + auth.AdminRole}).want(t, http.StatusOK).decode(t, &w.admin)
	var groups []api.Group
	ts.do(t, req{method: "GET", path: "/api/v1/groups"}).want(t, http.StatusOK).decode(t, &groups)
	for _, g := range groups {
		if g.Name == auth.AdminGroup {
			w.adminGroup = g
		}
	}
	w.root = w.adminGroup.UserIDs[0]
	boss := w.user(t, w.adminGroup)
	ts.token = ts.login(t, boss.Username, "password-123")
	w.payload = w.role(t, allOf("runners", api.AccessWrite))

	none := w.persona(t)
	admin := w.ts.login(t, w.user(t, w.adminGroup).Username, "password-123")
	for _, res := range []string{"users", "groups", "roles", "role_bindings"} {
		one := w.role(t, api.Role{Resource: res, ResourceIDs: []string{"nothing-yet"}, Access: api.AccessWrite})
		w.oneRole[res] = one.ID
		var tok [kinds]string
		tok[kNone], tok[kAdmin] = none, admin
		tok[kRead] = w.persona(t, allOf(res, api.AccessRead))
		u := w.user(t, w.group(t, one))
		tok[kOne] = w.ts.login(t, u.Username, "password-123")
		tok[kAll] = w.persona(t, allOf(res, api.AccessWrite))
		tok[kCover] = w.persona(t, allOf(res, api.AccessWrite), allOf("runners", api.AccessWrite))
		tok[kCoverGroups] = w.persona(t, allOf(res, api.AccessWrite), allOf("runners", api.AccessWrite), allOf("groups", api.AccessWrite))
		w.tokens[res] = &tok
	}
	return w
}

// status lists the answer each kind of caller gets, in the order of the kinds.
type status [kinds]int

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`)

// TestNoEscalation tries every identity route that hands on access — roles, bindings, group membership (through
// groups, group users and user groups), passwords — as callers with no grant, read, write on the one object, write
// on all of the resource, a covering role (with and without groups write) and an administrator. Each request runs
// on objects made fresh for it. A refused request is a 403 that names no object.
func TestNoEscalation(t *testing.T) {
	t.Parallel()
	w := newEscWorld(t)
	const ok, no = http.StatusOK, http.StatusForbidden
	tests := []struct {
		name  string
		res   string
		setup func(t *testing.T) (r req, one string)
		want  status
	}{
		// users
		{"set the password of a user holding the payload", "users", func(t *testing.T) (req, string) {
			u := w.user(t, w.group(t, w.payload))
			return req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"another-password"}`}, u.ID
		}, status{no, no, no, no, ok, ok, ok}},
		{"set root's password", "users", func(t *testing.T) (req, string) {
			return req{method: "PATCH", path: "/api/v1/users/" + w.root, body: `{"password":"another-password"}`}, w.root
		}, status{no, no, no, no, no, no, ok}},
		{"PUT root's password", "users", func(t *testing.T) (req, string) {
			return req{method: "PUT", path: "/api/v1/users/" + w.root, body: `{"username":"root","password":"another-password"}`}, "root"
		}, status{no, no, no, no, no, no, ok}},
		{"set the password of a user with no roles", "users", func(t *testing.T) (req, string) {
			u := w.user(t)
			return req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"another-password"}`}, u.ID
		}, status{no, no, ok, ok, ok, ok, ok}},
		{"set the password of an administrator", "users", func(t *testing.T) (req, string) {
			u := w.user(t, w.adminGroup)
			return req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"another-password"}`}, u.Username
		}, status{no, no, no, no, no, no, ok}},
		{"put a user in a group bound to the payload", "users", func(t *testing.T) (req, string) {
			g, u := w.group(t, w.payload), w.user(t)
			return req{method: "PATCH", path: "/api/v1/users/" + u.ID, json: map[string]any{"groups": []string{g.ID}}}, u.ID
		}, status{no, no, no, no, no, ok, ok}},
		{"put a user in Admin", "users", func(t *testing.T) (req, string) {
			u := w.user(t)
			return req{method: "PUT", path: "/api/v1/users/" + u.ID, json: map[string]any{"groups": []string{w.adminGroup.ID}}}, u.ID
		}, status{no, no, no, no, no, no, ok}},
		{"put a user in a group with no roles", "users", func(t *testing.T) (req, string) {
			g, u := w.group(t), w.user(t)
			return req{method: "PATCH", path: "/api/v1/users/" + u.ID, json: map[string]any{"groups": []string{g.ID}}}, u.ID
		}, status{no, no, no, no, no, ok, ok}},
		{"take a user out of a group bound to the payload", "users", func(t *testing.T) (req, string) {
			u := w.user(t, w.group(t, w.payload))
			return req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"groups":[]}`}, u.ID
		}, status{no, no, no, no, no, ok, ok}},
		{"create a user in a group bound to the payload", "users", func(t *testing.T) (req, string) {
			g, n := w.group(t, w.payload), w.name("new")
			return req{method: "POST", path: "/api/v1/users", json: api.User{Username: n, Password: "password-123", Provider: "local", Groups: []string{g.ID}}}, n
		}, status{no, no, no, no, no, ok, ok}},
		{"create a user in Admin", "users", func(t *testing.T) (req, string) {
			n := w.name("new")
			return req{method: "POST", path: "/api/v1/users", json: api.User{Username: n, Password: "password-123", Provider: "local", Groups: []string{w.adminGroup.ID}}}, n
		}, status{no, no, no, no, no, no, ok}},
		{"create a user in no group", "users", func(t *testing.T) (req, string) {
			n := w.name("new")
			return req{method: "POST", path: "/api/v1/users", json: api.User{Username: n, Password: "password-123", Provider: "local"}}, n
		}, status{no, no, ok, ok, ok, ok, ok}},
		{"delete a user", "users", func(t *testing.T) (req, string) {
			u := w.user(t)
			return req{method: "DELETE", path: "/api/v1/users/" + u.ID}, u.ID
		}, status{no, no, ok, ok, ok, ok, ok}},

		// groups and their members
		{"add a member to a group bound to the payload", "groups", func(t *testing.T) (req, string) {
			g, u := w.group(t, w.payload), w.user(t)
			return req{method: "POST", path: "/api/v1/groups/" + g.ID + "/users", json: []api.GroupMember{{ID: u.ID}}}, g.ID
		}, status{no, no, no, no, ok, ok, ok}},
		{"add a member by name to Admin", "groups", func(t *testing.T) (req, string) {
			u := w.user(t)
			return req{method: "POST", path: "/api/v1/groups/" + w.adminGroup.ID + "/users", json: []api.GroupMember{{Name: u.Username, Provider: "local"}}}, w.adminGroup.ID
		}, status{no, no, no, no, no, no, ok}},
		{"add a member through user_ids (PATCH)", "groups", func(t *testing.T) (req, string) {
			g, u := w.group(t, w.payload), w.user(t)
			return req{method: "PATCH", path: "/api/v1/groups/" + g.ID, json: map[string]any{"user_ids": []string{u.ID}}}, g.Name
		}, status{no, no, no, no, ok, ok, ok}},
		{"add a member to Admin through user_ids (PUT)", "groups", func(t *testing.T) (req, string) {
			u := w.user(t)
			var g api.Group
			w.ts.do(t, req{method: "GET", path: "/api/v1/groups/" + w.adminGroup.ID}).want(t, http.StatusOK).decode(t, &g)
			ids := append([]string{u.ID}, g.UserIDs...)
			return req{method: "PUT", path: "/api/v1/groups/" + w.adminGroup.ID, json: api.Group{Name: auth.AdminGroup, UserIDs: ids}}, w.adminGroup.ID
		}, status{no, no, no, no, no, no, ok}},
		{"add a member to a group with no roles", "groups", func(t *testing.T) (req, string) {
			g, u := w.group(t), w.user(t)
			return req{method: "POST", path: "/api/v1/groups/" + g.ID + "/users", json: []api.GroupMember{{ID: u.ID}}}, g.ID
		}, status{no, no, ok, ok, ok, ok, ok}},
		{"remove a member from a group bound to the payload", "groups", func(t *testing.T) (req, string) {
			g := w.group(t, w.payload)
			u := w.user(t, g)
			return req{method: "DELETE", path: "/api/v1/groups/" + g.ID + "/users", json: []api.GroupMember{{ID: u.ID}}}, g.ID
		}, status{no, no, ok, ok, ok, ok, ok}},
		{"empty a group bound to the payload", "groups", func(t *testing.T) (req, string) {
			g := w.group(t, w.payload)
			w.user(t, g)
			return req{method: "PATCH", path: "/api/v1/groups/" + g.ID, body: `{"user_ids":[]}`}, g.ID
		}, status{no, no, ok, ok, ok, ok, ok}},
		{"rename a group bound to the payload", "groups", func(t *testing.T) (req, string) {
			g := w.group(t, w.payload)
			return req{method: "PATCH", path: "/api/v1/groups/" + g.ID, json: map[string]any{"name": w.name("renamed")}}, g.ID
		}, status{no, no, ok, ok, ok, ok, ok}},
		{"create a group with a member", "groups", func(t *testing.T) (req, string) {
			u, n := w.user(t), w.name("new")
			return req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: n, Provider: "local", UserIDs: []string{u.ID}}}, n
		}, status{no, no, ok, ok, ok, ok, ok}},

		{"delete a group", "groups", func(t *testing.T) (req, string) {
			g := w.group(t)
			return req{method: "DELETE", path: "/api/v1/groups/" + g.ID}, g.ID
		}, status{no, no, ok, ok, ok, ok, ok}},

		// roles
		{"create a role granting the payload", "roles", func(t *testing.T) (req, string) {
			n := w.name("new")
			return req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: n, Resource: "runners", ResourceIDs: []string{"*"}, Access: "write"}}, n
		}, status{no, no, no, no, ok, ok, ok}},
		{"create a role granting part of the payload", "roles", func(t *testing.T) (req, string) {
			n := w.name("new")
			return req{method: "POST", path: "/api/v1/roles", body: `{"name":"` + n + `","resource":"runners","resource_names":["a"],"access":"read"}`}, n
		}, status{no, no, no, no, ok, ok, ok}},
		{"create a role granting everything", "roles", func(t *testing.T) (req, string) {
			n := w.name("new")
			return req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: n, Resource: "*", ResourceIDs: []string{"*"}, Access: "write"}}, n
		}, status{no, no, no, no, no, no, ok}},
		{"widen a role to everything", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, api.Role{Resource: "runners", ResourceIDs: []string{"a"}, Access: "read"})
			return req{method: "PATCH", path: "/api/v1/roles/" + r.ID, body: `{"resource":"*","resource_ids":["*"],"access":"write"}`}, r.ID
		}, status{no, no, no, no, no, no, ok}},
		{"widen a role within the payload", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, api.Role{Resource: "runners", ResourceIDs: []string{"a"}, Access: "read"})
			return req{method: "PATCH", path: "/api/v1/roles/" + r.ID, body: `{"resource_ids":["*"],"access":"write"}`}, r.Name
		}, status{no, no, no, no, ok, ok, ok}},
		{"replace a role within the payload (PUT)", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, api.Role{Resource: "runners", ResourceIDs: []string{"a"}, Access: "read"})
			return req{method: "PUT", path: "/api/v1/roles/" + r.ID, json: api.Role{Name: r.Name, Resource: "runners", ResourceIDs: []string{"b"}, Access: "write"}}, r.ID
		}, status{no, no, no, no, ok, ok, ok}},
		{"narrow a role granting more than the payload", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, allOf("tasks", api.AccessWrite))
			return req{method: "PATCH", path: "/api/v1/roles/" + r.ID, body: `{"resource":"runners"}`}, r.ID
		}, status{no, no, no, no, no, no, ok}},
		{"change what a bound role grants", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, api.Role{Resource: "runners", ResourceIDs: []string{"a"}, Access: "read"})
			w.group(t, r)
			return req{method: "PATCH", path: "/api/v1/roles/" + r.ID, body: `{"resource_ids":["a","b"]}`}, r.ID
		}, status{no, no, no, no, no, ok, ok}},
		{"rename a bound role", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, api.Role{Resource: "runners", ResourceIDs: []string{"a"}, Access: "read"})
			w.group(t, r)
			return req{method: "PATCH", path: "/api/v1/roles/" + r.ID, json: map[string]any{"name": w.name("renamed")}}, r.ID
		}, status{no, no, no, no, ok, ok, ok}},
		{"change the Admin role", "roles", func(t *testing.T) (req, string) {
			return req{method: "PATCH", path: "/api/v1/roles/" + w.admin.ID, body: `{"access":"read"}`}, w.admin.ID
		}, status{no, no, no, no, no, no, http.StatusConflict}},
		{"delete an unbound role granting everything", "roles", func(t *testing.T) (req, string) {
			r := w.role(t, allOf("*", api.AccessWrite))
			return req{method: "DELETE", path: "/api/v1/roles/" + r.ID}, r.ID
		}, status{no, no, ok, ok, ok, ok, ok}},

		// role bindings
		{"bind Admin to a group", "role_bindings", func(t *testing.T) (req, string) {
			g, n := w.group(t), w.name("new")
			return req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: n, RoleID: w.admin.ID, GroupID: g.ID}}, n
		}, status{no, no, no, no, no, no, ok}},
		{"bind Admin to a group in the older form", "role_bindings", func(t *testing.T) (req, string) {
			g, n := w.group(t), w.name("new")
			return req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: n, RoleName: auth.AdminRole,
				SubjectKind: "groups", SubjectProvider: "local", SubjectName: g.Name}}, n
		}, status{no, no, no, no, no, no, ok}},
		{"bind the payload to a group", "role_bindings", func(t *testing.T) (req, string) {
			g, n := w.group(t), w.name("new")
			return req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: n, RoleID: w.payload.ID, GroupID: g.ID}}, n
		}, status{no, no, no, no, no, ok, ok}},
		{"re-point a binding to Admin", "role_bindings", func(t *testing.T) (req, string) {
			b := w.bind(t, w.payload, w.group(t))
			return req{method: "PATCH", path: "/api/v1/role_bindings/" + b.ID, json: map[string]any{"role_id": w.admin.ID}}, b.ID
		}, status{no, no, no, no, no, no, ok}},
		{"re-point a binding of Admin to the payload", "role_bindings", func(t *testing.T) (req, string) {
			b := w.bind(t, w.admin, w.group(t))
			return req{method: "PUT", path: "/api/v1/role_bindings/" + b.ID, json: api.RoleBinding{Name: b.Name, RoleID: w.payload.ID, GroupID: b.GroupID}}, b.Name
		}, status{no, no, no, no, no, no, ok}},
		{"move a binding of the payload to another group", "role_bindings", func(t *testing.T) (req, string) {
			b, g := w.bind(t, w.payload, w.group(t)), w.group(t)
			return req{method: "PUT", path: "/api/v1/role_bindings/" + b.ID, json: api.RoleBinding{Name: b.Name, RoleID: w.payload.ID, GroupID: g.ID}}, b.ID
		}, status{no, no, no, no, no, ok, ok}},
		{"rename a binding of the payload", "role_bindings", func(t *testing.T) (req, string) {
			b := w.bind(t, w.payload, w.group(t))
			return req{method: "PATCH", path: "/api/v1/role_bindings/" + b.ID, json: map[string]any{"name": w.name("renamed")}}, b.ID
		}, status{no, no, no, no, no, ok, ok}},
		{"delete a binding of Admin", "role_bindings", func(t *testing.T) (req, string) {
			b := w.bind(t, w.admin, w.group(t))
			return req{method: "DELETE", path: "/api/v1/role_bindings/" + b.ID}, b.ID
		}, status{no, no, ok, ok, ok, ok, ok}},
	}
	for _, tt := range tests {
		for k := range kinds {
			r, one := tt.setup(t)
			// The write-on-one persona's role names the object this request acts on.
			w.ts.do(t, req{method: "PATCH", path: "/api/v1/roles/" + w.oneRole[tt.res], json: map[string]any{"resource_ids": []string{one}}}).
				want(t, http.StatusOK)
			r.as = w.tokens[tt.res][k]
			res := w.ts.do(t, r)
			if res.status != tt.want[k] {
				t.Errorf("%s (%s %s) as %s %s = %d %s, want %d", tt.name, r.method, r.path, tt.res, kindNames[k], res.status,
					res.body, tt.want[k])
				continue
			}
			if res.status == http.StatusForbidden {
				if e := res.apiError(t); uuidRE.MatchString(e.Error) || strings.Contains(e.Error, "Admin") || strings.Contains(e.Error, "root") {
					t.Errorf("%s as %s %s: 403 %q names an object", tt.name, tt.res, kindNames[k], e.Error)
				}
			}
		}
	}
}
