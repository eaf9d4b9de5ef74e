package gitsource

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// newBuiltinCache is a Cache that reads repositories as it does on a server without git (runplane's image).
func newBuiltinCache(t testing.TB, opts Options) *Cache {
	t.Helper()
	c := newCache(t, opts)
	c.builtin = true
	return c
}

// richRepo makes a bare repository whose main branch holds what a checkout must get right: dotfiles, executable
// and group-writable (100664) files, symlinks (to a file, to a directory, dangling), a submodule entry, a file
// larger than what is kept in memory, names with spaces, and a .gitattributes asking for a filter and
// export-subst that must not apply. Built with mktree, so every mode is exactly what the test says.
func richRepo(t *testing.T) string {
	t.Helper()
	bare := gittest.NewRepo(t, map[string]string{"placeholder": "x"})
	g := func(stdin string, args ...string) string {
		t.Helper()
		inv := buildGit(t.TempDir(), "", append([]string{"--git-dir", bare}, args...)...)
		cmd := inv.command(t.Context(), "")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	blob := func(content string) string { return g(content, "hash-object", "-w", "--stdin") }
	mktree := func(lines ...string) string { return g(strings.Join(lines, "\n")+"\n", "mktree") }
	deep := mktree("100644 blob " + blob("deep\n") + "\tdeep.txt")
	c := mktree("040000 tree "+deep+"\tc", "100755 blob "+blob("#!/bin/sh\necho b\n")+"\tb.sh")
	bin := mktree("100755 blob " + blob("#!/bin/sh\necho run\n") + "\trun.sh")
	wf := mktree("100644 blob " + blob("on: push\n") + "\tci.yml")
	gh := mktree("040000 tree " + wf + "\tworkflows")
	root := mktree(
		"100644 blob "+blob("* filter=evil\n*.txt export-subst ident\n")+"\t.gitattributes",
		"040000 tree "+gh+"\t.github",
		"100644 blob "+blob("[submodule \"sub\"]\n\tpath = sub\n\turl = https://example.invalid/sub.git\n")+"\t.gitmodules",
		"100644 blob "+blob("hidden\n")+"\t.hidden",
		"100644 blob "+blob("hello $Format:%H$ $Id$\n")+"\tREADME.txt",
		"040000 tree "+c+"\ta",
		"100644 blob "+blob(strings.Repeat("0123456789abcdef", 3<<10))+"\tbig.bin",
		"040000 tree "+bin+"\tbin",
		"120000 blob "+blob("nowhere/at/all")+"\tdangling",
		"120000 blob "+blob("bin")+"\tdirlink",
		"120000 blob "+blob("README.txt")+"\tlink",
		"100664 blob "+blob("group\n")+"\told.txt",
		"160000 commit "+gittest.Head(t, bare, "main")+"\tsub",
		"100644 blob "+blob("spaced\n")+"\twith space.txt",
	)
	commit := g("", "-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", root, "-m", "rich")
	g("", "update-ref", "refs/heads/main", commit)
	return bare
}

// The built-in reader gives the same archive, byte for byte, as the git path for the same commit, over file://
// and over HTTP with a token; and checkouts with the same files.
func TestBuiltinArchiveEqualsGit(t *testing.T) {
	t.Parallel()
	bare := richRepo(t)
	const token = "s3cret-token"
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	tests := []struct {
		name string
		repo executor.Repo
	}{
		{"file", executor.Repo{URL: gittest.URL(bare)}},
		{"http with token", executor.Repo{URL: gittest.ServeHTTP(t, bare, "", token), Token: token}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			wantCommit, err := newCache(t, Options{Now: now}).Archive(t.Context(), tc.repo, &want, 0)
			if err != nil {
				t.Fatalf("git Archive: %v", err)
			}
			b := newBuiltinCache(t, Options{Now: now})
			gotCommit, err := b.Archive(t.Context(), tc.repo, &got, 0)
			if err != nil {
				t.Fatalf("built-in Archive: %v", err)
			}
			if gotCommit != wantCommit {
				t.Errorf("built-in Archive commit = %s, want %s", gotCommit, wantCommit)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("built-in archive differs from git's:\n%s", cmp.Diff(tarListing(t, want.Bytes()), tarListing(t, got.Bytes())))
			}
			gitDst, builtinDst := filepath.Join(t.TempDir(), "git"), filepath.Join(t.TempDir(), "builtin")
			if _, err := newCache(t, Options{}).Checkout(t.Context(), tc.repo, gitDst); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Checkout(t.Context(), tc.repo, builtinDst); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(readTree(t, gitDst), readTree(t, builtinDst)); diff != "" {
				t.Errorf("built-in checkout differs from git's (-git +builtin):\n%s", diff)
			}
		})
	}
}

// tarListing describes an archive's entries for a readable diff.
func tarListing(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return append(out, "error: "+err.Error())
		}
		data, _ := io.ReadAll(tr)
		out = append(out, fmt.Sprintf("%c %s %o -> %q: %q", h.Typeflag, h.Name, h.Mode, h.Linkname, data))
	}
}

// A server without git reads no git at all: the built-in cache never starts a git process (PATH holds none),
// yet checks out, archives, reads files at a commit and names heads.
func TestBuiltinWithoutGitOnPath(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"a.txt": "a\n", "d/run.sh": "echo\n"})
	head := gittest.Head(t, bare, "main")
	url := gittest.ServeHTTP(t, bare, "", "")
	t.Setenv("PATH", t.TempDir())
	if _, err := exec.LookPath("git"); err == nil {
		t.Fatal("git still on PATH")
	}
	c := newCache(t, Options{})
	if !c.builtin {
		t.Fatal("New without git on PATH: not the built-in reader")
	}
	for _, repo := range []executor.Repo{{URL: url}, {URL: gittest.URL(bare)}} {
		dst := t.TempDir()
		if commit, err := c.Checkout(t.Context(), repo, dst); err != nil || commit != head {
			t.Fatalf("Checkout(%s) = %s, %v; want %s", repo.URL, commit, err, head)
		}
		if diff := cmp.Diff(map[string]string{"a.txt": "a\n", "d": "dir", "d/run.sh": "echo\n*"}, readTree(t, dst)); diff != "" {
			t.Errorf("checkout of %s (-want +got):\n%s", repo.URL, diff)
		}
		if commit, err := c.Head(t.Context(), repo); err != nil || commit != head {
			t.Errorf("Head(%s) = %s, %v; want %s", repo.URL, commit, err, head)
		}
		files, _, err := c.ReadFiles(t.Context(), repo, head, []string{"a.txt"}, 0)
		if err != nil || string(files["a.txt"]) != "a\n" {
			t.Errorf("ReadFiles(%s, %s) = %q, %v", repo.URL, head, files, err)
		}
	}
}

// The built-in reader's errors: clear, matching what callers test for, never holding the token.
func TestBuiltinErrors(t *testing.T) {
	t.Parallel()
	const token = "tok-very-secret"
	bare := gittest.NewRepo(t, map[string]string{"README": strings.Repeat("x", 4096)})
	private := gittest.ServeHTTP(t, bare, "", token)
	tests := []struct {
		name string
		repo executor.Repo
		max  int64
		want func(error) bool
		text string // in the error
	}{
		{"no such branch over http", executor.Repo{URL: private, Token: token, Branch: "nope"}, 0,
			func(err error) bool { return errors.Is(err, ErrBranchNotFound) }, `branch "nope" not found`},
		{"no such branch on disk", executor.Repo{URL: gittest.URL(bare), Branch: "nope"}, 0,
			func(err error) bool { return errors.Is(err, ErrBranchNotFound) }, `branch "nope" not found`},
		{"wrong token", executor.Repo{URL: private, Token: token + "-wrong"}, 0,
			func(err error) bool { return err != nil }, "token was not accepted"},
		{"no token", executor.Repo{URL: private}, 0,
			func(err error) bool { return err != nil }, "authentication required"},
		{"unreachable", executor.Repo{URL: "http://user:" + token + "@127.0.0.1:1/repo.git", Token: token}, 0,
			func(err error) bool { return err != nil }, "127.0.0.1:1"},
		{"not a repository", executor.Repo{URL: "file://" + t.TempDir()}, 0,
			func(err error) bool { return err != nil }, "not a git repository"},
		{"ssh needs git", executor.Repo{URL: "ssh://git@example.invalid/r.git"}, 0,
			func(err error) bool { return errors.Is(err, ErrNoGit) && errors.Is(err, exec.ErrNotFound) }, "no git on PATH"},
		{"too large", executor.Repo{URL: private, Token: token}, 4096,
			func(err error) bool { return errors.Is(err, ErrTooLarge) }, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newBuiltinCache(t, Options{})
			_, err := c.Archive(t.Context(), tc.repo, io.Discard, tc.max)
			if !tc.want(err) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Archive(%s) = %v, want the %q error", tc.name, err, tc.text)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("Archive(%s) error holds the token: %v", tc.name, err)
			}
			if _, herr := c.Head(t.Context(), tc.repo); herr != nil && strings.Contains(herr.Error(), token) {
				t.Errorf("Head(%s) error holds the token: %v", tc.name, herr)
			}
		})
	}
}

// FuzzTreeEntry: whatever a repository's tree holds (names and modes come from the remote, on both paths), an
// entry that is accepted is a clean relative path under a directory accepted before it, with a known mode.
func FuzzTreeEntry(f *testing.F) {
	for _, s := range [][2]string{{"a/b", "100644"}, {"../x", "100755"}, {"a", "040000"}, {".git", "120000"}, {"s", "160000"}, {"x/", "100664"}, {"/abs", "100644"}, {"a", "777777"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, gitMode string) {
		dirs := map[string]bool{".": true, "a": true}
		mode, skip, err := entryMode(gitMode, name)
		if err != nil || skip {
			return
		}
		if err := checkEntryName(dirs, name, mode); err != nil {
			return
		}
		if !fs.ValidPath(name) || name == "." || !validRelPath(name) {
			t.Errorf("accepted %q", name)
		}
		if d := path.Dir(name); d != "." && d != "a" {
			t.Errorf("accepted %q under %q, not a directory of the tree", name, d)
		}
	})
}
