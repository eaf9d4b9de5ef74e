package gitsource

import (
	"errors"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestHeadSharesProbes: within the TTL Head reuses the last answer, as checkouts do; callers asking at once share
// one probe; without a TTL each call asks the server again.
func TestHeadSharesProbes(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"a": "1"})
	repo := executor.Repo{URL: gittest.ServeHTTP(t, bare, "", "")}
	for _, tc := range []struct {
		name       string
		ttl        time.Duration
		calls      int
		concurrent bool
		wantMax    int64
		wantMin    int64
	}{
		{"TTL, one after another", time.Minute, 5, false, 1, 1},
		{"no TTL, one after another", 0, 3, false, 3, 3},
		{"no TTL, at once", 0, 20, true, 5, 1},
	} {
		c := newCache(t, Options{TTL: tc.ttl})
		var probes atomic.Int64
		c.testHookProbe = func() error {
			probes.Add(1)
			time.Sleep(20 * time.Millisecond) // long enough for callers to arrive meanwhile
			return nil
		}
		var wg sync.WaitGroup
		for range tc.calls {
			call := func() {
				if _, err := c.Head(t.Context(), repo); err != nil {
					t.Errorf("%s: Head: %v", tc.name, err)
				}
			}
			if tc.concurrent {
				wg.Go(call)
			} else {
				call()
			}
		}
		wg.Wait()
		if n := probes.Load(); n < tc.wantMin || n > tc.wantMax {
			t.Errorf("%s: %d calls made %d probes, want %d to %d", tc.name, tc.calls, n, tc.wantMin, tc.wantMax)
		}
	}
}
