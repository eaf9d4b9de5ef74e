package cli_test

import (
	"bytes"
	"encoding/json"
	"github.com/runplane/runplane/internal/server/servertest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/cli"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

func TestMain(m *testing.M) {
	servertest.MaybeRunLauncher()
	os.Exit(m.Run())
}

const rootPassword = servertest.RootPassword

var scripts = servertest.Scripts

// harness is a server plus a private config directory; commands run through cli.Run.
type harness struct {
	t      *testing.T
	url    string
	gitURL string
	cfgDir string // XDG_CONFIG_HOME
}

// newHarness starts a server and isolates the CLI's environment; with login it also logs in as root.
func newHarness(t *testing.T, login bool) *harness {
	t.Helper()
	h := &harness{t: t, cfgDir: t.TempDir()}
	t.Setenv("XDG_CONFIG_HOME", h.cfgDir)
	t.Setenv("RUNPLANE_SERVER", "")
	t.Setenv("RUNPLANE_TOKEN", "")
	h.url = servertest.Start(t)
	h.gitURL = gittest.URL(gittest.NewRepo(t, scripts))
	if login {
		h.ok(rootPassword+"\n", "login", "--server", h.url, "-u", "root", "--password-stdin")
	}
	return h
}

// with returns h bound to a subtest, so that its failures are reported there.
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

type result struct {
	stdout, stderr string
	code           int
}

// run executes a command line with stdin.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(h.t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// ok runs a command line that must succeed and returns its stdout.
func (h *harness) ok(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("runplane %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fail runs a command line that must exit 1 and returns its stderr.
func (h *harness) fail(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 1 {
		h.t.Fatalf("runplane %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stderr
}

// write creates a file under dir and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// manifests is a directory of runner and task documents: tasks sort before the runner they need.
func (h *harness) manifests() string {
	dir := h.t.TempDir()
	write(h.t, dir, "a-tasks.yaml", `# tasks first, on purpose
---
kind: Task
name: hello
runner: scripts
command: ./hello.sh
synchronous: true
---
kind: Task
name: greet
runner: scripts
command: ./hello.sh
synchronous: true
schema:
  type: object
  required: [name]
  properties:
    name: {type: string}
    count: {type: integer}
---
kind: Task
name: slow
runner: scripts
command: ./slow.sh
`)
	write(h.t, dir, "b-runner.yml", "kind: Runner\nname: scripts\nimage: alpine:3\ngitURL: "+h.gitURL+"\n")
	write(h.t, dir, "c-fail.json", `{"kind": "Task", "name": "fail", "runner": "scripts", "command": "./fail.sh", "synchronous": true}`)
	write(h.t, dir, "README.txt", "not a manifest")
	return dir
}

// unmarshal decodes JSON output or fails the test.
func unmarshal[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output %q is not the JSON wanted: %v", s, err)
	}
	return v
}
