package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

// rowOf returns the row of a table whose first field is first, or nil.
func rowOf(rows [][]string, first string) []string {
	i := slices.IndexFunc(rows, func(r []string) bool { return len(r) > 0 && r[0] == first })
	if i < 0 {
		return nil
	}
	return rows[i]
}

func TestGetIdentity(t *testing.T) {
	h := newHarness(t, true)
	h.ok(identityDocs, "apply", "-f", "-")
	users := unmarshal[[]api.User](t, h.ok("", "get", "users", "-o", "json"))
	groups := unmarshal[[]api.Group](t, h.ok("", "get", "groups", "-o", "json"))
	id := map[string]string{}
	for _, u := range users {
		id["user/"+u.Username] = u.ID
	}
	for _, g := range groups {
		id["group/"+g.Name] = g.ID
	}
	role := unmarshal[api.Role](t, h.ok("", "get", "role", "run-hello", "-o", "json"))
	binding := unmarshal[api.RoleBinding](t, h.ok("", "get", "rolebinding", "ops-run-hello", "-o", "json"))

	tests := []struct {
		name  string
		args  []string
		first string // the row to compare, by its first field; "" compares the whole table
		want  [][]string
	}{
		{"users", []string{"get", "users"}, "", [][]string{
			{"USERNAME", "PROVIDER", "GROUPS", "ID"},
			{"alice", "local", "devs,ops", id["user/alice"]},
			{"bob", "local", "ops", id["user/bob"]},
			{"root", "local", "Admin", id["user/root"]}}},
		{"one user by name", []string{"get", "user", "bob"}, "", [][]string{
			{"USERNAME", "PROVIDER", "GROUPS", "ID"}, {"bob", "local", "ops", id["user/bob"]}}},
		{"one user by id", []string{"get", "user", id["user/bob"]}, "", [][]string{
			{"USERNAME", "PROVIDER", "GROUPS", "ID"}, {"bob", "local", "ops", id["user/bob"]}}},
		{"groups", []string{"get", "groups"}, "ops", [][]string{
			{"NAME", "PROVIDER", "USERS", "ROLES", "ID"}, {"ops", "local", "alice,bob", "run-hello", id["group/ops"]}}},
		{"group without members or roles", []string{"get", "group", "devs"}, "", [][]string{
			{"NAME", "PROVIDER", "USERS", "ROLES", "ID"}, {"devs", "local", "alice", "-", id["group/devs"]}}},
		{"roles", []string{"get", "roles"}, "run-hello", [][]string{
			{"NAME", "RESOURCE", "IDS", "ACCESS"}, {"run-hello", "jobs", "hello", "write"}}},
		{"one role by id", []string{"get", "role", role.ID}, "", [][]string{
			{"NAME", "RESOURCE", "IDS", "ACCESS"}, {"run-hello", "jobs", "hello", "write"}}},
		{"rolebindings", []string{"get", "rolebindings"}, "ops-run-hello", [][]string{
			{"NAME", "ROLE", "GROUP", "PROVIDER", "ID"}, {"ops-run-hello", "run-hello", "ops", "local", binding.ID}}},
		{"one rolebinding by id", []string{"get", "rolebinding", binding.ID}, "", [][]string{
			{"NAME", "ROLE", "GROUP", "PROVIDER", "ID"}, {"ops-run-hello", "run-hello", "ops", "local", binding.ID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			got := table(h.ok("", tt.args...))
			if tt.first != "" {
				got = [][]string{got[0], rowOf(got, tt.first)}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tt.args, diff)
			}
		})
	}

	t.Run("yaml", func(t *testing.T) {
		h := h.with(t)
		// A document apply takes back: groups by name, no id, no password.
		if got, want := h.ok("", "get", "user", "alice", "-o", "yaml"), "kind: User\ngroups:\n- devs\n- ops\nprovider: local\nusername: alice\n"; got != want {
			t.Errorf("get user alice -o yaml = %q, want %q", got, want)
		}
		var u api.User
		if err := yaml.Unmarshal([]byte(h.ok("", "get", "user", "alice", "-o", "json")), &u); err != nil {
			t.Fatal(err)
		}
		if u.ID != id["user/alice"] || u.Password != "" || len(u.Groups) != 2 {
			t.Errorf("get user alice -o json = %+v", u)
		}
	})

	t.Run("audit logs", func(t *testing.T) {
		h := h.with(t)
		logs := unmarshal[[]api.AuditLog](t, h.ok("", "get", "auditlogs", "--limit", "2", "-o", "json"))
		if len(logs) != 2 {
			t.Fatalf("get auditlogs --limit 2 = %+v, want 2 entries", logs)
		}
		rows := table(h.ok("", "get", "auditlog", logs[0].ID))
		if diff := cmp.Diff([]string{"TIME", "USER", "EVENT", "RESOURCE", "TARGET", "STATUS", "ID"}, rows[0]); diff != "" || len(rows) != 2 || rows[1][len(rows[1])-1] != logs[0].ID {
			t.Errorf("get auditlog %s = %v", logs[0].ID, rows)
		}
	})

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"missing user", []string{"get", "user", "nope"}, "Error: user \"nope\" not found\n"},
		{"missing group", []string{"get", "group", "nope"}, "Error: group \"nope\" not found\n"},
		{"missing role", []string{"get", "role", "nope"}, "(404)\n"},
		{"missing rolebinding", []string{"get", "rolebinding", "nope"}, "Error: role binding \"nope\" not found\n"},
		{"missing token", []string{"get", "token", "nope"}, "(404)\n"},
		{"missing audit log", []string{"get", "auditlog", "nope"}, "(404)\n"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			if got := h.fail("", tt.args...); !strings.HasSuffix(got, tt.want) || !strings.HasPrefix(got, "Error: ") {
				t.Errorf("%v: stderr %q, want %q at its end", tt.args, got, tt.want)
			}
		})
	}
}

// TestGetAmbiguous names a user whose name two providers share: the id is needed.
func TestGetAmbiguous(t *testing.T) {
	h := newHarness(t, true)
	h.ok("kind: User\nusername: jane\npassword: jane-password\n---\nkind: User\nusername: jane\nprovider: active_directory\n", "apply", "-f", "-")
	got := h.fail("", "get", "user", "jane")
	if !strings.HasPrefix(got, `Error: 2 users are named "jane": name one by its id (`) {
		t.Errorf("get user jane: stderr %q, want it to ask for the id", got)
	}
	users := unmarshal[[]api.User](t, h.ok("", "get", "users", "-o", "json"))
	for _, u := range users {
		if u.Username == "jane" {
			if got := unmarshal[api.User](t, h.ok("", "get", "user", u.ID, "-o", "json")); got.Provider != u.Provider {
				t.Errorf("get user %s = %+v, want provider %s", u.ID, got, u.Provider)
			}
		}
	}
}

func TestDeleteIdentity(t *testing.T) {
	h := newHarness(t, true)
	h.ok(identityDocs, "apply", "-f", "-")
	tok := strings.TrimSpace(h.ok("", "token", "create", "--description", "d"))
	tokens := unmarshal[[]api.APIToken](t, h.ok("", "get", "tokens", "-o", "json"))
	if len(tokens) != 1 || tok == "" {
		t.Fatalf("tokens = %+v, key %q", tokens, tok)
	}

	steps := []struct {
		name    string
		args    []string
		want    string // stdout, or the end of stderr when fail
		fail    bool
		wantErr string
	}{
		{name: "user in a group", args: []string{"delete", "user", "bob"}, fail: true, want: "(409)\n"},
		{name: "role still bound", args: []string{"delete", "role", "run-hello"}, fail: true, want: "(409)\n"},
		{name: "builtin group", args: []string{"delete", "group", "Admin"}, fail: true, want: "(409)\n"},
		{name: "unknown user", args: []string{"delete", "user", "nope"}, fail: true, want: "Error: user \"nope\" not found\n"},
		{name: "unknown kind", args: []string{"delete", "widget", "x"}, fail: true,
			want: "Error: cannot delete \"widget\": want runner, task, workflow, cronjob, user, group, role, rolebinding, token or webhook\nRun 'runplane delete --help' for usage.\n"},
		{name: "binding", args: []string{"delete", "rolebinding", "ops-run-hello"}, want: "rolebinding/ops-run-hello deleted\n"},
		{name: "role", args: []string{"delete", "role", "run-hello"}, want: "role/run-hello deleted\n"},
		{name: "token", args: []string{"delete", "token", tokens[0].ID}, want: "token/" + tokens[0].ID + " deleted\n"},
		{name: "token again", args: []string{"delete", "token", tokens[0].ID}, fail: true, want: "(404)\n"},
	}
	for _, s := range steps {
		if s.fail {
			if got := h.fail("", s.args...); !strings.HasSuffix(got, s.want) {
				t.Errorf("%s: %v: stderr %q, want it to end with %q", s.name, s.args, got, s.want)
			}
			continue
		}
		if got := h.ok("", s.args...); got != s.want {
			t.Errorf("%s: %v: stdout %q, want %q", s.name, s.args, got, s.want)
		}
	}
	// Emptying the groups lets users and groups go.
	h.ok("kind: Group\nname: ops\nusers: []\n---\nkind: Group\nname: devs\nusers: []\n---\n"+
		"kind: User\nusername: alice\ngroups: []\n---\nkind: User\nusername: bob\ngroups: []\n", "apply", "-f", "-")
	if got, want := h.ok("", "delete", "user", "alice", "bob"), "user/alice deleted\nuser/bob deleted\n"; got != want {
		t.Errorf("delete users: %q, want %q", got, want)
	}
	if got, want := h.ok("", "delete", "group", "ops", "devs"), "group/ops deleted\ngroup/devs deleted\n"; got != want {
		t.Errorf("delete groups: %q, want %q", got, want)
	}
	if diff := cmp.Diff(map[string][]string{}, h.members()); diff != "" {
		t.Errorf("groups left (-want +got):\n%s", diff)
	}
}

// TestGetAsUser checks what a user without any role sees: their own record by id, and nobody's list.
func TestGetAsUser(t *testing.T) {
	h := newHarness(t, true)
	h.ok("kind: User\nusername: kim\npassword: kim-password\n", "apply", "-f", "-")
	users := unmarshal[[]api.User](t, h.ok("", "get", "users", "-o", "json"))
	i := slices.IndexFunc(users, func(u api.User) bool { return u.Username == "kim" })
	if i < 0 {
		t.Fatalf("no kim in %+v", users)
	}
	h.ok("kim-password\n", "login", "--server", h.url, "-u", "kim", "--password-stdin")
	if got := h.fail("", "get", "users"); !strings.Contains(got, "(403)") {
		t.Errorf("get users as kim: stderr %q, want 403", got)
	}
	got := unmarshal[api.User](t, h.ok("", "get", "user", users[i].ID, "-o", "json"))
	if got.ID != users[i].ID || got.Username != "kim" {
		t.Errorf("get user <kim's id> as kim = %+v", got)
	}
	if got := h.fail("", "get", "user", "root"); !strings.Contains(got, "(403)") {
		t.Errorf("get user root as kim: stderr %q, want 403", got)
	}
	// Her own tokens need no role.
	key := strings.TrimSpace(h.ok("", "token", "create", "--description", "kim's"))
	if !strings.HasPrefix(key, "rpat_") {
		t.Errorf("token create as kim printed %q", key)
	}
	if rows := table(h.ok("", "token", "list")); len(rows) != 2 || rows[1][1] != "kim's" {
		t.Errorf("token list as kim = %v", rows)
	}
}
