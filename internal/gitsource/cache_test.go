package gitsource

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/testlog"
)

func newCache(t testing.TB, opts Options) *Cache {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testlog.New(t)
	}
	c, err := New(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readTree returns every file, dir and symlink under dir: path → content, "dir", or "-> target", with "*" after
// executable files.
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			got[rel] = "dir"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got[rel] = "-> " + target
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = string(b)
			if info.Mode().Perm()&0o100 != 0 {
				got[rel] += "*"
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCheckout(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"README": "hello", "bin/run.sh": "#!/bin/sh\necho run\n", "a/b/c.txt": "deep"})
	gittest.CommitBranch(t, bare, "dev", map[string]string{"README": "dev branch"})
	big := strings.Repeat("0123456789abcdef", 8<<10) // above the inline limit
	gittest.CommitBranch(t, bare, "big", map[string]string{"big.bin": big})
	c := newCache(t, Options{})

	tests := []struct {
		name   string
		branch string
		want   map[string]string
	}{
		{"default branch is main", "", map[string]string{"README": "hello", "bin": "dir", "bin/run.sh": "#!/bin/sh\necho run\n*", "a": "dir", "a/b": "dir", "a/b/c.txt": "deep"}},
		{"other branch", "dev", map[string]string{"README": "dev branch", "bin": "dir", "bin/run.sh": "#!/bin/sh\necho run\n*", "a": "dir", "a/b": "dir", "a/b/c.txt": "deep"}},
		{"large file", "big", map[string]string{"README": "hello", "bin": "dir", "bin/run.sh": "#!/bin/sh\necho run\n*", "a": "dir", "a/b": "dir", "a/b/c.txt": "deep", "big.bin": big}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "ws")
			commit, err := c.Checkout(t.Context(), executor.Repo{URL: gittest.URL(bare), Branch: tc.branch}, dst)
			if err != nil {
				t.Fatalf("Checkout: %v", err)
			}
			branch := tc.branch
			if branch == "" {
				branch = "main"
			}
			if want := gittest.Head(t, bare, branch); commit != want {
				t.Errorf("Checkout commit = %s, want %s", commit, want)
			}
			if diff := cmp.Diff(tc.want, readTree(t, dst)); diff != "" {
				t.Errorf("checkout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckoutSymlink(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"target.txt": "t"})
	// gittest has no symlink helper: build one in a work clone with plain git.
	work := t.TempDir()
	for _, args := range [][]string{
		{"clone", "-q", gittest.URL(bare), work},
		{"-C", work, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "x"},
	} {
		gitOK(t, args...)
	}
	if err := os.Symlink("target.txt", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	gitOK(t, "-C", work, "add", "link")
	gitOK(t, "-C", work, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "link")
	gitOK(t, "-C", work, "push", "-q", "origin", "main")

	c := newCache(t, Options{})
	dst := t.TempDir()
	if _, err := c.Checkout(t.Context(), executor.Repo{URL: gittest.URL(bare)}, dst); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"target.txt": "t", "link": "-> target.txt"}
	if diff := cmp.Diff(want, readTree(t, dst)); diff != "" {
		t.Errorf("checkout (-want +got):\n%s", diff)
	}
}

func gitOK(t *testing.T, args ...string) {
	t.Helper()
	inv := buildGit(t.TempDir(), "", args...)
	if out, err := inv.command(t.Context(), "").CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
}

func TestCheckoutMissingBranch(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"f": "x"})
	c := newCache(t, Options{})
	_, err := c.Checkout(t.Context(), executor.Repo{URL: gittest.URL(bare), Branch: "nope"}, t.TempDir())
	if !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("Checkout of a missing branch = %v, want ErrBranchNotFound", err)
	}
	if want := `branch "nope" not found in ` + gittest.URL(bare); err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestCheckoutInvalidInput(t *testing.T) {
	t.Parallel()
	c := newCache(t, Options{})
	tests := []struct {
		name string
		repo executor.Repo
	}{
		{"url is an option", executor.Repo{URL: "--upload-pack=touch /tmp/pwned"}},
		{"empty url", executor.Repo{URL: ""}},
		{"transport helper", executor.Repo{URL: "ext::sh -c touch% /tmp/pwned"}},
		{"control character", executor.Repo{URL: "https://example.com/\nrepo"}},
		{"branch is an option", executor.Repo{URL: "file:///nonexistent", Branch: "--foo"}},
		{"branch with ..", executor.Repo{URL: "file:///nonexistent", Branch: "a..b"}},
		{"branch with colon", executor.Repo{URL: "file:///nonexistent", Branch: "a:b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Checkout(t.Context(), tc.repo, t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "gitsource: ") {
				t.Errorf("Checkout(%+v) = %v, want a gitsource validation error", tc.repo, err)
			}
		})
	}
	if entries, _ := os.ReadDir(c.mirrors); len(entries) != 0 {
		t.Errorf("invalid input created mirrors: %v", entries)
	}
}

func TestCheckoutFetchesNewCommitsWithoutTTL(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"v": "1"})
	c := newCache(t, Options{})
	repo := executor.Repo{URL: gittest.URL(bare)}
	for _, v := range []string{"1", "2", "3"} {
		if v != "1" {
			gittest.Commit(t, bare, map[string]string{"v": v})
		}
		dst := t.TempDir()
		if _, err := c.Checkout(t.Context(), repo, dst); err != nil {
			t.Fatal(err)
		}
		if got := readTree(t, dst)["v"]; got != v {
			t.Errorf("after commit %s: v = %q, want %q", v, got, v)
		}
	}
}

func TestCheckoutTTL(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"v": "1"})
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newCache(t, Options{TTL: time.Minute, Now: clock})
	var probes, fetches atomic.Int32
	c.testHookProbe = func() error { probes.Add(1); return nil }
	c.testHookFetched = func() { fetches.Add(1) }
	repo := executor.Repo{URL: gittest.URL(bare)}
	check := func(step, want string, wantProbes, wantFetches int32) {
		t.Helper()
		dst := t.TempDir()
		if _, err := c.Checkout(t.Context(), repo, dst); err != nil {
			t.Fatal(err)
		}
		if got := readTree(t, dst)["v"]; got != want {
			t.Errorf("%s: v = %q, want %q", step, got, want)
		}
		if got := probes.Load(); got != wantProbes {
			t.Errorf("%s: %d probes, want %d", step, got, wantProbes)
		}
		if got := fetches.Load(); got != wantFetches {
			t.Errorf("%s: %d fetches, want %d", step, got, wantFetches)
		}
	}
	check("first", "1", 1, 1)
	gittest.Commit(t, bare, map[string]string{"v": "2"})
	advance(30 * time.Second)
	check("within TTL", "1", 1, 1)
	advance(31 * time.Second)
	check("after TTL", "2", 2, 2)
	check("fresh again", "2", 2, 2)
	advance(61 * time.Second)
	check("after TTL, unchanged", "2", 3, 2)
	// Another token is another key: it must ask the server itself (the probe does; the tree is there).
	repo.Token = "other"
	check("other token", "2", 4, 2)
}

// TestCheckoutCoalesces: callers arriving while a fetch runs do not reuse it (it may predate what they must
// see) but share exactly one next fetch. With a probe, they wait for the running fetch in case it brings the
// commit the probe saw, and share the next one when it does not.
func TestCheckoutCoalesces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		probe func() error
	}{
		{"probe fails", func() error { return errors.New("injected") }},
		{"probe works", func() error { return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bare := gittest.NewRepo(t, map[string]string{"v": "old"})
			c := newCache(t, Options{})
			c.testHookProbe = tc.probe
			var fetches atomic.Int32
			release := make(chan struct{})
			c.testHookFetched = func() {
				if fetches.Add(1) == 1 {
					<-release
				}
			}
			repo := executor.Repo{URL: gittest.URL(bare)}
			first := make(chan checkoutResult, 1)
			go checkoutV(t, c, repo, first)
			waitFor(t, func() bool { return fetches.Load() == 1 })

			gittest.Commit(t, bare, map[string]string{"v": "new"})
			const late = 6
			rest := make(chan checkoutResult, late)
			for range late {
				go checkoutV(t, c, repo, rest)
			}
			waitFor(t, func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				for _, br := range c.branches {
					if tc.name == "probe fails" {
						return br.fetch.next != nil && br.fetch.next.waiters == late
					}
					return br.fetch.cur.waiters == 1+late
				}
				return false
			})
			close(release)

			if r := <-first; r.err != nil || r.v != "old" {
				t.Errorf("first checkout = %q, %v; want %q (its fetch predates the commit)", r.v, r.err, "old")
			}
			for range late {
				if r := <-rest; r.err != nil || r.v != "new" {
					t.Errorf("late checkout = %q, %v; want %q", r.v, r.err, "new")
				}
			}
			if got := fetches.Load(); got != 2 {
				t.Errorf("%d fetches, want 2", got)
			}
		})
	}
}

type checkoutResult struct {
	v   string
	err error
}

// checkoutV checks repo out and sends the content of its file v.
func checkoutV(t *testing.T, c *Cache, repo executor.Repo, out chan<- checkoutResult) {
	dst := t.TempDir()
	if _, err := c.Checkout(t.Context(), repo, dst); err != nil {
		out <- checkoutResult{err: err}
		return
	}
	b, err := os.ReadFile(filepath.Join(dst, "v"))
	out <- checkoutResult{string(b), err}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCheckoutConcurrentRepos(t *testing.T) {
	t.Parallel()
	c := newCache(t, Options{})
	var repos []string
	for i := range 4 {
		repos = append(repos, gittest.NewRepo(t, map[string]string{"id": string(rune('a' + i))}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			bare := repos[i%len(repos)]
			dst := t.TempDir()
			if _, err := c.Checkout(t.Context(), executor.Repo{URL: gittest.URL(bare)}, dst); err != nil {
				errs <- err
				return
			}
			b, err := os.ReadFile(filepath.Join(dst, "id"))
			if want := string(rune('a' + i%len(repos))); err != nil || string(b) != want {
				errs <- errors.New("checkout " + bare + ": id = " + string(b) + ", want " + want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	entries, err := os.ReadDir(c.mirrors)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(repos) {
		t.Errorf("%d mirrors, want %d", len(entries), len(repos))
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), "repo") || strings.Contains(e.Name(), "/") {
			t.Errorf("mirror dir %q looks derived from the URL, want a hash", e.Name())
		}
	}
}

func TestCheckoutIsACopy(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"f": "orig"})
	c := newCache(t, Options{TTL: time.Hour})
	repo := executor.Repo{URL: gittest.URL(bare)}
	first := t.TempDir()
	if _, err := c.Checkout(t.Context(), repo, first); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(first, "f"), []byte("changed by a job"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := t.TempDir()
	if _, err := c.Checkout(t.Context(), repo, second); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, second)["f"]; got != "orig" {
		t.Errorf("second checkout f = %q after the first was modified, want %q", got, "orig")
	}
}

func TestTreesAreCollected(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"v": "0"})
	c := newCache(t, Options{KeepTrees: 2})
	repo := executor.Repo{URL: gittest.URL(bare)}
	for i := range 5 {
		gittest.Commit(t, bare, map[string]string{"v": string(rune('1' + i))})
		if _, err := c.Checkout(t.Context(), repo, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	dirs, err := filepath.Glob(filepath.Join(c.trees, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 {
		t.Errorf("extracted trees = %v, want the last 2", dirs)
	}
}

func TestCheckoutCanceled(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"f": "x"})
	c := newCache(t, Options{})
	release := make(chan struct{})
	var fetches atomic.Int32
	c.testHookFetched = func() {
		if fetches.Add(1) == 1 {
			<-release
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Checkout(ctx, executor.Repo{URL: gittest.URL(bare)}, t.TempDir())
		errc <- err
	}()
	waitFor(t, func() bool { return fetches.Load() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Checkout with a canceled context = %v, want context.Canceled", err)
	}
	close(release)
	// The abandoned fetch ends; a new checkout works.
	dst := t.TempDir()
	if _, err := c.Checkout(t.Context(), executor.Repo{URL: gittest.URL(bare)}, dst); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dst)["f"]; got != "x" {
		t.Errorf("f = %q, want %q", got, "x")
	}
}
