package gitsource

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

const testToken = "tok-3f9c1b7e-very-secret"

func TestBuildGitKeepsTokenOutOfArgv(t *testing.T) {
	t.Parallel()
	inv := buildGit("/home", testToken, "fetch", "--", "https://example.com/r.git", "+refs/heads/main:refs/heads/main")
	encoded := base64.StdEncoding.EncodeToString([]byte(TokenUser + ":" + testToken))
	for _, a := range inv.argv {
		if strings.Contains(a, testToken) || strings.Contains(a, encoded) {
			t.Errorf("argv element %q carries the token", a)
		}
	}
	wantEnv := map[string]bool{
		"GIT_CONFIG_COUNT=1":                          true,
		"GIT_CONFIG_KEY_0=http.extraHeader":           true,
		"GIT_CONFIG_VALUE_0=" + authHeader(testToken): true,
		"GIT_TERMINAL_PROMPT=0":                       true,
		"GIT_CONFIG_NOSYSTEM=1":                       true,
		"HOME=/home":                                  true,
	}
	for _, kv := range inv.env {
		delete(wantEnv, kv)
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "PATH", "HOME", "LC_ALL", "GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_ASKPASS",
			"SSH_ASKPASS", "GIT_SSH_COMMAND", "GIT_ATTR_NOSYSTEM", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0":
		default:
			t.Errorf("unexpected env %q", kv)
		}
	}
	for kv := range wantEnv {
		t.Errorf("env lacks %q", kv)
	}
	if got := buildGit("/home", "", "fetch").env; strings.Contains(strings.Join(got, "\n"), "GIT_CONFIG_COUNT") {
		t.Errorf("env without token = %q, want no extra header", got)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	encoded := base64.StdEncoding.EncodeToString([]byte(TokenUser + ":" + testToken))
	tests := []struct{ in, want string }{
		{"fatal: Authentication failed for 'https://example.com/r.git/'", "fatal: Authentication failed for 'https://example.com/r.git/'"},
		{"fatal: unable to access 'https://bob:hunter2@example.com/r.git/': 403", "fatal: unable to access 'https://example.com/r.git/': 403"},
		{"header Authorization: Basic " + encoded, "header Authorization: Basic [redacted]"},
		{"token " + testToken + " rejected", "token [redacted] rejected"},
	}
	for _, tc := range tests {
		if got := Scrub(tc.in, testToken); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://example.com/r.git", "https://example.com/r.git"},
		{"https://bob:hunter2@example.com/r.git", "https://example.com/r.git"},
		{"https://tok@example.com/r.git", "https://example.com/r.git"},
		{"file:///srv/r.git", "file:///srv/r.git"},
		{"git@example.com:r.git", "git@example.com:r.git"},
	}
	for _, tc := range tests {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPrivateRepoOverHTTP(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"private.txt": "classified"})
	url := gittest.ServeHTTP(t, bare, TokenUser, testToken)
	encoded := base64.StdEncoding.EncodeToString([]byte(TokenUser + ":" + testToken))

	tests := []struct {
		name   string
		repo   executor.Repo
		wantOK bool
	}{
		{"good token", executor.Repo{URL: url, Token: testToken}, true},
		{"bad token", executor.Repo{URL: url, Token: "wrong-" + testToken}, false},
		{"no token", executor.Repo{URL: url}, false},
		{"bad password in url", executor.Repo{URL: strings.Replace(url, "http://", "http://"+TokenUser+":"+testToken+"x@", 1)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t, Options{})
			dst := t.TempDir()
			_, err := c.Checkout(t.Context(), tc.repo, dst)
			if (err == nil) != tc.wantOK {
				t.Fatalf("Checkout ok = %v (%v), want %v", err == nil, err, tc.wantOK)
			}
			if err != nil {
				for _, secret := range []string{testToken, encoded} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains a secret", err)
					}
				}
				t.Logf("error: %v", err)
				return
			}
			if got := readTree(t, dst)["private.txt"]; got != "classified" {
				t.Errorf("private.txt = %q, want %q", got, "classified")
			}
			// The token is in no file of the cache (mirror config, FETCH_HEAD, logs, ...).
			assertNoSecretInDir(t, c.dir, testToken, encoded)
		})
	}
}

func assertNoSecretInDir(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains a secret", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGitArgvNeverHoldsToken puts a git shim first in PATH that records what the kernel shows for it in
// /proc/self/cmdline, then runs a private checkout.
func TestGitArgvNeverHoldsToken(t *testing.T) {
	realGit := gitPath(t)
	bin := t.TempDir()
	logf := filepath.Join(t.TempDir(), "cmdlines")
	shim := "#!/bin/sh\ncat /proc/$$/cmdline >> " + logf + "\necho >> " + logf + "\nexec " + realGit + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))

	bare := gittest.NewRepo(t, map[string]string{"f": "x"})
	url := gittest.ServeHTTP(t, bare, "", testToken)
	c := newCache(t, Options{})
	if _, err := c.Checkout(t.Context(), executor.Repo{URL: url, Token: testToken}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "fetch") {
		t.Fatalf("shim saw no fetch: %q", b)
	}
	if strings.Contains(string(b), testToken) || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(TokenUser+":"+testToken))) {
		t.Errorf("git's cmdline carried the token: %q", b)
	}
}

func gitPath(t *testing.T) string {
	t.Helper()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, "git")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	t.Fatal("git not found in PATH")
	return ""
}
