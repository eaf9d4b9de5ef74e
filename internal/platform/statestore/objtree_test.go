package statestore

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/google/go-cmp/cmp"
)

// FuzzObjTreeMatchesDirectory applies the same edits, decoded from the input, to a directory (the directory
// store's tree) and to an in-memory git tree: both fail or neither does, and they end with the same files. A
// second tree, opened from the first one's written hash, reads every file back the same, and writing it again
// unchanged gives the same hash.
func FuzzObjTreeMatchesDirectory(f *testing.F) {
	f.Add([]byte("wa/b\x01wa/c\x02ra\x00wa\x03"))
	f.Add([]byte("wa\x01wa/b\x02"))
	f.Add([]byte("wa/b/c\x01ra/b\x00wa/b\x02rz\x00"))
	f.Add([]byte("w.git/x\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es := decodeEdits(data)
		dir := t.TempDir()
		dt, err := openTree(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		defer dt.Close()
		st := memory.NewStorage()
		ot := newObjTree(st, plumbing.ZeroHash)
		for i, e := range es {
			derr := dt.apply(e)
			oerr := ot.apply(e)
			if (derr == nil) != (oerr == nil) {
				t.Fatalf("edit %d %+v: directory %v, git tree %v", i, e, derr, oerr)
			}
		}
		h, err := ot.write()
		if err != nil {
			t.Fatal(err)
		}
		got := treeFiles(t, st, h)
		want := dirFiles(t, dir)
		for p := range want {
			if filepath.Base(p)[:min(5, len(filepath.Base(p)))] == ".tmp-" {
				delete(want, p)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("files (-directory +git tree):\n%s", diff)
		}
		again := newObjTree(st, h)
		for p, c := range got {
			b, err := again.ReadFile(p)
			if err != nil || string(b) != c {
				t.Fatalf("ReadFile(%q) = %q, %v; want %q", p, b, err, c)
			}
		}
		if _, err := again.ReadFile("no/such/file"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile of a missing file = %v, want fs.ErrNotExist", err)
		}
	})
}

// decodeEdits reads edits from data: 'w' path \x01..\x09 (write, the byte is the content) or 'r' path \x00
// (remove), paths over a small alphabet so that edits meet.
func decodeEdits(data []byte) []edits {
	var out []edits
	for len(data) > 1 {
		op := data[0]
		data = data[1:]
		end := 0
		for end < len(data) && data[end] > 0x09 {
			end++
		}
		p := string(data[:end])
		var sep byte
		if end < len(data) {
			sep = data[end]
			end++
		}
		data = data[end:]
		if checkRel(p) != nil && p != "" {
			continue
		}
		switch op {
		case 'w':
			out = append(out, edits{write: []File{{Path: p, Content: []byte{'0' + sep}}}})
		case 'r':
			out = append(out, edits{remove: []string{p}})
		}
	}
	return out
}

// treeFiles lists every file of tree h, path → content.
func treeFiles(t *testing.T, st *memory.Storage, h plumbing.Hash) map[string]string {
	t.Helper()
	out := map[string]string{}
	if h.IsZero() {
		return out
	}
	tr, err := object.GetTree(st, h)
	if err != nil {
		t.Fatal(err)
	}
	w := object.NewTreeWalker(tr, true, nil)
	w.SkipPathValidation() // the directory store takes any name but NUL; so does a git tree
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Mode == filemode.Dir {
			sub, err := object.GetTree(st, e.Hash)
			if err != nil || len(sub.Entries) == 0 {
				t.Fatalf("directory %s: %v entries, %v: git has no empty directories", name, sub, err)
			}
			continue
		}
		b, err := object.GetBlob(st, e.Hash)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := b.Reader()
		c, _ := io.ReadAll(r)
		r.Close()
		out[name] = string(c)
	}
	return out
}
