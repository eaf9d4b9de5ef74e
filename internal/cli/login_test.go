package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/server/servertest"
)

const notLoggedIn = "Error: not logged in: run \"runplane login\" or set RUNPLANE_TOKEN\n"

func TestLogin(t *testing.T) {
	h := newHarness(t, false)
	cfgFile := filepath.Join(h.cfgDir, "runplane", "config.json")

	if got := h.fail("", "get", "runners", "--server", h.url); got != notLoggedIn {
		t.Errorf("get before login: stderr %q, want %q", got, notLoggedIn)
	}
	if got := h.fail("nope\n", "login", "--server", h.url, "-u", "root", "--password-stdin"); !strings.Contains(got, "wrong username or password") || strings.Contains(got, "login again") {
		t.Errorf("login with a wrong password: stderr %q, want it said plainly, without a hint to log in again", got)
	}
	if got := h.fail("", "login", "--server", h.url, "--password-stdin"); !strings.Contains(got, "--username is required") {
		t.Errorf("login without -u: stderr %q", got)
	}
	if got := h.fail("\n", "login", "--server", h.url, "-u", "root", "--password-stdin"); !strings.Contains(got, "password is empty") {
		t.Errorf("login with an empty password: stderr %q", got)
	}
	if _, err := os.Stat(cfgFile); !os.IsNotExist(err) {
		t.Fatalf("failed logins wrote %s (stat: %v)", cfgFile, err)
	}

	// Without --password-stdin a non-terminal stdin still gives one line.
	out := h.ok(rootPassword+"\n", "login", "--server", h.url+"/", "-u", "root")
	if !strings.HasPrefix(out, "Logged in to "+h.url+" as root (context 127.0.0.1:") {
		t.Errorf("login stdout %q", out)
	}
	for path, want := range map[string]os.FileMode{cfgFile: 0o600, filepath.Dir(cfgFile): 0o700 | os.ModeDir} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", path, st.Mode(), want)
		}
	}
	cfg := savedContext(t, cfgFile)
	if cfg["server"] != h.url || cfg["token"] == "" || cfg["username"] != "root" {
		t.Errorf("config file = %v, want server %s, a token and username root", cfg, h.url)
	}

	// Later commands use the saved server and token.
	if out := h.ok("", "get", "runners"); !strings.HasPrefix(out, "NAME") {
		t.Errorf("get runners after login: %q", out)
	}
	// The saved token is never sent to another server.
	if got := h.fail("", "get", "runners", "--server", "http://127.0.0.1:1"); !strings.HasPrefix(got, strings.TrimSuffix(notLoggedIn, "\n")) ||
		!strings.Contains(got, "no saved login for http://127.0.0.1:1; saved: 127.0.0.1:") {
		t.Errorf("get with another --server: stderr %q, want %q naming the saved servers", got, notLoggedIn)
	}
	// The same server spelt another way is no stranger.
	if out := h.ok("", "get", "runners", "--server", strings.Replace(h.url, "127.0.0.1", "localhost", 1)+"/api/v1/"); !strings.HasPrefix(out, "NAME") {
		t.Errorf("get runners with localhost for 127.0.0.1: %q", out)
	}

	// Env and flags work without a config file, and win over it.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RUNPLANE_SERVER", h.url)
	if got := h.fail("", "get", "tasks"); got != notLoggedIn {
		t.Errorf("get with an empty config: stderr %q, want %q", got, notLoggedIn)
	}
	t.Setenv("RUNPLANE_TOKEN", cfg["token"])
	h.ok("", "get", "tasks")
	h.ok("", "get", "tasks", "--token", cfg["token"])
	if got := h.fail("", "get", "tasks", "--token", "garbage"); !strings.Contains(got, "(401)") || !strings.Contains(got, "runplane login") {
		t.Errorf("get with a bad token: stderr %q, want the 401 and a hint to log in", got)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// savedContext reads the config file's current context as a map of its fields.
func savedContext(t *testing.T, path string) map[string]string {
	t.Helper()
	cfg := unmarshal[struct {
		Current  string                       `json:"current"`
		Contexts map[string]map[string]string `json:"contexts"`
	}](t, mustRead(t, path))
	return cfg.Contexts[cfg.Current]
}

// TestContexts: each login saves a named context; commands use the current one, or the one --context or
// RUNPLANE_CONTEXT names; list, use, current and delete manage them.
func TestContexts(t *testing.T) {
	h := newHarness(t, false)
	other := servertest.Start(t)
	h.ok(rootPassword+"\n", "login", "--server", h.url, "-u", "root", "--password-stdin", "--context", "dev")
	h.ok(rootPassword+"\n", "login", "--server", other, "-u", "root", "--password-stdin", "--context", "prod")
	h.ok("", "apply", "-f", h.manifests()) // on prod, the current context
	if got := h.ok("", "context", "current"); got != "prod\n" {
		t.Errorf("context current = %q, want prod", got)
	}
	rows := table(h.ok("", "context", "list"))
	want := [][]string{{"CURRENT", "NAME", "SERVER", "USER"}, {"dev", h.url, "root"}, {"*", "prod", other, "root"}}
	if !cmp.Equal(rows, want) {
		t.Errorf("context list = %v, want %v", rows, want)
	}
	hasRunner := func(args ...string) bool {
		return strings.Contains(h.ok("", append([]string{"get", "runners"}, args...)...), "scripts")
	}
	if !hasRunner() || hasRunner("--context", "dev") {
		t.Error("apply did not go to the current context (prod) only")
	}
	t.Setenv("RUNPLANE_CONTEXT", "dev")
	if hasRunner() {
		t.Error("RUNPLANE_CONTEXT=dev still reached prod")
	}
	t.Setenv("RUNPLANE_CONTEXT", "")
	if got := h.ok("", "context", "use", "dev"); got != "Switched to context dev ("+h.url+")\n" {
		t.Errorf("context use dev = %q", got)
	}
	if hasRunner() || !hasRunner("--server", other) {
		t.Error("after context use dev: commands did not follow, or --server did not find prod's token")
	}
	if got := h.fail("", "get", "runners", "--context", "nope"); !strings.Contains(got, `no context "nope"; saved: dev (`+h.url+"), prod ("+other+")") {
		t.Errorf("unknown context: stderr %q, want the saved ones named", got)
	}
	if got := h.fail("", "context", "use", "nope"); !strings.Contains(got, `no context "nope"`) {
		t.Errorf("context use nope: stderr %q", got)
	}
	h.ok("", "context", "delete", "dev")
	if got := h.fail("", "context", "current"); !strings.Contains(got, "no current context") {
		t.Errorf("context current after deleting it: %q", got)
	}
	if !hasRunner("--context", "prod") {
		t.Error("prod lost with dev")
	}
}

// TestServerWithoutScheme: a server URL without a scheme says what it wants, before anything else.
func TestServerWithoutScheme(t *testing.T) {
	h := newHarness(t, false)
	for _, srv := range []string{"localhost:8080", "127.0.0.1"} {
		got := h.fail("", "get", "tasks", "--server", srv, "--token", "rpat_x")
		if !strings.Contains(got, "want http://host[:port] or https://host[:port]") {
			t.Errorf("--server %s: stderr %q, want the URL form asked for", srv, got)
		}
	}
}
