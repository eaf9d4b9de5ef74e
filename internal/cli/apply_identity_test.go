package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// identityDocs declares groups, users, a role and a binding, in an order apply must rearrange: membership is
// declared on both sides (ops lists alice; bob lists ops; alice lists devs).
const identityDocs = `kind: RoleBinding
name: ops-run-hello
role: run-hello
group: ops
---
kind: User
username: alice
password: alice-password
groups: [devs]
---
kind: Role
name: run-hello
resource: jobs
resource_ids: [hello]
access: write
---
kind: Group
name: ops
users: [alice]
---
kind: User
username: bob
password: bob-password
groups: [ops]
---
kind: Group
name: devs
`

// members returns each group's members by name, as the server has them (builtin groups left out).
func (h *harness) members() map[string][]string {
	h.t.Helper()
	users := unmarshal[[]api.User](h.t, h.ok("", "get", "users", "-o", "json"))
	groups := unmarshal[[]api.Group](h.t, h.ok("", "get", "groups", "-o", "json"))
	name := map[string]string{}
	for _, u := range users {
		name[u.ID] = u.Username
	}
	out := map[string][]string{}
	for _, g := range groups {
		if g.Builtin {
			continue
		}
		ms := []string{}
		for _, id := range g.UserIDs {
			ms = append(ms, name[id])
		}
		slices.Sort(ms)
		out[g.Name] = ms
	}
	return out
}

func TestApplyIdentity(t *testing.T) {
	h := newHarness(t, true)
	dir := t.TempDir()
	file := write(t, dir, "identity.yaml", identityDocs)
	noPasswords := func() {
		write(t, dir, "identity.yaml", strings.NewReplacer("password: alice-password\n", "", "password: bob-password\n", "").Replace(identityDocs))
	}

	steps := []struct {
		name    string
		edit    func()
		want    string
		members map[string][]string
	}{
		{"first apply creates, groups before users before roles", nil,
			"user/alice created\nuser/bob created\ngroup/ops created\ngroup/devs created\nrole/run-hello created\nrolebinding/ops-run-hello created\n",
			map[string][]string{"ops": {"alice", "bob"}, "devs": {"alice"}}},
		{"passwords are always sent", nil,
			"user/alice configured\nuser/bob configured\ngroup/ops unchanged\ngroup/devs unchanged\nrole/run-hello unchanged\nrolebinding/ops-run-hello unchanged\n",
			map[string][]string{"ops": {"alice", "bob"}, "devs": {"alice"}}},
		{"without passwords nothing changes", noPasswords,
			"user/alice unchanged\nuser/bob unchanged\ngroup/ops unchanged\ngroup/devs unchanged\nrole/run-hello unchanged\nrolebinding/ops-run-hello unchanged\n",
			map[string][]string{"ops": {"alice", "bob"}, "devs": {"alice"}}},
		{"membership, role and binding change", func() {
			noPasswords()
			s := mustRead(t, file)
			s = strings.Replace(s, "groups: [ops]", "groups: []", 1)                // bob leaves ops
			s = strings.Replace(s, "name: devs\n", "name: devs\nusers: [bob]\n", 1) // and joins devs, replacing alice
			s = strings.Replace(s, "access: write", "access: read", 1)
			s = strings.Replace(s, "group: ops", "group: devs", 1)
			write(t, dir, "identity.yaml", s)
		}, // bob's own line reports his move; alice stays in devs, which her own document still lists.
			"user/alice unchanged\nuser/bob configured\ngroup/ops unchanged\ngroup/devs unchanged\nrole/run-hello configured\nrolebinding/ops-run-hello configured\n",
			map[string][]string{"ops": {"alice"}, "devs": {"alice", "bob"}}},
		{"and then unchanged again", nil,
			"user/alice unchanged\nuser/bob unchanged\ngroup/ops unchanged\ngroup/devs unchanged\nrole/run-hello unchanged\nrolebinding/ops-run-hello unchanged\n",
			map[string][]string{"ops": {"alice"}, "devs": {"alice", "bob"}}},
	}
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		if got := h.ok("", "apply", "-f", file); got != s.want {
			t.Errorf("%s: apply printed\n%s\nwant\n%s", s.name, got, s.want)
		}
		if diff := cmp.Diff(s.members, h.members()); diff != "" {
			t.Errorf("%s: members (-want +got):\n%s", s.name, diff)
		}
	}

	role := unmarshal[api.Role](t, h.ok("", "get", "role", "run-hello", "-o", "json"))
	want := api.Role{Name: "run-hello", Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessRead}
	if role.Name != want.Name || role.Resource != want.Resource || role.Access != want.Access || !slices.Equal(role.ResourceIDs, want.ResourceIDs) {
		t.Errorf("role after apply = %+v, want %+v", role, want)
	}
	b := unmarshal[api.RoleBinding](t, h.ok("", "get", "rolebinding", "ops-run-hello", "-o", "json"))
	if b.RoleID != role.ID || b.SubjectName != "devs" {
		t.Errorf("binding after apply = %+v, want role %s bound to devs", b, role.ID)
	}

	// The users can log in with the passwords the first apply set.
	other := newHarnessOn(t, h.url)
	other.ok("alice-password\n", "login", "-u", "alice", "--password-stdin")
}

// newHarnessOn returns a harness with its own config directory for a server that is already running.
func newHarnessOn(t *testing.T, url string) *harness {
	h := &harness{t: t, url: url, cfgDir: t.TempDir()}
	t.Setenv("XDG_CONFIG_HOME", h.cfgDir)
	t.Setenv("RUNPLANE_SERVER", url)
	return h
}

func TestApplyIdentityKubernetesFormAndProviders(t *testing.T) {
	h := newHarness(t, true)
	doc := "kind: Group\nmetadata: {name: staff}\nspec: {provider: active_directory, users: ['DOMAIN\\jane']}\n---\n" +
		"kind: User\nmetadata: {name: 'DOMAIN\\jane'}\nspec: {provider: active_directory}\n---\n" +
		"kind: Group\nname: staff\n---\n" + // a local group of the same name is another group
		"kind: RoleBinding\nname: staff-admin\nrole: Admin\ngroup: staff\nprovider: active_directory\n"
	want := "user/DOMAIN\\jane (active_directory) created\ngroup/staff (active_directory) created\ngroup/staff created\nrolebinding/staff-admin created\n"
	if got := h.ok(doc, "apply", "-f", "-"); got != want {
		t.Errorf("apply printed\n%s\nwant\n%s", got, want)
	}
	want = strings.ReplaceAll(strings.ReplaceAll(want, "configured", "unchanged"), "created", "unchanged")
	if got := h.ok(doc, "apply", "-f", "-"); got != want {
		t.Errorf("second apply printed\n%s\nwant\n%s", got, want)
	}
	users := unmarshal[[]api.User](t, h.ok("", "get", "users", "-o", "json"))
	i := slices.IndexFunc(users, func(u api.User) bool { return u.Username == `DOMAIN\jane` })
	if i < 0 || users[i].Provider != api.ProviderActiveDirectory || len(users[i].Groups) != 1 {
		t.Fatalf("users after apply = %+v, want DOMAIN\\jane of active_directory in one group", users)
	}
}

func TestApplyIdentityErrors(t *testing.T) {
	h := newHarness(t, true)
	alice := "kind: User\nusername: alice\npassword: alice-password\n"
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"unknown group of a user", map[string]string{"u.yaml": alice + "groups: [nope]\n"},
			`apply DIR/u.yaml (document 1): user/alice: group "nope" of provider local is neither on the server nor declared in the files`},
		{"group of another provider", map[string]string{"u.yaml": alice + "groups: [staff]\n---\nkind: Group\nname: staff\nprovider: active_directory\n"},
			`apply DIR/u.yaml (document 1): user/alice: group "staff" of provider local is neither on the server nor declared in the files`},
		{"unknown user of a group", map[string]string{"g.yaml": "kind: Group\nname: ops\nusers: [root, ghost]\n"},
			`apply DIR/g.yaml (document 1): group/ops: user "ghost" of provider local is neither on the server nor declared in the files`},
		{"unknown role of a binding", map[string]string{"b.yaml": "kind: RoleBinding\nname: b\nrole: nope\ngroup: Admin\n"},
			`apply DIR/b.yaml (document 1): rolebinding/b: role "nope" is neither on the server nor declared in the files`},
		{"unknown group of a binding", map[string]string{"b.yaml": "kind: RoleBinding\nname: b\nrole: Admin\ngroup: Admin\nprovider: active_directory\n"},
			`apply DIR/b.yaml (document 1): rolebinding/b: group "Admin" of provider active_directory is neither on the server nor declared in the files`},
		{"new local user without password", map[string]string{"u.yaml": "kind: User\nusername: carol\n"},
			`apply DIR/u.yaml (document 1): user/carol: password is required to create a local user`},
		{"short password", map[string]string{"u.yaml": "kind: User\nusername: carol\npassword: short\n"},
			`apply DIR/u.yaml (document 1): User: password must be at least 8 characters`},
		{"declared twice", map[string]string{"one.yaml": alice, "two.yaml": alice},
			`apply DIR/two.yaml (document 1): user/alice is also declared in DIR/one.yaml (document 1)`},
		{"a runner waits for the check",
			map[string]string{"r.yaml": "kind: Runner\nname: r1\ngitURL: " + h.gitURL + "\n---\n" + alice + "groups: [nope]\n"},
			`apply DIR/r.yaml (document 2): user/alice: group "nope"`},
		{"server refuses", map[string]string{"admin.yaml": "kind: Role\nname: Admin\nresource: '*'\nresource_ids: ['*']\naccess: read\n"},
			`apply DIR/admin.yaml (document 1): role/Admin: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			sub := t.TempDir()
			args := []string{"apply"}
			var names []string
			for name := range tt.files {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				args = append(args, "-f", write(t, sub, name, tt.files[name]))
			}
			got := strings.ReplaceAll(h.fail("", args...), sub, "DIR")
			if !strings.HasPrefix(got, "Error: "+tt.wantErr) {
				t.Errorf("apply: stderr\n%s\nwant it to start with %q", got, "Error: "+tt.wantErr)
			}
		})
	}
	// Nothing reached the server: the checks come before any change.
	users := unmarshal[[]api.User](t, h.ok("", "get", "users", "-o", "json"))
	if len(users) != 1 || users[0].Username != "root" {
		t.Errorf("users after failed applies: %+v, want only root", users)
	}
	if got := h.ok("", "get", "runners", "-o", "json"); got != "[]\n" {
		t.Errorf("runners after failed applies: %s, want none", got)
	}
}

// TestApplyOwnPassword applies a file that sets the password of the user running the apply. The server refuses
// that change, since changing one's own password needs the current one, which a file does not hold; the dry run
// that comes first finds it, so apply says so and changes nothing at all, the role and binding included.
func TestApplyOwnPassword(t *testing.T) {
	h := newHarness(t, true)
	doc := "kind: User\nusername: root\npassword: another-root-password\n---\n" +
		"kind: Role\nname: read-tasks\nresource: tasks\nresource_ids: ['*']\naccess: read\n---\n" +
		"kind: RoleBinding\nname: admin-read-tasks\nrole: read-tasks\ngroup: Admin\n"
	got := h.fail(doc, "apply", "-f", "-")
	if !strings.Contains(got, "current_password is required") || !strings.Contains(got, "nothing was changed") {
		t.Errorf("apply said %q, want the server's reason and that nothing was changed", got)
	}
	h.ok(rootPassword+"\n", "login", "--server", h.url, "-u", "root", "--password-stdin")
	if got := h.fail("", "get", "rolebinding", "admin-read-tasks", "-o", "json"); !strings.Contains(got, "not found") {
		t.Errorf("get rolebinding after the refused apply: %q, want not found", got)
	}
}

// TestApplyAccessExample applies the README's access example.
func TestApplyAccessExample(t *testing.T) {
	h := newHarness(t, true)
	const file = "../../examples/access/operators.yaml"
	want := "user/olga created\ngroup/operators created\nrole/see-hello created\nrole/run-hello created\n" +
		"rolebinding/operators-see-hello created\nrolebinding/operators-run-hello created\n"
	if got := h.ok("", "apply", "-f", file); got != want {
		t.Errorf("apply %s printed\n%s\nwant\n%s", file, got, want)
	}
	want = strings.NewReplacer("olga created", "olga configured", "created", "unchanged").Replace(want)
	if got := h.ok("", "apply", "-f", file); got != want {
		t.Errorf("second apply %s printed\n%s\nwant\n%s", file, got, want)
	}
	if diff := cmp.Diff(map[string][]string{"operators": {"olga"}}, h.members()); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}
