package gitsource

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/testlog"
)

// needRoot skips a test that needs root, unless it runs in CI, where it must run.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("CI") == "" {
		t.Skip("needs root (runs in CI)")
	}
}

// recordGit makes c record the environment of every git command it runs.
func recordGit(c *Cache) func() [][]string {
	var mu sync.Mutex
	var envs [][]string
	c.testHookGit = func(inv gitInvocation) {
		mu.Lock()
		defer mu.Unlock()
		envs = append(envs, append([]string{strings.Join(inv.argv, " ")}, inv.env...))
	}
	return func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return envs
	}
}

func TestTokenOnlyForHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string
	}{
		{"https://example.com/r.git", testToken},
		{"HTTP://example.com/r.git", testToken},
		{"file:///srv/r.git", ""},
		{"/srv/r.git", ""},
		{"ssh://git@example.com/r.git", ""},
		{"git@example.com:r.git", ""},
		{"git://example.com/r.git", ""},
	}
	for _, tc := range tests {
		if got := tokenFor(tc.url, testToken); got != tc.want {
			t.Errorf("tokenFor(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestFileFetchEnvHasNoToken: a file:// fetch (and ls-remote) runs upload-pack of a repository on this host;
// the token must not be in its environment.
func TestFileFetchEnvHasNoToken(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"f": "x"})
	for _, url := range []string{gittest.URL(bare), bare} {
		c := newCache(t, Options{})
		envs := recordGit(c)
		repo := executor.Repo{URL: url, Token: testToken}
		if _, err := c.Checkout(t.Context(), repo, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		gittest.Commit(t, bare, map[string]string{"f": "y"})
		if _, err := c.Checkout(t.Context(), repo, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		sawFetch := false
		for _, env := range envs() {
			sawFetch = sawFetch || strings.Contains(env[0], " fetch ")
			for _, kv := range env[1:] {
				if strings.HasPrefix(kv, "GIT_CONFIG_") && kv != "GIT_CONFIG_NOSYSTEM=1" && kv != "GIT_CONFIG_GLOBAL=/dev/null" || strings.Contains(kv, testToken) {
					t.Errorf("%s: git %q ran with %q", url, env[0], kv)
				}
			}
		}
		if !sawFetch {
			t.Errorf("%s: no fetch recorded", url)
		}
	}
}

// TestHTTPFetchEnvHasToken: the other side of TestFileFetchEnvHasNoToken, so the hook is known to see it.
func TestHTTPFetchEnvHasToken(t *testing.T) {
	t.Parallel()
	bare := gittest.NewRepo(t, map[string]string{"f": "x"})
	url := gittest.ServeHTTP(t, bare, TokenUser, testToken)
	c := newCache(t, Options{})
	envs := recordGit(c)
	if _, err := c.Checkout(t.Context(), executor.Repo{URL: url, Token: testToken}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for _, env := range envs() {
		if strings.Contains(env[0], " fetch ") {
			if !strings.Contains(strings.Join(env, "\n"), "GIT_CONFIG_KEY_0=http.extraHeader") {
				t.Errorf("http fetch env = %q, want the extra header", env[1:])
			}
			return
		}
	}
	t.Error("no fetch recorded")
}

// TestCheckoutRunsNothingFromRepository: the repository's .gitattributes name a filter driver, ident,
// export-subst, export-ignore and eol conversion; the mirror's config (as if planted by a job) defines that
// filter and more; hooks lie in the mirror and in the source repository. The checkout is the blobs' bytes, and
// no planted command ever runs.
func TestCheckoutRunsNothingFromRepository(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "marker")
	run := "touch " + marker
	files := map[string]string{
		".gitattributes": "* filter=x ident\n*.txt export-subst text eol=crlf\nignored export-ignore\n",
		"a.txt":          "$Format:%H$\n$Id$\nline\n",
		"ignored":        "still here\n",
		"sub/b.sh":       "#!/bin/sh\necho b\n",
	}
	bare := gittest.NewRepo(t, files)

	c := newCache(t, Options{})
	repo := executor.Repo{URL: gittest.URL(bare)}
	check := func(step string) {
		t.Helper()
		dst := t.TempDir()
		if _, err := c.Checkout(t.Context(), repo, dst); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		want := map[string]string{"sub": "dir", "sub/b.sh": files["sub/b.sh"] + "*"}
		for _, name := range []string{".gitattributes", "a.txt", "ignored"} {
			want[name] = files[name]
		}
		if diff := cmp.Diff(want, readTree(t, dst)); diff != "" {
			t.Errorf("%s: checkout (-want +got):\n%s", step, diff)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: a planted command ran", step)
		}
	}
	check("first checkout")

	// A new commit, then the plants (the test's own push would run hooks planted in the source before it).
	files["a.txt"] = "$Format:%an$\n$Id$\nline two\n"
	gittest.Commit(t, bare, map[string]string{"a.txt": files["a.txt"]})
	hook := "#!/bin/sh\n" + run + "\n"
	for _, name := range []string{"pre-upload-pack", "reference-transaction", "post-checkout", "post-merge"} {
		writeExec(t, filepath.Join(bare, "hooks", name), hook)
	}
	m := c.mirror(repo.URL)
	planted := "[core]\n\tbare = true\n\tautocrlf = true\n\tfsmonitor = " + run + "\n\tpager = " + run +
		"\n\thooksPath = hooks\n[filter \"x\"]\n\tsmudge = sh -c '" + run + "; cat'\n\tclean = sh -c '" + run +
		"; cat'\n\trequired = true\n[uploadpack]\n\tpackObjectsHook = " + run + "\n"
	if err := os.WriteFile(filepath.Join(m.dir, "config"), []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(m.dir, "info", "attributes"), "* filter=x\n")
	for _, name := range []string{"reference-transaction", "post-fetch", "post-checkout"} {
		writeExec(t, filepath.Join(m.dir, "hooks", name), hook)
	}
	c.opts.KeepTrees = 1
	check("after planting config, a new commit")
	if b, err := os.ReadFile(filepath.Join(m.dir, "config")); err != nil || string(b) != mirrorConfig {
		t.Errorf("mirror config = %q, %v; want it restored to %q", b, err, mirrorConfig)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "info", "attributes")); err == nil {
		t.Error("planted info/attributes still in the mirror")
	}

	// A fresh cache over the same directory (a restart) extracts from the mirror without fetching.
	if err := os.WriteFile(filepath.Join(m.dir, "config"), []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := New(c.dir, Options{Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	c = c2
	check("after a restart, from the mirror")
}

func writeExec(t *testing.T, p, content string) {
	t.Helper()
	writeFile(t, p, content)
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestNewTightensCacheDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "git")
	for _, d := range []string{dir, filepath.Join(dir, "mirrors")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(dir, Options{Logger: testlog.New(t)}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"", "mirrors", "trees", "home"} {
		fi, err := os.Stat(filepath.Join(dir, d))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("mode of %q = %v, want 0700", d, got)
		}
	}
}

func TestNewRefusesForeignCacheDir(t *testing.T) {
	needRoot(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "git")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	_, err := New(dir, Options{Logger: testlog.New(t)})
	if err == nil || !strings.Contains(err.Error(), "owned by uid 4242") {
		t.Errorf("New(dir owned by 4242) = %v, want an ownership error", err)
	}
}

func TestCheckoutWithChown(t *testing.T) {
	needRoot(t)
	t.Parallel()
	big := strings.Repeat("x", inlineFileMax+1)
	bare := gittest.NewRepo(t, map[string]string{"README": "r", "a/b/c.sh": "#!/bin/sh\n", "big": big})
	work := t.TempDir()
	gitOK(t, "clone", "-q", gittest.URL(bare), work)
	if err := os.Symlink("README", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	gitOK(t, "-C", work, "add", "link")
	gitOK(t, "-C", work, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "link")
	gitOK(t, "-C", work, "push", "-q", "origin", "main")

	c := newCache(t, Options{})
	repo := executor.Repo{URL: gittest.URL(bare)}
	dst := filepath.Join(t.TempDir(), "ws")
	const uid, gid = 4243, 4244
	if _, err := c.CheckoutWith(t.Context(), repo, dst, CheckoutOptions{Chown: true, UID: uid, GID: gid}); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s is owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 { // ws, README, a, a/b, a/b/c.sh, big, link
		t.Errorf("walked %d names, want 7", n)
	}
	if got := readTree(t, dst)["big"]; got != big {
		t.Errorf("big has %d bytes, want %d", len(got), len(big))
	}

	// Without Chown, the server's user owns the files, as before.
	dst = t.TempDir()
	if _, err := c.Checkout(t.Context(), repo, dst); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dst, "link"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Errorf("link owned by %d without Chown, want %d", st.Uid, os.Geteuid())
	}
}
