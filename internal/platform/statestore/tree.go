package statestore

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// tree is a directory that edits are applied to, through an os.Root: no path given to it, and no symlink met on
// the way, can lead out of it.
type tree struct {
	root *os.Root
	// sync makes each write durable before it is renamed into place.
	sync bool

	testHookBeforeRename func(name string) // tests only
}

func openTree(dir string, sync bool) (*tree, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &tree{root: r, sync: sync}, nil
}

func (t *tree) Close() error { return t.root.Close() }

// ReadFile reads a file of the tree.
func (t *tree) ReadFile(name string) ([]byte, error) { return t.root.ReadFile(name) }

// apply makes e's changes: removals, then each write atomically (a temporary file in the same directory, synced,
// renamed over the old one). A removal spares the files that a write of e replaces, so that a placement written
// again never shows a reader (a GitOps agent watching the directory) its files missing: they change in place.
func (t *tree) apply(e edits) error {
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
	keep := make(map[string]bool, len(e.write))
	for _, f := range e.write {
		keep[f.Path] = true
	}
	for _, p := range e.remove {
		if err := t.removeExcept(p, keep); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	for _, f := range e.write {
		if err := t.writeFile(f.Path, f.Content); err != nil {
			return err
		}
	}
	return nil
}

// removeExcept removes p and all it holds, except the files in keep (and the directories that lead to them).
// A path under a file does not exist either (as in a git tree).
func (t *tree) removeExcept(p string, keep map[string]bool) error {
	kept := false
	for k := range keep {
		if k == p || strings.HasPrefix(k, p+"/") {
			kept = true
			break
		}
	}
	if !kept {
		if err := t.root.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return err
		}
		return nil
	}
	fi, err := t.root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		if keep[p] {
			return nil // replaced by its write
		}
		return t.root.Remove(p)
	}
	d, err := t.root.Open(p)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := t.removeExcept(path.Join(p, n), keep); err != nil {
			return err
		}
	}
	if keep[p] {
		// A file is written where this directory is: it must go (the write then fails if it cannot).
		return t.root.Remove(p)
	}
	return nil
}

// notGit refuses a path into a .git directory (a destination or store path naming one): a write there could
// change the repository's configuration.
func notGit(p string) error {
	for _, seg := range strings.Split(p, "/") {
		if strings.EqualFold(seg, ".git") {
			return invalidf("%s: a .git directory may not be written", p)
		}
	}
	if p == "" || p == "." {
		return invalidf("the store's root itself may not be replaced")
	}
	return nil
}

// writeFile puts content at name: through a new file renamed into place, so a reader sees the old file or the new
// one, never a part; not at all when the file already holds exactly content (a placement written again as it was
// changes nothing, and makes no temporary file a reader could see).
func (t *tree) writeFile(name string, content []byte) error {
	if t.holds(name, content) {
		return nil
	}
	dir := path.Dir(name)
	if err := t.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := t.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, werr := f.Write(content)
	if werr == nil && t.sync {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		// A directory where the file goes is someone else's files (mode none writes among others'): refused.
		if fi, err := t.root.Lstat(name); err == nil && fi.IsDir() {
			werr = fmt.Errorf("a directory is in the way")
		}
	}
	if werr == nil {
		if t.testHookBeforeRename != nil {
			t.testHookBeforeRename(name)
		}
		werr = t.root.Rename(tmp, name)
	}
	if werr != nil {
		_ = t.root.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, werr)
	}
	return nil
}

// holds reports whether name is a regular file whose bytes are content.
func (t *tree) holds(name string, content []byte) bool {
	fi, err := t.root.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(content)) {
		return false
	}
	b, err := t.root.ReadFile(name)
	return err == nil && bytes.Equal(b, content)
}
