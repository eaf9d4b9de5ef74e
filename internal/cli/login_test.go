package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const notLoggedIn = "Error: not logged in: run \"runplane login\" or set RUNPLANE_TOKEN\n"

func TestLogin(t *testing.T) {
	h := newHarness(t, false)
	cfgFile := filepath.Join(h.cfgDir, "runplane", "config.json")

	if got := h.fail("", "get", "runners", "--server", h.url); got != notLoggedIn {
		t.Errorf("get before login: stderr %q, want %q", got, notLoggedIn)
	}
	if got := h.fail("nope\n", "login", "--server", h.url, "-u", "root", "--password-stdin"); !strings.Contains(got, "(401)") {
		t.Errorf("login with a wrong password: stderr %q, want the server's 401", got)
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
	if !strings.HasPrefix(out, "Logged in to "+h.url+" as root") {
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
	cfg := unmarshal[map[string]string](t, mustRead(t, cfgFile))
	if cfg["server"] != h.url || cfg["token"] == "" || cfg["username"] != "root" {
		t.Errorf("config file = %v, want server %s, a token and username root", cfg, h.url)
	}

	// Later commands use the saved server and token.
	if out := h.ok("", "get", "runners"); !strings.HasPrefix(out, "NAME") {
		t.Errorf("get runners after login: %q", out)
	}
	// The saved token is never sent to another server.
	if got := h.fail("", "get", "runners", "--server", "http://127.0.0.1:1"); got != notLoggedIn {
		t.Errorf("get with another --server: stderr %q, want %q", got, notLoggedIn)
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
