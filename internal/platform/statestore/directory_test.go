package statestore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func dirWriter(t testing.TB, dir string) Writer {
	t.Helper()
	ws, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ws.For(api.StateStore{Kind: api.KindDirectoryStateStore, Name: "local", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func localPlacement(mut func(*Placement)) Placement {
	p := Placement{Destination: destination("dev", api.KindDirectoryStateStore, "local", "", ""), Promise: "redis",
		Resource: "cache", Namespace: "default", Pipeline: "configure", GroupID: rootGroup, Files: files("a.yaml", "a: 1\n")}
	if mut != nil {
		mut(&p)
	}
	return p
}

// TestInvalidPlacements refuses, with ErrInvalid and before writing anything, placements whose names or files
// would leave their directory or the store, or that name another store.
func TestInvalidPlacements(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Placement)
		want string
	}{
		{"file escapes", func(p *Placement) { p.Files = files("../../../etc/passwd", "x") }, `".." would leave`},
		{"absolute file", func(p *Placement) { p.Files = files("/etc/passwd", "x") }, "want a relative path"},
		{"file into .git", func(p *Placement) { p.Files = files(".git/config", "x") }, ".git directory"},
		{"empty file name", func(p *Placement) { p.Files = files("", "x") }, "want a relative path"},
		{"backslash", func(p *Placement) { p.Files = files(`a\b`, "x") }, "'/' separators"},
		{"dot", func(p *Placement) { p.Files = files(".", "x") }, "want a clean path"},
		{"unclean", func(p *Placement) { p.Files = files("a//b", "x") }, "want a clean path"},
		{"name too long", func(p *Placement) { p.Files = files("a/"+strings.Repeat("n", 256), "x") }, "longer than 255 bytes"},
		{"path too long", func(p *Placement) { p.Files = files(strings.Repeat("d/", 2048)+"f", "x") }, "longer than 4096 bytes"},
		{"promise with slash", func(p *Placement) { p.Promise = "a/b" }, "placement promise"},
		{"resource dotdot", func(p *Placement) { p.Resource = ".." }, "placement resource"},
		{"namespace dotdot", func(p *Placement) { p.Namespace = ".." }, "placement namespace"},
		{"no promise", func(p *Placement) { p.Promise = "" }, "promise and destination are required"},
		{"short group id", func(p *Placement) { p.GroupID = "ab" }, "group id"},
		{"destination path escapes", func(p *Placement) { p.Destination.Path = "../x" }, `".." would leave`},
		{"destination into .git", func(p *Placement) { p.Destination.Path = ".git/hooks" }, ".git directory"},
		{"other store", func(p *Placement) { p.Destination.StateStoreRef.Name = "other" }, "not to DirectoryStateStore local"},
		{"unknown mode", func(p *Placement) { p.Destination.Filepath.Mode = "flat" }, `filepath.mode "flat"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			_, err := dirWriter(t, dir).Write(t.Context(), localPlacement(tc.mut))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write = %v, want ErrInvalid containing %q", err, tc.want)
			}
			if got := dirFiles(t, dir); len(got) != 0 {
				t.Fatalf("store holds %v after a refused write", got)
			}
		})
	}
}

// TestDirectorySymlinkOut refuses to write through a symlink in the store that points out of it.
func TestDirectorySymlinkOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	outside := t.TempDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "dev")); err != nil {
		t.Fatal(err)
	}
	_, err := dirWriter(t, dir).Write(t.Context(), localPlacement(nil))
	if err == nil {
		t.Fatal("Write through a symlink out of the store succeeded")
	}
	if got := dirFiles(t, outside); len(got) != 0 {
		t.Fatalf("files written outside the store: %v", got)
	}
}

// TestDirectoryTamperedTrackingFile refuses a tracking file (mode none) that lists a path out of the store.
func TestDirectoryTamperedTrackingFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	w := dirWriter(t, dir)
	p := localPlacement(func(p *Placement) { p.Destination.Filepath.Mode = api.FilepathNone })
	res, err := w.Write(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	tracking := res.Placements[0].Paths[len(res.Placements[0].Paths)-1]
	if err := os.WriteFile(filepath.Join(dir, tracking), []byte("files: [../../victim]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Delete(t.Context(), p); err == nil || !strings.Contains(err.Error(), `".." would leave`) {
		t.Fatalf("Delete = %v, want the tampered entry refused", err)
	}
}

// TestDirectoryDelete removes a placement's files in every mode, and the aggregated file once it is empty.
func TestDirectoryDelete(t *testing.T) {
	for _, mode := range []string{api.FilepathNestedByMetadata, api.FilepathNone, api.FilepathAggregatedYAML} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			w := dirWriter(t, dir)
			p := localPlacement(func(p *Placement) {
				p.Destination.Filepath.Mode = mode
				if mode == api.FilepathAggregatedYAML {
					p.Destination.Filepath.Filename = "all.yaml"
				}
			})
			if _, err := w.Write(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if len(dirFiles(t, dir)) == 0 {
				t.Fatal("nothing written")
			}
			if _, err := w.Delete(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if got := dirFiles(t, dir); len(got) != 0 {
				t.Fatalf("after Delete the store holds %v", got)
			}
			if _, err := w.Delete(t.Context(), p); err != nil {
				t.Fatalf("second Delete = %v, want nil (idempotent)", err)
			}
		})
	}
}

// FuzzAggregated checks that an aggregated file, whatever it holds, parses into sections that format back to
// what they hold, and that replacing one placement's section keeps the others'.
func FuzzAggregated(f *testing.F) {
	f.Add("# placement: a\nx: 1\n---\ny: 2\n---\n# placement: b\nz: 3\n", "c", "w: 4\n")
	f.Add("foreign: true\n", "a", "")
	f.Add("", "a", "---\n# placement: x\n")
	f.Fuzz(func(t *testing.T, file, name, doc string) {
		if name == "" || strings.ContainsAny(name, "\n") {
			return
		}
		s := parseAggregated(file)
		again := parseAggregated(formatAggregated(s))
		if len(again) != len(s) {
			t.Fatalf("sections %v reparse as %v", s, again)
		}
		s[name] = []string{doc}
		out := parseAggregated(formatAggregated(s))
		for n := range s {
			if _, ok := out[n]; !ok && !strings.Contains(doc, "\n---\n"+sectionMark) {
				t.Fatalf("section %q lost after replacing %q: %v", n, name, out)
			}
		}
	})
}

// FuzzTrackingFile checks that whatever a tracking file of mode none holds (it lives in the repository, where
// anyone with push access can change it), a delete never plans to remove a path out of the store.
func FuzzTrackingFile(f *testing.F) {
	f.Add("files:\n- flat/a.yaml\n- flat/b/c.yaml\n")
	f.Add("files: [../../etc/passwd]\n")
	f.Add("files: [/abs]\n")
	f.Add("{}")
	f.Fuzz(func(t *testing.T, content string) {
		p := localPlacement(func(p *Placement) { p.Destination.Filepath.Mode = api.FilepathNone })
		name := "root/dev/.kratix/default-" + p.Name() + ".yaml"
		e, _, err := plan(mapReader{name: content}, "root", p, true)
		if err != nil {
			return
		}
		for _, r := range e.remove {
			if !strings.HasPrefix(r, "root/") || strings.Contains("/"+r+"/", "/../") {
				t.Fatalf("tracking file %q makes a delete remove %q", content, r)
			}
		}
	})
}

type mapReader map[string]string

func (m mapReader) ReadFile(name string) ([]byte, error) {
	if c, ok := m[name]; ok {
		return []byte(c), nil
	}
	return nil, os.ErrNotExist
}

// TestDirectoryRewriteKeepsFiles: writing a placement again replaces its files in place: at the moment each new
// file is renamed into place, the old one is still there (a GitOps agent reading the directory never sees the
// placement's files missing), while a file the placement no longer has is gone.
func TestDirectoryRewriteKeepsFiles(t *testing.T) {
	dir := t.TempDir()
	p := func(fs ...File) Placement {
		return Placement{Destination: destination("dev", api.KindDirectoryStateStore, "local", "", ""), Promise: "redis",
			Resource: "cache", Namespace: "default", Pipeline: "configure", GroupID: rootGroup, Files: fs}
	}
	first := p(files("a.yaml", "a1", "sub/b.yaml", "b1", "old.yaml", "o1")...)
	tr, err := openTree(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	write := func(pl Placement) {
		t.Helper()
		e, _, err := plan(tr, "", pl, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.apply(e); err != nil {
			t.Fatal(err)
		}
	}
	write(first)
	base := first.Dir()
	var missing []string
	tr.testHookBeforeRename = func(name string) {
		if _, err := tr.root.Lstat(name); err != nil {
			missing = append(missing, name)
		}
	}
	write(p(files("a.yaml", "a2", "sub/b.yaml", "b2")...))
	if len(missing) != 0 {
		t.Errorf("files missing while they were rewritten: %v", missing)
	}
	want := map[string]string{base + "/a.yaml": "a2", base + "/sub/b.yaml": "b2"}
	if diff := cmp.Diff(want, dirFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
