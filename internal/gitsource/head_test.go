package gitsource

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

func TestHead(t *testing.T) {
	c := newCache(t, Options{})
	bare := gittest.NewRepo(t, map[string]string{"a": "1"})
	gittest.CommitBranch(t, bare, "dev", map[string]string{"a": "2"})
	rev := func(branch string) string {
		out, err := exec.Command("git", "--git-dir", bare, "rev-parse", "refs/heads/"+branch).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	const token = "head-token-never-shown"
	httpURL := gittest.ServeHTTP(t, bare, "", token)
	tests := []struct {
		name string
		repo executor.Repo
		want string
	}{
		{"file, default branch", executor.Repo{URL: gittest.URL(bare)}, rev("main")},
		{"file, branch", executor.Repo{URL: gittest.URL(bare), Branch: "dev"}, rev("dev")},
		{"http with token", executor.Repo{URL: httpURL, Branch: "dev", Token: token}, rev("dev")},
		// git:// and ssh are never probed; a path with a trailing slash defeats the probe too, so git answers.
		{"git ls-remote", executor.Repo{URL: bare + "/", Branch: "dev"}, rev("dev")},
	}
	for _, tc := range tests {
		if got, err := c.Head(t.Context(), tc.repo); err != nil || got != tc.want {
			t.Errorf("%s: Head = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	bad := []struct {
		name string
		repo executor.Repo
	}{
		{"missing branch, probed", executor.Repo{URL: httpURL, Branch: "nope", Token: token}},
		{"missing branch, file", executor.Repo{URL: gittest.URL(bare), Branch: "nope"}},
		{"missing branch, ls-remote", executor.Repo{URL: bare + "/", Branch: "nope"}},
	}
	for _, tc := range bad {
		_, err := c.Head(t.Context(), tc.repo)
		if !errors.Is(err, ErrBranchNotFound) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("%s: Head = %v, want a branch-not-found error naming it", tc.name, err)
		}
	}
	for _, r := range []executor.Repo{{URL: ""}, {URL: "-oProxy=x"}, {URL: gittest.URL(bare), Branch: "a..b"}} {
		if _, err := c.Head(t.Context(), r); err == nil {
			t.Errorf("Head(%+v) = nil error, want one", r)
		}
	}
	if _, err := c.Head(t.Context(), executor.Repo{URL: httpURL, Token: "wrong-" + token}); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("Head with a wrong token = %v; want an error without the token", err)
	}
}
