package statestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// objTree is a commit's tree edited in memory: directories are read from the object store only along the paths
// an edit or a read touches, and only the directories an edit changed are written as new tree objects. It is
// what a git state store's commits are made from, with no work tree and no index: a write costs the objects it
// makes, whatever the repository's size.
type objTree struct {
	st   storer.EncodedObjectStorer
	root *objDir
}

// objDir is one directory: its entries once read (nil until then) and whether an edit changed them.
type objDir struct {
	hash    plumbing.Hash // the stored tree; zero for a directory made by an edit
	entries map[string]*objEntry
	dirty   bool
}

type objEntry struct {
	mode filemode.FileMode
	hash plumbing.Hash
	dir  *objDir // a directory's, once opened
}

// newObjTree opens the tree with root hash h (zero for an empty tree) in st.
func newObjTree(st storer.EncodedObjectStorer, h plumbing.Hash) *objTree {
	return &objTree{st: st, root: &objDir{hash: h}}
}

func (d *objDir) load(st storer.EncodedObjectStorer) error {
	if d.entries != nil {
		return nil
	}
	d.entries = map[string]*objEntry{}
	if d.hash.IsZero() {
		return nil
	}
	t, err := object.GetTree(st, d.hash)
	if err != nil {
		d.entries = nil
		return fmt.Errorf("read tree %s: %w", d.hash, err)
	}
	for _, e := range t.Entries {
		d.entries[e.Name] = &objEntry{mode: e.Mode, hash: e.Hash}
	}
	return nil
}

// sub opens e as a directory.
func (e *objEntry) sub(st storer.EncodedObjectStorer) (*objDir, error) {
	if e.dir == nil {
		e.dir = &objDir{hash: e.hash}
	}
	return e.dir, e.dir.load(st)
}

// walk returns the directory that holds p's last segment, and that segment. With create, missing directories
// are made (a file in the way is an InvalidError); without, a missing one is nil.
func (t *objTree) walk(p string, create bool) (*objDir, string, []*objDir, error) {
	segs := strings.Split(p, "/")
	d := t.root
	if err := d.load(t.st); err != nil {
		return nil, "", nil, err
	}
	path := []*objDir{d}
	for i, s := range segs[:len(segs)-1] {
		e := d.entries[s]
		switch {
		case e == nil && !create:
			return nil, "", nil, nil
		case e == nil:
			e = &objEntry{mode: filemode.Dir, dir: &objDir{entries: map[string]*objEntry{}}}
			d.entries[s] = e
		case e.mode != filemode.Dir && !create:
			return nil, "", nil, nil
		case e.mode != filemode.Dir:
			return nil, "", nil, invalidf("write %s: %s is a file, not a directory", p, strings.Join(segs[:i+1], "/"))
		}
		sub, err := e.sub(t.st)
		if err != nil {
			return nil, "", nil, err
		}
		d = sub
		path = append(path, d)
	}
	return d, segs[len(segs)-1], path, nil
}

// ReadFile reads a file of the tree; fs.ErrNotExist when there is none.
func (t *objTree) ReadFile(name string) ([]byte, error) {
	d, base, _, err := t.walk(name, false)
	if err != nil || d == nil {
		if err == nil {
			err = fs.ErrNotExist
		}
		return nil, err
	}
	e := d.entries[base]
	switch {
	case e == nil:
		return nil, fs.ErrNotExist
	case e.mode == filemode.Dir:
		return nil, fmt.Errorf("read %s: a directory", name)
	case e.mode != filemode.Regular && e.mode != filemode.Executable && e.mode != filemode.Deprecated:
		return nil, fmt.Errorf("read %s: not a regular file (mode %s)", name, e.mode)
	}
	o, err := t.st.EncodedObject(plumbing.BlobObject, e.hash)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// apply makes e's changes: removals (a file, or a directory and all it holds), then writes, each a new blob.
// New objects go to st.
func (t *objTree) apply(e edits) error {
	for _, p := range e.remove {
		if err := notGit(p); err != nil {
			return err
		}
	}
	for _, f := range e.write {
		if err := notGit(f.Path); err != nil {
			return err
		}
	}
	for _, p := range e.remove {
		d, base, path, err := t.walk(p, false)
		if err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		if d == nil || d.entries[base] == nil {
			continue
		}
		delete(d.entries, base)
		markDirty(path)
	}
	for _, f := range e.write {
		d, base, path, err := t.walk(f.Path, true)
		if err != nil {
			return err
		}
		if old := d.entries[base]; old != nil && old.mode == filemode.Dir {
			return invalidf("write %s: a directory is in the way", f.Path)
		}
		h, err := writeObject(t.st, plumbing.BlobObject, f.Content)
		if err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		d.entries[base] = &objEntry{mode: filemode.Regular, hash: h}
		markDirty(path)
	}
	return nil
}

func markDirty(path []*objDir) {
	for _, d := range path {
		d.dirty = true
	}
}

// writeObject stores content as an object of type typ and returns its hash.
func writeObject(st storer.EncodedObjectStorer, typ plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	o := st.NewEncodedObject()
	o.SetType(typ)
	o.SetSize(int64(len(content)))
	w, err := o.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(o)
}

// write stores the changed directories as tree objects and returns the root's hash (zero for an empty tree
// that was never stored: git has no empty directories, so a directory left empty disappears from its parent).
func (t *objTree) write() (plumbing.Hash, error) {
	h, _, err := t.root.write(t.st, true)
	return h, err
}

// write returns d's tree hash, storing d if it changed; empty reports a directory with no entries.
func (d *objDir) write(st storer.EncodedObjectStorer, isRoot bool) (h plumbing.Hash, empty bool, err error) {
	if !d.dirty {
		return d.hash, false, nil
	}
	var tr object.Tree
	for name, e := range d.entries {
		if e.dir != nil && e.dir.dirty {
			sh, sempty, err := e.dir.write(st, false)
			if err != nil {
				return plumbing.ZeroHash, false, err
			}
			if sempty {
				delete(d.entries, name)
				continue
			}
			e.hash = sh
		}
		tr.Entries = append(tr.Entries, object.TreeEntry{Name: name, Mode: e.mode, Hash: e.hash})
	}
	if len(tr.Entries) == 0 && !isRoot {
		return plumbing.ZeroHash, true, nil
	}
	sort.Sort(object.TreeEntrySorter(tr.Entries))
	o := st.NewEncodedObject()
	if err := tr.Encode(o); err != nil {
		return plumbing.ZeroHash, false, err
	}
	if h, err = st.SetEncodedObject(o); err != nil {
		return plumbing.ZeroHash, false, err
	}
	d.hash, d.dirty = h, false
	return h, false, nil
}

// errNotFound reports whether err is a missing object: the repository was repacked or rewritten under a
// cached view of it.
func errNotFound(err error) bool { return errors.Is(err, plumbing.ErrObjectNotFound) }
