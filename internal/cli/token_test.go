package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestToken(t *testing.T) {
	h := newHarness(t, true)
	if got := h.fail("", "token", "create", "--expires", "30d"); !strings.Contains(got, "--description is required") {
		t.Errorf("token create without --description: stderr %q", got)
	}
	r := h.run("", "token", "create", "--description", "ci", "--expires", "30d")
	if r.code != 0 {
		t.Fatalf("token create: exit %d, stderr %s", r.code, r.stderr)
	}
	key := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(key, "rpat_") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("token create stdout %q, want the key alone on one line", r.stdout)
	}
	if !strings.Contains(r.stderr, "will not be shown again") || strings.Contains(r.stderr, key) {
		t.Errorf("token create stderr %q, want a warning that the key is shown once, without the key", r.stderr)
	}

	tokens := unmarshal[[]api.APIToken](t, h.ok("", "token", "list", "-o", "json"))
	if len(tokens) != 1 || tokens[0].Description != "ci" || tokens[0].Key != "" || tokens[0].Expires == nil {
		t.Fatalf("token list = %+v, want the one token, no key, an expiry", tokens)
	}
	tok := tokens[0]
	if d := time.Until(*tok.Expires); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("token expires in %v, want 30 days", d)
	}
	wantRows := [][]string{{"ID", "DESCRIPTION", "ENABLED", "EXPIRES"},
		{tok.ID, "ci", "true", tok.Expires.UTC().Format(time.RFC3339)}}
	for _, args := range [][]string{{"get", "tokens"}, {"token", "list"}, {"get", "token", tok.ID}} {
		if got := table(h.ok("", args...)); !cmp.Equal(got, wantRows) {
			t.Errorf("%v = %v, want %v", args, got, wantRows)
		}
	}
	all := table(h.ok("", "get", "tokens", "--all"))
	if len(all) != 2 || all[0][len(all[0])-1] != "OWNER" || all[1][len(all[1])-1] != "root" {
		t.Errorf("get tokens --all = %v, want one token owned by root", all)
	}

	// The key works as --token and RUNPLANE_TOKEN, sent as the Token header, with no config file at all.
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	h.ok("", "get", "runners", "--server", h.url, "--token", key)
	t.Setenv("RUNPLANE_SERVER", h.url)
	t.Setenv("RUNPLANE_TOKEN", key)
	h.ok("", "get", "users")
	t.Setenv("RUNPLANE_TOKEN", "")

	// login --token checks and saves it.
	if got := h.fail("", "login", "--token", "rpat_nope"); !strings.Contains(got, "(401)") {
		t.Errorf("login --token with a bad key: stderr %q, want the 401", got)
	}
	if got := h.fail("", "login", "--token", key, "-u", "root"); !strings.Contains(got, "--token replaces the username and password") {
		t.Errorf("login --token -u: stderr %q", got)
	}
	out := h.ok("", "login", "--token", key)
	if !strings.HasPrefix(out, "Logged in to "+h.url+" with an API token") {
		t.Errorf("login --token stdout %q", out)
	}
	cfg := savedContext(t, filepath.Join(home, "runplane", "config.json"))
	if cfg["token"] != key || cfg["server"] != h.url {
		t.Errorf("config after login --token = %v", cfg)
	}
	if got := table(h.ok("", "get", "tokens")); !cmp.Equal(got, wantRows) {
		t.Errorf("get tokens with the saved API token = %v", got)
	}

	// Deleting the token stops it at once.
	if got, want := h.ok("", "token", "delete", tok.ID), "token/"+tok.ID+" deleted\n"; got != want {
		t.Errorf("token delete: %q, want %q", got, want)
	}
	if got := h.fail("", "get", "runners"); !strings.Contains(got, "(401)") {
		t.Errorf("get runners with a deleted token: stderr %q, want 401", got)
	}
}

func TestTokenErrors(t *testing.T) {
	h := newHarness(t, true)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad expiry", []string{"token", "create", "--description", "x", "--expires", "soon"},
			"Error: --expires: \"soon\" is not a duration (720h, 30d), a date (2027-01-01) or an RFC 3339 time\nRun 'runplane token create --help' for usage.\n"},
		{"past expiry", []string{"token", "create", "--description", "x", "--expires", "2020-01-01"},
			"Error: --expires: 2020-01-01T00:00:00Z is in the past\nRun 'runplane token create --help' for usage.\n"},
		{"no subcommand", []string{"token"}, "Error: name a subcommand: create, list or delete\nRun 'runplane token --help' for usage.\n"},
		{"delete nothing", []string{"token", "delete"}, "Error: requires at least 1 arg(s), only received 0\nRun 'runplane token delete --help' for usage.\n"},
		{"delete missing", []string{"token", "delete", "nope"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			got := h.fail("", tt.args...)
			if tt.want == "" {
				if !strings.HasSuffix(got, "(404)\n") {
					t.Errorf("%v: stderr %q, want the 404", tt.args, got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("%v: stderr %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	h := newHarness(t, true)
	cfgFile := filepath.Join(h.cfgDir, "runplane", "config.json")
	if got, want := h.ok("", "logout"), "Logged out of "+h.url+"\n"; got != want {
		t.Errorf("logout: %q, want %q", got, want)
	}
	cfg := savedContext(t, cfgFile)
	if cfg["server"] != h.url || cfg["token"] != "" || cfg["username"] != "" {
		t.Errorf("config after logout = %v, want the server and no token", cfg)
	}
	if got := h.fail("", "get", "runners"); !strings.HasPrefix(got, strings.TrimSuffix(notLoggedIn, "\n")) {
		t.Errorf("get after logout: stderr %q, want %q", got, notLoggedIn)
	}
	if got, want := h.ok("", "logout"), "Not logged in to "+h.url+"\n"; got != want {
		t.Errorf("second logout: %q, want %q", got, want)
	}

	// A server that cannot be reached: the token is forgotten all the same.
	h.ok(rootPassword+"\n", "login", "--server", h.url, "-u", "root", "--password-stdin")
	cfg = savedContext(t, cfgFile)
	write(t, filepath.Dir(cfgFile), "config.json", `{"server":"http://127.0.0.1:1","token":"`+cfg["token"]+`"}`)
	r := h.run("", "logout")
	if r.code != 0 || !strings.Contains(r.stderr, "Warning: the server was not told") {
		t.Errorf("logout from a server that is down: exit %d, stderr %q", r.code, r.stderr)
	}
	if cfg := savedContext(t, cfgFile); cfg["token"] != "" {
		t.Errorf("config after logout from a server that is down = %v, want no token", cfg)
	}
}
