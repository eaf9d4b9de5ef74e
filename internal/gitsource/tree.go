package gitsource

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Small files are kept in memory as well, so a checkout writes them without reading the extracted copy.
const (
	inlineFileMax  = 16 << 10
	inlineTotalMax = 8 << 20
)

// tree is one commit's files, extracted read-only under dir, with the manifest needed to copy them.
type tree struct {
	dir     string
	entries []entry
	// guarded by Cache.mu
	refs    int
	lastUse time.Time
	removed bool
}

type entry struct {
	name string      // slash-separated, relative, clean
	mode fs.FileMode // fs.ModeDir, fs.ModeSymlink or regular with permission bits 0644/0755
	link string      // symlink target
	data []byte      // content of small regular files; nil means read it from dir
}

func (c *Cache) acquireLocked(t *tree) {
	t.refs++
	t.lastUse = c.now()
}

// acquire takes a reference on t for its caller, unless t was removed from the cache meanwhile (errTreeGone).
func (c *Cache) acquire(t *tree) (*tree, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.removed {
		return nil, errTreeGone
	}
	c.acquireLocked(t)
	return t, nil
}

func (c *Cache) release(t *tree) {
	c.mu.Lock()
	t.refs--
	c.mu.Unlock()
}

// extract returns commit's tree, extracting it if it is not there yet, and evicts trees beyond
// KeepTrees that nobody uses. m.mu must be held.
func (c *Cache) extract(ctx context.Context, m *mirror, commit string) (*tree, error) {
	return c.extractWith(m, commit, func() (*tree, error) { return c.extractRaw(ctx, m, commit) })
}

// extractWith is extract with raw making the tree when it is not there yet.
func (c *Cache) extractWith(m *mirror, commit string, raw func() (*tree, error)) (*tree, error) {
	c.mu.Lock()
	t := m.trees[commit]
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := raw()
	if err != nil {
		return nil, fmt.Errorf("gitsource: extract %.12s of %s: %w", commit, RedactURL(m.url), err)
	}
	c.mu.Lock()
	t.lastUse = c.now()
	m.trees[commit] = t
	evict := c.evictLocked(m, t)
	c.mu.Unlock()
	for _, o := range evict {
		if err := os.RemoveAll(o.dir); err != nil {
			c.log.Warn("remove old tree", "dir", o.dir, "err", err)
		}
	}
	return t, nil
}

// evictLocked drops m's least recently used trees beyond KeepTrees that nobody is copying (never keep, the one
// just made) and returns them for removal. c.mu must be held.
func (c *Cache) evictLocked(m *mirror, keep *tree) []*tree {
	if len(m.trees) <= c.opts.KeepTrees {
		return nil
	}
	commits := make([]string, 0, len(m.trees))
	for commit := range m.trees {
		commits = append(commits, commit)
	}
	slices.SortFunc(commits, func(a, b string) int { return m.trees[a].lastUse.Compare(m.trees[b].lastUse) })
	var evict []*tree
	for _, commit := range commits[:len(commits)-c.opts.KeepTrees] {
		if t := m.trees[commit]; t.refs == 0 && t != keep {
			t.removed = true
			delete(m.trees, commit)
			evict = append(evict, t)
		}
	}
	return evict
}

// copyTo writes the tree into dst (created if missing; it must hold none of the tree's names), owned as opts
// say.
func (t *tree) copyTo(dst string, opts CheckoutOptions) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	chown := func(p string) error { return nil }
	if opts.Chown {
		chown = func(p string) error { return os.Lchown(p, opts.UID, opts.GID) }
		if err := chown(dst); err != nil {
			return err
		}
	}
	for _, e := range t.entries {
		p := filepath.Join(dst, filepath.FromSlash(e.name))
		var err error
		switch {
		case e.mode.IsDir():
			if err = os.Mkdir(p, e.mode.Perm()); err == nil {
				err = chown(p)
			}
		case e.mode&fs.ModeSymlink != 0:
			if err = os.Symlink(e.link, p); err == nil {
				err = chown(p)
			}
		default:
			err = t.copyFile(e, p, opts)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tree) copyFile(e entry, p string, opts CheckoutOptions) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, e.mode.Perm())
	if err != nil {
		return err
	}
	if opts.Chown {
		err = f.Chown(opts.UID, opts.GID) // fchown: the file is never reopened by name
	}
	if err == nil {
		err = t.fill(f, e)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", e.name, err)
	}
	return nil
}

// fill writes e's content into f.
func (t *tree) fill(f *os.File, e entry) error {
	if e.data != nil {
		_, err := f.Write(e.data)
		return err
	}
	src, err := os.Open(filepath.Join(t.dir, filepath.FromSlash(e.name)))
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = io.Copy(f, src) // copy_file_range
	return err
}
