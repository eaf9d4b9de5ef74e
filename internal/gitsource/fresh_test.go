package gitsource

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/testlog"
)

// TestCheckoutFresh: with TTL 0, a checkout of a branch that has not moved fetches nothing, and the very next
// checkout after a commit sees it.
func TestCheckoutFresh(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"file", "http"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			bare := gittest.NewRepo(t, map[string]string{"v": "1"})
			repo := executor.Repo{URL: gittest.URL(bare)}
			if transport == "http" {
				repo = executor.Repo{URL: gittest.ServeHTTP(t, bare, "", testToken), Token: testToken}
			}
			c := newCache(t, Options{})
			var fetches atomic.Int32
			c.testHookFetched = func() { fetches.Add(1) }
			steps := []struct {
				name        string
				commit      string // new content of v before the checkout, "" for none
				wantFetches int32
			}{
				{"first", "", 1},
				{"unchanged", "", 1},
				{"unchanged again", "", 1},
				{"after a commit", "2", 2},
				{"unchanged after the commit", "", 2},
				{"after another commit", "3", 3},
			}
			want := "1"
			for _, step := range steps {
				if step.commit != "" {
					gittest.Commit(t, bare, map[string]string{"v": step.commit})
					want = step.commit
				}
				dst := t.TempDir()
				commit, err := c.Checkout(t.Context(), repo, dst)
				if err != nil {
					t.Fatalf("%s: Checkout: %v", step.name, err)
				}
				if head := gittest.Head(t, bare, "main"); commit != head {
					t.Errorf("%s: Checkout = %s, want the head %s", step.name, commit, head)
				}
				if got := readTree(t, dst)["v"]; got != want {
					t.Errorf("%s: v = %q, want %q", step.name, got, want)
				}
				if got := fetches.Load(); got != step.wantFetches {
					t.Errorf("%s: %d fetches, want %d", step.name, got, step.wantFetches)
				}
			}
		})
	}
}

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProbeHTTP(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"f": "x"})
	gittest.CommitBranch(t, bare, "dev", map[string]string{"f": "dev"})
	public := gittest.ServeHTTP(t, bare, "", "")
	private := gittest.ServeHTTP(t, bare, TokenUser, testToken)
	encoded := base64.StdEncoding.EncodeToString([]byte(TokenUser + ":" + testToken))
	tests := []struct {
		name         string
		repo         executor.Repo
		branch       string
		wantProbe    bool // else the probe fails and the checkout fetches
		wantCheckout bool
	}{
		{"public", executor.Repo{URL: public}, "main", true, true},
		{"public other branch", executor.Repo{URL: public}, "dev", true, true},
		{"public trailing slash", executor.Repo{URL: public + "/"}, "main", true, true},
		{"public with token", executor.Repo{URL: public, Token: testToken}, "main", true, true},
		{"token", executor.Repo{URL: private, Token: testToken}, "main", true, true},
		{"password in URL", executor.Repo{URL: strings.Replace(private, "http://", "http://"+TokenUser+":"+testToken+"@", 1)}, "main", true, true},
		{"bad token", executor.Repo{URL: private, Token: "wrong-" + testToken}, "main", false, false},
		{"no token", executor.Repo{URL: private}, "main", false, false},
		{"missing branch", executor.Repo{URL: public}, "nope", false, false},
		{"not a repository", executor.Repo{URL: strings.TrimSuffix(public, "repo.git") + "nothing.git"}, "main", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			c := newCache(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			got, err := c.probe(t.Context(), tc.repo, tc.branch)
			if tc.wantProbe {
				if want := gittest.Head(t, bare, tc.branch); err != nil || got != want {
					t.Errorf("probe = %q, %v; want %q", got, err, want)
				}
			} else if err == nil {
				t.Errorf("probe = %q, want an error", got)
			}

			// What the probe cannot tell, the fetch does, with git's error.
			var fetches atomic.Int32
			c.testHookFetched = func() { fetches.Add(1) }
			repo := tc.repo
			repo.Branch = tc.branch
			texts := []string{fmtErr(err)}
			for range 2 {
				_, err := c.Checkout(t.Context(), repo, t.TempDir())
				if (err == nil) != tc.wantCheckout {
					t.Errorf("Checkout = %v, want ok %v", err, tc.wantCheckout)
				} else if err != nil && tc.name == "bad token" && !strings.HasPrefix(err.Error(), "gitsource: fetch ") {
					t.Errorf("Checkout with a bad token = %v, want the fetch's error", err)
				}
				texts = append(texts, fmtErr(err))
			}
			if tc.wantProbe && fetches.Load() != 1 {
				t.Errorf("two checkouts fetched %d times, want once", fetches.Load())
			}
			for _, text := range append(texts, logs.String()) {
				if strings.Contains(text, testToken) || strings.Contains(text, encoded) {
					t.Errorf("%q contains a secret", text)
				}
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCheckoutSpawnsNoGit counts git processes with a shim first in PATH: checkouts of an unchanged branch run
// none after the first; a commit makes the next checkout fetch.
func TestCheckoutSpawnsNoGit(t *testing.T) {
	realGit := gitPath(t)
	bin := t.TempDir()
	logf := filepath.Join(t.TempDir(), "spawns")
	shim := "#!/bin/sh\necho \"$*\" >> " + logf + "\nexec " + realGit + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	spawns := func() (all, fetches int) {
		b, err := os.ReadFile(logf)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			all++
			if strings.Contains(line, " fetch ") {
				fetches++
			}
		}
		return all, fetches
	}

	bare := gittest.NewRepo(t, map[string]string{"v": "1"})
	c := newCache(t, Options{})
	repo := executor.Repo{URL: gittest.URL(bare)}
	checkout := func() {
		t.Helper()
		if _, err := c.Checkout(t.Context(), repo, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	checkout()
	if _, fetches := spawns(); fetches != 1 {
		t.Fatalf("first checkout: %d git fetch processes, want 1 (is the shim in use?)", fetches)
	}
	before, _ := spawns()
	const n = 20
	for range n {
		checkout()
	}
	if after, _ := spawns(); after != before {
		t.Errorf("%d checkouts of an unchanged branch spawned %d git processes, want 0", n, after-before)
	}
	gittest.Commit(t, bare, map[string]string{"v": "2"})
	checkout()
	if _, fetches := spawns(); fetches != 2 {
		t.Errorf("checkout after a commit: %d git fetch processes in all, want 2", fetches)
	}
}

// TestCheckoutFromMirrorWithoutFetch: when the tree is gone (a restart, eviction) but the mirror's branch is at
// the head, the tree is extracted again without a fetch.
func TestCheckoutFromMirrorWithoutFetch(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"v": "main"})
	gittest.CommitBranch(t, bare, "dev", map[string]string{"v": "dev"})
	dir := t.TempDir()
	open := func() (*Cache, *atomic.Int32) {
		c, err := New(dir, Options{KeepTrees: 1, Logger: testlog.New(t)})
		if err != nil {
			t.Fatal(err)
		}
		var fetches atomic.Int32
		c.testHookFetched = func() { fetches.Add(1) }
		return c, &fetches
	}
	check := func(c *Cache, fetches *atomic.Int32, step, branch string, wantFetches int32) {
		t.Helper()
		dst := t.TempDir()
		commit, err := c.Checkout(t.Context(), executor.Repo{URL: gittest.URL(bare), Branch: branch}, dst)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if want := gittest.Head(t, bare, branch); commit != want {
			t.Errorf("%s: Checkout = %s, want %s", step, commit, want)
		}
		if got := readTree(t, dst)["v"]; got != branch {
			t.Errorf("%s: v = %q, want %q", step, got, branch)
		}
		if got := fetches.Load(); got != wantFetches {
			t.Errorf("%s: %d fetches, want %d", step, got, wantFetches)
		}
	}
	c, fetches := open()
	check(c, fetches, "main", "main", 1)
	check(c, fetches, "dev, evicting main's tree", "dev", 2)
	check(c, fetches, "main again", "main", 2)
	c, fetches = open()
	check(c, fetches, "after a restart", "dev", 0)
}

// TestProbesCoalesce: callers arriving while an HTTP probe runs share the next probe; and as the probe sees the
// commit the running fetch brings, they share that fetch too. (Local probes are not shared: they cost less than
// sharing.)
func TestProbesCoalesce(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"v": "1"})
	url := gittest.ServeHTTP(t, bare, "", "")
	c := newCache(t, Options{})
	var probes, fetches atomic.Int32
	release := make(chan struct{})
	c.testHookProbe = func() error {
		if probes.Add(1) == 1 {
			<-release
		}
		return nil
	}
	c.testHookFetched = func() { fetches.Add(1) }
	repo := executor.Repo{URL: url}
	first := make(chan checkoutResult, 1)
	go checkoutV(t, c, repo, first)
	waitFor(t, func() bool { return probes.Load() == 1 })

	const late = 8
	rest := make(chan checkoutResult, late)
	for range late {
		go checkoutV(t, c, repo, rest)
	}
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, br := range c.branches {
			return br.probe.next != nil && br.probe.next.waiters == late
		}
		return false
	})
	close(release)
	for range 1 + late {
		var r checkoutResult
		select {
		case r = <-first:
		case r = <-rest:
		}
		if r.err != nil || r.v != "1" {
			t.Errorf("checkout = %q, %v; want %q", r.v, r.err, "1")
		}
	}
	if got := probes.Load(); got != 2 {
		t.Errorf("%d probes, want 2", got)
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("%d fetches, want 1", got)
	}
}
