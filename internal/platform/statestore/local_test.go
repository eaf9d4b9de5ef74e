package statestore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/gitsource/gittest"
)

const cacheFile = "dev/resources/default/redis/cache/instance-configure/5058f/redis.yaml"

// TestGitCommitsAreGits: the commits made in process are what git would make: the repository passes
// `git fsck --strict` (tree entries sorted and well-formed, objects valid), each commit's parent is the head it
// was made on, its author is Kratix's default and its message Kratix's, the files are regular (100644), and a
// delete leaves no empty directory behind.
func TestGitCommitsAreGits(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n", "dev/z-last.yaml": "z\n", "dev-x/a.yaml": "a\n"})
	initial := gittest.Head(t, bare, "main")
	ws, _ := New(Options{Dir: t.TempDir()})
	w, _ := ws.For(gitStore("git", gittest.URL(bare)))
	first, err := w.Write(t.Context(), request("git", "cache"), request("git", "db"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := w.Delete(t.Context(), request("git", "db"))
	if err != nil {
		t.Fatal(err)
	}
	gitCmd(t, bare, "fsck", "--strict", "--no-dangling")
	if got := strings.TrimSpace(gitCmd(t, bare, "rev-parse", second.Version+"^")); got != first.Version {
		t.Errorf("parent of %s = %s, want %s", second.Version, got, first.Version)
	}
	if got := strings.TrimSpace(gitCmd(t, bare, "rev-parse", first.Version+"^")); got != initial {
		t.Errorf("parent of %s = %s, want %s", first.Version, got, initial)
	}
	log := gitCmd(t, bare, "log", "-2", "--format=%an|%cn|%s", "main")
	want := "kratix|kratix|Delete from: " + request("git", "db").Name() + "\n" +
		"kratix|kratix|Update from: " + request("git", "cache").Name() + ", " + request("git", "db").Name() + "\n"
	if log != want {
		t.Errorf("log = %q, want %q", log, want)
	}
	if mode := strings.Fields(gitCmd(t, bare, "ls-tree", "main", cacheFile))[0]; mode != "100644" {
		t.Errorf("%s has mode %s, want 100644", cacheFile, mode)
	}
	if out := gitCmd(t, bare, "ls-tree", "-r", "-t", "--name-only", "main", "dev/resources/default/redis"); strings.Contains(out, "/db") {
		t.Errorf("the deleted request's directories are still in the tree:\n%s", out)
	}
}

// TestGitLocalRepositories writes to local repositories in the states git leaves them in: refs packed, objects
// repacked under the writer's cached view, hooks that a push must run or that refuse it, a checked-out branch, a
// ref locked by another writer. Each write either lands with the repository consistent (fsck), or fails with
// git's reason and changes nothing.
func TestGitLocalRepositories(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, bare string) // before the first write
		between func(t *testing.T, bare string) // between the first and the second write
		wantErr string                          // of the second write; "" for none
		check   func(t *testing.T, bare string) // after
	}{
		{name: "packed refs", prepare: func(t *testing.T, bare string) { gitCmd(t, bare, "pack-refs", "--all") },
			between: func(t *testing.T, bare string) { gitCmd(t, bare, "pack-refs", "--all") }},
		{name: "repacked and pruned under the cached tree", between: func(t *testing.T, bare string) {
			gitCmd(t, bare, "repack", "-a", "-d", "-q")
			gitCmd(t, bare, "prune-packed")
		}},
		{name: "hook runs", prepare: func(t *testing.T, bare string) {
			hook(t, bare, "post-receive", `cat >> "$GIT_DIR/pushed"`)
		}, check: func(t *testing.T, bare string) {
			b, err := os.ReadFile(filepath.Join(bare, "pushed"))
			if err != nil || strings.Count(string(b), "refs/heads/main") != 2 {
				t.Errorf("post-receive saw %q (%v), want both pushes", b, err)
			}
		}},
		{name: "hook refuses", between: func(t *testing.T, bare string) {
			hook(t, bare, "pre-receive", `echo "no more writes" >&2; exit 1`)
		}, wantErr: "pre-receive hook declined"},
		{name: "ref locked by another writer", between: func(t *testing.T, bare string) {
			if err := os.WriteFile(filepath.Join(bare, "refs", "heads", "main.lock"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "cannot lock ref"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
			if tc.prepare != nil {
				tc.prepare(t, bare)
			}
			ws, _ := New(Options{Dir: t.TempDir(), MaxAttempts: 2})
			w, _ := ws.For(gitStore("git", gittest.URL(bare)))
			if _, err := w.Write(t.Context(), request("git", "cache")); err != nil {
				t.Fatalf("first Write: %v", err)
			}
			head := gittest.Head(t, bare, "main")
			if tc.between != nil {
				tc.between(t, bare)
			}
			res, err := w.Write(t.Context(), request("git", "db"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("second Write = %v, want an error with %q", err, tc.wantErr)
				}
				if got := gittest.Head(t, bare, "main"); got != head {
					t.Errorf("main moved to %s after a failed write", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("second Write: %v", err)
			}
			if got := gittest.Head(t, bare, "main"); got != res.Version {
				t.Errorf("main = %s, want %s", got, res.Version)
			}
			gitCmd(t, bare, "fsck", "--strict", "--no-dangling")
			got := repoFiles(t, bare, "main")
			if len(got) != 3 || got[cacheFile] != "name: cache\n" {
				t.Errorf("repository = %v, want README.md and both requests' files", listing(got))
			}
			if tc.check != nil {
				tc.check(t, bare)
			}
		})
	}
}

// TestGitCheckedOutBranch: a non-bare repository's checked-out branch is refused as git refuses it
// (receive.denyCurrentBranch), not moved under its work tree.
func TestGitCheckedOutBranch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	gitCmd(t, "", "init", "-q", "-b", "main", dir)
	gitCmd(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "init")
	ws, _ := New(Options{Dir: t.TempDir()})
	w, _ := ws.For(gitStore("git", "file://"+dir))
	_, err := w.Write(t.Context(), request("git", "cache"))
	if err == nil || !strings.Contains(err.Error(), "checked out") {
		t.Fatalf("Write = %v, want git's refusal to update a checked-out branch", err)
	}
	if errors.Is(err, errMoved) {
		t.Errorf("Write = %v: a refusal is not a moved branch", err)
	}
}

// hook installs an executable hook script in a bare repository.
func hook(t *testing.T, bare, name, script string) {
	t.Helper()
	p := filepath.Join(bare, "hooks", name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestGitLocalWritesRunNoProcess: a write to a plain bare repository on this machine, its delete and a write
// after the branch moved are made in process: with no git on PATH they still land (the git CLI made each one
// three processes of its own and seven more for the push).
func TestGitLocalWritesRunNoProcess(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	ws, _ := New(Options{Dir: t.TempDir()})
	w, _ := ws.For(gitStore("git", gittest.URL(bare)))
	path := os.Getenv("PATH")
	t.Setenv("PATH", t.TempDir()) // an empty directory: no git, no sh
	if _, err := w.Write(t.Context(), request("git", "cache"), request("git", "db")); err != nil {
		t.Fatalf("Write without git: %v", err)
	}
	if _, err := w.Delete(t.Context(), request("git", "db")); err != nil {
		t.Fatalf("Delete without git: %v", err)
	}
	os.Setenv("PATH", path)
	gittest.Commit(t, bare, map[string]string{"other.yaml": "moved\n"})
	os.Setenv("PATH", t.TempDir())
	res, err := w.Write(t.Context(), request("git", "web"))
	if err != nil {
		t.Fatalf("Write without git after the branch moved: %v", err)
	}
	os.Setenv("PATH", path)
	got := repoFiles(t, bare, "main")
	if len(got) != 4 || got[cacheFile] != "name: cache\n" || got["other.yaml"] != "moved\n" {
		t.Errorf("repository = %v, want README.md, other.yaml, cache's and web's files", listing(got))
	}
	if head := gittest.Head(t, bare, "main"); res.Version != head {
		t.Errorf("Version = %s, want %s", res.Version, head)
	}
}
