package gitsource

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
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

func (c *Cache) release(t *tree) {
	c.mu.Lock()
	t.refs--
	c.mu.Unlock()
}

// extract returns commit's tree, extracting it with git archive if it is not there yet, and evicts trees beyond
// KeepTrees that nobody uses. m.mu must be held.
func (c *Cache) extract(ctx context.Context, m *mirror, commit string) (*tree, error) {
	c.mu.Lock()
	t := m.trees[commit]
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := c.archive(ctx, m, commit)
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

// archive streams `git archive` of commit into a fresh directory and builds its manifest.
func (c *Cache) archive(ctx context.Context, m *mirror, commit string) (*tree, error) {
	root := filepath.Join(c.trees, filepath.Base(m.dir))
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(root, ".tmp-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	inv := buildGit(c.home, "", "archive", "--format=tar", commit)
	cmd := inv.command(ctx, m.dir)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	entries, rerr := readTar(out, tmp)
	if rerr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("git archive: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if rerr != nil {
		return nil, rerr
	}
	dir := filepath.Join(root, commit)
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	ok = true
	return &tree{dir: dir, entries: entries}, nil
}

// readTar writes the regular files, directories and symlinks of a git archive under dir (read-only files) and
// returns them in archive order (parents first). Names that could escape dir are refused.
func readTar(r io.Reader, dir string) ([]entry, error) {
	tr := tar.NewReader(r)
	dirs := map[string]bool{".": true}
	var entries []entry
	inline := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		var e entry
		switch h.Typeflag {
		case tar.TypeDir:
			e.mode = fs.ModeDir | 0o755
		case tar.TypeReg:
			e.mode = 0o644
			if h.Mode&0o100 != 0 {
				e.mode = 0o755
			}
		case tar.TypeSymlink:
			e.mode = fs.ModeSymlink | 0o777
			e.link = h.Linkname
		default:
			continue // pax headers, gitlinks
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name == "" || !fs.ValidPath(name) || name == "." {
			return nil, fmt.Errorf("archive entry %q: invalid path", h.Name)
		}
		if !dirs[path.Dir(name)] {
			return nil, fmt.Errorf("archive entry %q: parent is not a directory of the tree", h.Name)
		}
		e.name = name
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch {
		case e.mode.IsDir():
			if err := os.Mkdir(p, 0o755); err != nil {
				return nil, err
			}
			dirs[name] = true
		case e.mode&fs.ModeSymlink != 0:
			if err := os.Symlink(e.link, p); err != nil {
				return nil, err
			}
		default:
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, e.mode.Perm()&0o555)
			if err != nil {
				return nil, err
			}
			if h.Size <= inlineFileMax && inline+int(h.Size) <= inlineTotalMax {
				e.data = make([]byte, h.Size)
				if _, err = io.ReadFull(tr, e.data); err == nil {
					_, err = f.Write(e.data)
				}
				inline += int(h.Size)
			} else {
				_, err = io.Copy(f, tr)
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
		}
		entries = append(entries, e)
	}
}

// copyTo writes the tree into dst (created if missing; it must hold none of the tree's names).
func (t *tree) copyTo(dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range t.entries {
		p := filepath.Join(dst, filepath.FromSlash(e.name))
		var err error
		switch {
		case e.mode.IsDir():
			err = os.Mkdir(p, e.mode.Perm())
		case e.mode&fs.ModeSymlink != 0:
			err = os.Symlink(e.link, p)
		default:
			err = t.copyFile(e, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tree) copyFile(e entry, p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, e.mode.Perm())
	if err != nil {
		return err
	}
	if e.data != nil {
		_, err = f.Write(e.data)
	} else {
		var src *os.File
		src, err = os.Open(filepath.Join(t.dir, filepath.FromSlash(e.name)))
		if err == nil {
			_, err = io.Copy(f, src) // copy_file_range
			src.Close()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", e.name, err)
	}
	return nil
}
