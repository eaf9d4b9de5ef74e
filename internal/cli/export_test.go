package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const accessDocs = `kind: Group
name: operators
---
kind: Role
name: see-hello
resource: tasks
resource_ids: [hello]
access: read
---
kind: RoleBinding
name: operators-see-hello
role: see-hello
group: operators
---
kind: User
username: olga
password: olga-changes-this-at-once
groups: [operators]
`

// TestConfigRoundTrip: what get -o yaml and export print, apply takes back unchanged; delete -f removes what a
// file declares; -R reads subdirectories.
func TestConfigRoundTrip(t *testing.T) {
	h := newHarness(t, true)
	dir := h.manifests()
	sub := filepath.Join(dir, "access")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, sub, "access.yaml", accessDocs)
	if out := h.ok("", "apply", "-f", dir); strings.Contains(out, "olga") {
		t.Errorf("apply without -R read a subdirectory: %s", out)
	}
	out := h.ok("", "apply", "-R", "-f", dir)
	for _, want := range []string{"group/operators created", "user/olga created", "role/see-hello created", "rolebinding/operators-see-hello created", "task/hello unchanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply -R: %q, want %q", out, want)
		}
	}

	export := h.ok("", "export")
	for _, want := range []string{"kind: Runner\n", "kind: Task\n", "kind: Group\nname: operators\n", "kind: User\ngroups:\n- operators\nprovider: local\nusername: olga\n",
		"kind: RoleBinding\ngroup: operators\nname: operators-see-hello\nprovider: local\nrole: see-hello\n"} {
		if !strings.Contains(export, want) {
			t.Errorf("export lacks %q:\n%s", want, export)
		}
	}
	for _, builtin := range []string{"username: root", "name: Admin", "WriteAll"} {
		if strings.Contains(export, builtin) {
			t.Errorf("export holds the builtin %q", builtin)
		}
	}
	// Applied back, nothing changes.
	back := h.ok(export, "apply", "-f", "-")
	for _, line := range strings.Split(strings.TrimSpace(back), "\n") {
		if !strings.HasSuffix(line, " unchanged") {
			t.Errorf("apply of the export: %q, want every object unchanged", line)
		}
	}
	if again := h.ok("", "export"); dropFirstLine(again) != dropFirstLine(export) {
		t.Errorf("export after applying the export differs:\n%s\nwant\n%s", again, export)
	}
	for _, args := range [][]string{{"get", "task", "greet"}, {"get", "runners"}, {"get", "group", "operators"}, {"get", "rolebindings"}} {
		y := h.ok("", append(args, "-o", "yaml")...)
		if got := h.ok(y, "apply", "-f", "-"); strings.Contains(got, "configured") || strings.Contains(got, "created") {
			t.Errorf("%v -o yaml | apply: %q, want unchanged", args, got)
		}
	}

	// delete -f removes what the file declares, members and all; a second time, each is reported missing.
	file := write(t, t.TempDir(), "all.yaml", export)
	del := h.ok("", "delete", "-f", file)
	for _, want := range []string{"rolebinding/operators-see-hello deleted", "user/olga deleted", "group/operators deleted", "task/hello deleted", "runner/scripts deleted"} {
		if !strings.Contains(del, want) {
			t.Errorf("delete -f: %q, want %q", del, want)
		}
	}
	if got := table(h.ok("", "get", "tasks")); len(got) != 1 {
		t.Errorf("tasks after delete -f: %v", got)
	}
	if got := h.fail("", "delete", "-f", file); !strings.Contains(got, "Error: task/hello not found") {
		t.Errorf("delete -f again: stderr %q", got)
	}
	h.ok("", "delete", "-f", file, "--ignore-not-found")
}

func dropFirstLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}
