package inpod_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// Tokens with characters that URL escaping and base64 change, so that every form of them is looked for.
const (
	realToken  = "tok-S3cret/real+=x"
	wrongToken = "tok-S3cret/wrong+=y"
)

var (
	mainFiles = map[string]string{"run.sh": "#!/bin/sh\necho hi\n", "dir/a.txt": "a2"}
	devFiles  = map[string]string{"run.sh": "#!/bin/sh\necho hi\n", "dir/a.txt": "a2", "dev.txt": "dev"}
)

// testRepo is one repository (main with two commits, dev with one more) reachable three ways.
type testRepo struct {
	bare                     string
	private, public, fileURL string
}

func newTestRepo(t *testing.T) testRepo {
	t.Helper()
	bare := gittest.NewRepo(t, map[string]string{"run.sh": "#!/bin/sh\necho hi\n", "dir/a.txt": "a1"})
	gittest.Commit(t, bare, map[string]string{"dir/a.txt": "a2"})
	gittest.CommitBranch(t, bare, "dev", map[string]string{"dev.txt": "dev"})
	return testRepo{
		bare:    bare,
		private: gittest.ServeHTTP(t, bare, gitsource.TokenUser, realToken),
		public:  gittest.ServeHTTP(t, bare, "", ""),
		fileURL: gittest.URL(bare),
	}
}

// checkoutResult is what one in-process `runplane pod checkout` left behind.
type checkoutResult struct {
	code                 int
	stdout, stderr, tlog string
}

func runCheckout(t *testing.T, env map[string]string) checkoutResult {
	t.Helper()
	tlog := filepath.Join(t.TempDir(), "termination-log")
	env[pid1.EnvTerminationLog] = tlog
	var stdout, stderr bytes.Buffer
	code := inpod.RunCheckout(t.Context(), envMap(env), &stdout, &stderr)
	r := checkoutResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if b, err := os.ReadFile(tlog); err == nil {
		r.tlog = string(b)
	}
	return r
}

// noSecrets fails if any output of r holds a token, in any form.
func (r checkoutResult) noSecrets(t *testing.T) {
	t.Helper()
	for _, tok := range []string{realToken, wrongToken} {
		for _, form := range []string{tok, url.QueryEscape(tok), url.PathEscape(tok), "S3cret",
			base64.StdEncoding.EncodeToString([]byte(gitsource.TokenUser + ":" + tok))} {
			for name, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "termination log": r.tlog} {
				if strings.Contains(s, form) {
					t.Errorf("%s = %q, contains the token (%q)", name, s, form)
				}
			}
		}
	}
}

// tree returns the files under dir (not .git), path → content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == git.GitDirName {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)] = readFile(t, p)
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
	repo := newTestRepo(t)
	tests := []struct {
		name, url, token, branch string
		wantBranch               string
		want                     map[string]string
	}{
		{name: "private main", url: repo.private, token: realToken, branch: "main", wantBranch: "main", want: mainFiles},
		{name: "private dev", url: repo.private, token: realToken, branch: "dev", wantBranch: "dev", want: devFiles},
		{name: "public default branch", url: repo.public, wantBranch: "main", want: mainFiles},
		{name: "public with token", url: repo.public, token: realToken, branch: "dev", wantBranch: "dev", want: devFiles},
		{name: "file", url: repo.fileURL, token: realToken, branch: "dev", wantBranch: "dev", want: devFiles},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws, tools := t.TempDir(), t.TempDir()
			r := runCheckout(t, map[string]string{
				inpod.EnvGitURL: tc.url, inpod.EnvGitBranch: tc.branch, inpod.EnvGitToken: tc.token,
				inpod.EnvWorkspace: ws, inpod.EnvTools: tools,
			})
			r.noSecrets(t)
			commit := gittest.Head(t, repo.bare, tc.wantBranch)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("RunCheckout = %d, stderr %q, want 0 and no stderr", r.code, r.stderr)
			}
			if want := fmt.Sprintf("checked out %s at %s\n", tc.wantBranch, commit); r.stdout != want {
				t.Errorf("stdout = %q, want %q", r.stdout, want)
			}
			if want := "commit " + commit; r.tlog != want {
				t.Errorf("termination log = %q, want %q", r.tlog, want)
			}
			if diff := cmp.Diff(tc.want, tree(t, ws)); diff != "" {
				t.Errorf("workspace (-want +got):\n%s", diff)
			}
			if fi, err := os.Stat(filepath.Join(ws, "run.sh")); err != nil || fi.Mode().Perm()&0o111 == 0 {
				t.Errorf("run.sh: %v, %v; want an executable file", fi, err)
			}
			checkShallowSingleBranch(t, ws, tc.wantBranch, commit)
			if fi, err := os.Stat(filepath.Join(tools, pid1.Name)); err != nil || fi.Mode().Perm() != 0o555 {
				t.Errorf("tools copy: %v, %v; want mode 0555", fi, err)
			}
		})
	}
}

// checkShallowSingleBranch checks that ws is a checkout of commit alone: depth 1, no other branch fetched.
func checkShallowSingleBranch(t *testing.T, ws, branch, commit string) {
	t.Helper()
	r, err := git.PlainOpen(ws)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Head()
	if err != nil || head.Hash().String() != commit || head.Name().Short() != branch {
		t.Errorf("HEAD = %v, %v; want %s at %s", head, err, branch, commit)
	}
	shallow, err := r.Storer.Shallow()
	if err != nil || len(shallow) != 1 || shallow[0].String() != commit {
		t.Errorf("shallow commits = %v, %v; want [%s]", shallow, err, commit)
	}
	refs, err := r.References()
	if err != nil {
		t.Fatal(err)
	}
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if n := ref.Name().String(); n != "HEAD" && !strings.HasSuffix(n, "/"+branch) {
			t.Errorf("reference %s fetched, want only %s", n, branch)
		}
		return nil
	})
}

func TestCheckoutFailures(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t)
	closed := closedURL(t)
	host := strings.TrimPrefix(repo.private, "http://")
	tests := []struct {
		name, url, token, branch string
		noWorkspace              bool
		secretsSrcOnly           bool
		want                     string // the whole message, or its start when it ends in "..."
	}{
		{name: "missing branch", url: repo.private, token: realToken, branch: "nope",
			want: fmt.Sprintf("branch %q not found in %s", "nope", repo.private)},
		{name: "missing branch, file", url: repo.fileURL, branch: "nope",
			want: fmt.Sprintf("branch %q not found in %s", "nope", repo.fileURL)},
		{name: "missing branch, token in URL", url: "http://" + gitsource.TokenUser + ":" + url.PathEscape(realToken) + "@" + host, branch: "nope",
			want: fmt.Sprintf("branch %q not found in %s", "nope", repo.private)},
		{name: "wrong token", url: repo.private, token: wrongToken, branch: "main",
			want: "authentication to " + repo.private + " failed: the repository token was not accepted"},
		{name: "no token", url: repo.private, branch: "main",
			want: "authentication to " + repo.private + " required: the repository is private and the runner has no token"},
		{name: "missing repository", url: repo.public + "-missing", token: realToken,
			want: "repository " + repo.public + "-missing not found (or not visible with the runner's token)"},
		{name: "connection refused", url: closed, token: realToken,
			want: "clone " + closed + ": ..."},
		{name: "unsupported scheme", url: "ssh://git:" + realToken + "@example.com/r.git", token: realToken,
			want: `invalid repository URL "ssh://example.com/r.git": only http, https and file URLs are supported`},
		{name: "scp-like", url: "git@example.com:r.git",
			want: `invalid repository URL "git@example.com:r.git": only http, https and file URLs are supported`},
		{name: "no host", url: "https:///r.git",
			want: `invalid repository URL "https:///r.git": only http, https and file URLs are supported`},
		{name: "no URL", want: "RUNPLANE_GIT_URL is not set"},
		{name: "no workspace", url: repo.public, noWorkspace: true, want: "RUNPLANE_WORKSPACE is not set"},
		{name: "secrets without destination", url: repo.public, secretsSrcOnly: true,
			want: "RUNPLANE_SECRETS_SRC is set but RUNPLANE_SECRETS_DST is not"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws, tools := t.TempDir(), t.TempDir()
			env := map[string]string{
				inpod.EnvGitURL: tc.url, inpod.EnvGitBranch: tc.branch, inpod.EnvGitToken: tc.token,
				inpod.EnvWorkspace: ws, inpod.EnvTools: tools,
			}
			if tc.noWorkspace {
				delete(env, inpod.EnvWorkspace)
			}
			if tc.secretsSrcOnly {
				env[inpod.EnvSecretsSrc] = t.TempDir()
			}
			r := runCheckout(t, env)
			t.Logf("message: %s", r.tlog)
			r.noSecrets(t)
			if r.code != 1 || r.stdout != "" {
				t.Errorf("RunCheckout = %d, stdout %q; want 1 and no stdout", r.code, r.stdout)
			}
			if prefix, ok := strings.CutSuffix(tc.want, "..."); ok {
				if !strings.HasPrefix(r.tlog, prefix) {
					t.Errorf("termination log = %q, want %q", r.tlog, tc.want)
				}
			} else if r.tlog != tc.want {
				t.Errorf("termination log = %q, want %q", r.tlog, tc.want)
			}
			if r.stderr != r.tlog+"\n" {
				t.Errorf("stderr = %q, want the termination log %q and a newline", r.stderr, r.tlog)
			}
			for _, dir := range []string{ws, tools} {
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("%s holds %d entries after a failure, want none", dir, len(entries))
				}
			}
		})
	}
}

// closedURL returns the URL of a repository on a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/repo.git"
}

func TestCheckoutWorkspace(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t)
	checkout := func(ws, branch string) (string, error) {
		return inpod.Checkout(t.Context(), inpod.CheckoutConfig{GitURL: repo.public, Branch: branch, Workspace: ws})
	}

	t.Run("missing is created", func(t *testing.T) {
		t.Parallel()
		ws := filepath.Join(t.TempDir(), "ws")
		if _, err := checkout(ws, "main"); err != nil {
			t.Fatalf("Checkout into a missing directory: %v", err)
		}
		if diff := cmp.Diff(mainFiles, tree(t, ws)); diff != "" {
			t.Errorf("workspace (-want +got):\n%s", diff)
		}
	})
	t.Run("earlier checkout is replaced", func(t *testing.T) {
		t.Parallel()
		ws := t.TempDir()
		if _, err := checkout(ws, "dev"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, "stray.txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		commit, err := checkout(ws, "main")
		if err != nil {
			t.Fatalf("Checkout over an earlier checkout: %v", err)
		}
		if want := gittest.Head(t, repo.bare, "main"); commit != want {
			t.Errorf("Checkout = %s, want %s", commit, want)
		}
		if diff := cmp.Diff(mainFiles, tree(t, ws)); diff != "" {
			t.Errorf("workspace (-want +got):\n%s", diff)
		}
	})
	t.Run("other content is refused", func(t *testing.T) {
		t.Parallel()
		ws := t.TempDir()
		if err := os.WriteFile(filepath.Join(ws, "keep.txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := checkout(ws, "main")
		if want := "workspace " + ws + " is not empty"; err == nil || err.Error() != want {
			t.Errorf("Checkout into a non-empty directory = %v, want %q", err, want)
		}
		if got := readFile(t, filepath.Join(ws, "keep.txt")); got != "x" {
			t.Errorf("keep.txt = %q after a refused checkout, want it untouched", got)
		}
	})
}
