package cli_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestApplyDryRun: apply --dry-run prints what apply would do, marked (dry run), and stores nothing, a task whose
// runner the same files create included; after a real apply it says unchanged.
func TestApplyDryRun(t *testing.T) {
	h := newHarness(t, true)
	dir := h.manifests()
	docs := "runner/scripts created (dry run)\ntask/hello created (dry run)\ntask/greet created (dry run)\n" +
		"task/slow created (dry run)\ntask/fail created (dry run)\n"
	for _, flag := range []string{"--dry-run", "--dry-run=server"} {
		if got := h.ok("", "apply", "-f", dir, flag); got != docs {
			t.Errorf("apply %s printed\n%s\nwant\n%s", flag, got, docs)
		}
		if got := h.ok("", "get", "runners", "-o", "json"); got != "[]\n" {
			t.Errorf("runners after apply %s: %s, want none", flag, got)
		}
		if got := h.ok("", "get", "tasks", "-o", "json"); got != "[]\n" {
			t.Errorf("tasks after apply %s: %s, want none", flag, got)
		}
	}
	h.ok("", "apply", "-f", dir)
	write(t, dir, "b-runner.yml", "kind: Runner\nname: scripts\nimage: alpine:4\ngitURL: "+h.gitURL+"\nbranch: main\n")
	want := "runner/scripts configured (dry run)\ntask/hello unchanged\ntask/greet unchanged\ntask/slow unchanged\ntask/fail unchanged\n"
	if got := h.ok("", "apply", "-f", dir, "--dry-run"); got != want {
		t.Errorf("apply --dry-run after a change printed\n%s\nwant\n%s", got, want)
	}
	if got := h.ok("", "get", "runner", "scripts", "-o", "json"); strings.Contains(got, "alpine:4") {
		t.Errorf("runner after apply --dry-run: %s, want the image unchanged", got)
	}
	if got := h.fail("", "apply", "-f", dir, "--dry-run=client"); !strings.Contains(got, "want server or none") {
		t.Errorf("apply --dry-run=client said %q", got)
	}
}

// TestApplyRefusedLastDocument: when the server would refuse the last document of a file (a schema over the
// cost limit, a role that hands on access the caller lacks), apply changes nothing at all: the runner the first
// document declares is not created.
func TestApplyRefusedLastDocument(t *testing.T) {
	h := newHarness(t, true)
	var bomb strings.Builder
	bomb.WriteString(`{"$defs": {`)
	for i := range 22 {
		fmt.Fprintf(&bomb, `"d%d": {"anyOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d", "required": ["x"]}]}, `, i, i+1, i+1)
	}
	bomb.WriteString(`"d22": {"type": "object", "required": ["never"]}}, "$ref": "#/$defs/d0"}`)
	runner := `{"kind": "Runner", "name": "first", "gitURL": "` + h.gitURL + `"}`
	tests := []struct {
		name, doc, want string
	}{
		{"a task whose schema is too expensive", `[` + runner + `, {"kind": "Task", "name": "t", "runner": "first",
			"command": "true"}, {"kind": "Task", "name": "bomb", "runner": "first", "command": "true", "schema": ` + bomb.String() + `}]`,
			"too expensive"},
		{"a role the caller may not create", `[` + runner + `, {"kind": "Role", "name": "all", "resource": "*",
			"resource_ids": ["*"], "access": "write"}]`, "nothing was changed"},
	}
	// The caller may write runners, tasks and roles, but holds no other access to hand on.
	admin := `[{"kind": "Group", "name": "ops"}, {"kind": "User", "username": "op", "password": "password-op", "groups": ["ops"]},
		{"kind": "Role", "name": "ops-runners", "resource": "runners", "resource_ids": ["*"], "access": "write"},
		{"kind": "Role", "name": "ops-tasks", "resource": "tasks", "resource_ids": ["*"], "access": "write"},
		{"kind": "Role", "name": "ops-roles", "resource": "roles", "resource_ids": ["*"], "access": "write"},
		{"kind": "RoleBinding", "name": "ops-runners", "role": "ops-runners", "group": "ops"},
		{"kind": "RoleBinding", "name": "ops-tasks", "role": "ops-tasks", "group": "ops"},
		{"kind": "RoleBinding", "name": "ops-roles", "role": "ops-roles", "group": "ops"}]`
	dir := t.TempDir()
	h.ok("", "apply", "-f", write(t, dir, "admin.json", admin))
	h.ok("password-op\n", "login", "--server", h.url, "-u", "op", "--password-stdin")
	for i, tt := range tests {
		got := h.fail("", "apply", "-f", write(t, dir, fmt.Sprintf("doc%d.json", i), tt.doc))
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s: apply said %q, want it to contain %q", tt.name, got, tt.want)
		}
		if got := h.ok("", "get", "runners", "-o", "json"); got != "[]\n" {
			t.Errorf("%s: runners after the refused apply: %s, want none", tt.name, got)
		}
		if got := h.ok("", "get", "tasks", "-o", "json"); got != "[]\n" {
			t.Errorf("%s: tasks after the refused apply: %s, want none", tt.name, got)
		}
	}
}

// TestApplyDryRunIdentity: apply --dry-run of users, groups, roles and bindings that refer to each other, some
// new and some not, prints what the apply that follows prints, marked (dry run), and stores nothing; at every
// step of an edit series.
func TestApplyDryRunIdentity(t *testing.T) {
	h := newHarness(t, true)
	dir := t.TempDir()
	file := write(t, dir, "identity.yaml", identityDocs)
	unmark := strings.NewReplacer(" (dry run)", "")
	steps := []struct {
		name string
		edit func()
	}{
		{"everything new", nil},
		{"everything in place", nil},
		{"membership moves, a role changes, a new group is bound", func() {
			write(t, dir, "identity.yaml", strings.NewReplacer("users: [alice]", "users: [bob]", "groups: [ops]", "groups: [devs]",
				"access: write", "access: read").Replace(identityDocs)+
				"---\nkind: Group\nname: qa\nusers: [alice]\n---\nkind: RoleBinding\nname: qa-run-hello\nrole: run-hello\ngroup: qa\n")
		}},
	}
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		before := h.identity()
		dry := h.ok("", "apply", "-f", file, "--dry-run")
		if diff := cmp.Diff(before, h.identity()); diff != "" {
			t.Errorf("%s: apply --dry-run changed the server's objects (-before +after):\n%s", s.name, diff)
		}
		real := h.ok("", "apply", "-f", file)
		if got := unmark.Replace(dry); got != real {
			t.Errorf("%s: apply --dry-run printed\n%s\nthen apply printed\n%s", s.name, dry, real)
		}
	}
}

// identity is every user, group, role and binding the server has, as get prints them.
func (h *harness) identity() string {
	h.t.Helper()
	var b strings.Builder
	for _, kind := range []string{"users", "groups", "roles", "rolebindings"} {
		b.WriteString(h.ok("", "get", kind, "-o", "json"))
	}
	return b.String()
}
