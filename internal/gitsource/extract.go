package gitsource

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxLinkTarget bounds a symlink's target (PATH_MAX).
const maxLinkTarget = 4096

// extractRaw writes commit's tree into a fresh directory and builds its manifest. The bytes written are the
// blobs' bytes: the tree is listed with `git ls-tree` and the blobs read with `git cat-file --batch`, which apply
// no .gitattributes (no filter drivers, export-subst, ident, eol conversion, export-ignore) from the tree, the
// mirror or anywhere else, so nothing in the repository or the mirror's config can make the server run a command
// or change what a job gets. (`git archive` does apply the tree's attributes, and git 2.39 has no attr.tree
// to stop it.)
func (c *Cache) extractRaw(ctx context.Context, m *mirror, commit string) (*tree, error) {
	return c.extractInto(m, commit, func(tmp string) ([]entry, error) {
		out, err := c.runGit(ctx, m.dir, "", "ls-tree", "-r", "-t", "-z", "--full-tree", commit)
		if err != nil {
			return nil, err
		}
		entries, blobs, err := parseLsTree(out)
		if err != nil {
			return nil, err
		}
		if err := c.writeBlobs(ctx, m, tmp, entries, blobs); err != nil {
			return nil, err
		}
		return entries, nil
	})
}

// extractInto makes commit's tree of m: fill writes the files into a fresh directory and returns the manifest;
// the directory is renamed into place only once whole.
func (c *Cache) extractInto(m *mirror, commit string, fill func(dir string) ([]entry, error)) (*tree, error) {
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
	entries, err := fill(tmp)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, commit)
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	ok = true
	return &tree{dir: dir, entries: entries}, nil
}

// parseLsTree reads `git ls-tree -r -t -z` output: "<mode> <type> <oid>\t<path>\0" per entry, each tree before
// its contents. It returns the entries (parents first) and, for each, its blob id ("" for directories). Gitlinks
// (submodules) are skipped; names that could escape the directory are refused.
func parseLsTree(out []byte) ([]entry, []string, error) {
	dirs := map[string]bool{".": true}
	var entries []entry
	var blobs []string
	for len(out) > 0 {
		rec, rest, found := bytes.Cut(out, []byte{0})
		if !found {
			return nil, nil, errors.New("ls-tree: truncated output")
		}
		out = rest
		meta, name, ok := strings.Cut(string(rec), "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 || !isHex(f[2]) {
			return nil, nil, fmt.Errorf("ls-tree: unexpected record %q", rec)
		}
		var e entry
		oid := f[2]
		mode, skip, err := entryMode(f[0], name)
		if err != nil {
			return nil, nil, err
		}
		if skip {
			continue // a gitlink: submodules are not fetched
		}
		if e.mode = mode; mode.IsDir() {
			oid = ""
		}
		if err := checkEntryName(dirs, name, mode); err != nil {
			return nil, nil, err
		}
		e.name = name
		entries = append(entries, e)
		blobs = append(blobs, oid)
	}
	return entries, blobs, nil
}

// entryMode maps a tree entry's git mode (octal, as ls-tree prints it) to the mode it is written with; skip is
// true for a gitlink (a submodule), which is not fetched.
func entryMode(gitMode, name string) (mode fs.FileMode, skip bool, err error) {
	switch gitMode {
	case "040000":
		return fs.ModeDir | 0o755, false, nil
	case "100644", "100664":
		return 0o644, false, nil
	case "100755":
		return 0o755, false, nil
	case "120000":
		return fs.ModeSymlink | 0o777, false, nil
	case "160000":
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("ls-tree: entry %q: unknown mode %s", name, gitMode)
}

// checkEntryName refuses a name that could escape the directory, or whose parent is not a directory met before
// it; a directory's name is added to dirs.
func checkEntryName(dirs map[string]bool, name string, mode fs.FileMode) error {
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("tree entry %q: invalid path", name)
	}
	if !dirs[path.Dir(name)] {
		return fmt.Errorf("tree entry %q: parent is not a directory of the tree", name)
	}
	if mode.IsDir() {
		dirs[name] = true
	}
	return nil
}

// writeBlobs creates entries under dir (read-only files), reading the blobs with one `git cat-file --batch`.
// Small files and symlink targets are kept in the entries as well.
func (c *Cache) writeBlobs(ctx context.Context, m *mirror, dir string, entries []entry, blobs []string) error {
	var req bytes.Buffer
	for _, oid := range blobs {
		if oid != "" {
			req.WriteString(oid)
			req.WriteByte('\n')
		}
	}
	inv := buildGit(c.home, "", "cat-file", "--batch", "--buffer") // not one flush (and a context switch) per object
	if c.testHookGit != nil {
		c.testHookGit(inv)
	}
	cmd := inv.command(ctx, m.dir)
	cmd.Stdin = &req // exec copies it from its own goroutine: no deadlock with our reading stdout
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	werr := writeEntries(bufio.NewReaderSize(pipe, 64<<10), dir, entries, blobs)
	if werr != nil {
		_, _ = io.Copy(io.Discard, pipe)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return werr
}

func writeEntries(r *bufio.Reader, dir string, entries []entry, blobs []string) error {
	inline := 0
	for i := range entries {
		e := &entries[i]
		p := filepath.Join(dir, filepath.FromSlash(e.name))
		if e.mode.IsDir() {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			continue
		}
		size, err := readBatchHeader(r, blobs[i])
		if err != nil {
			return fmt.Errorf("git cat-file: %s: %w", e.name, err)
		}
		if e.mode&fs.ModeSymlink != 0 {
			if size > maxLinkTarget {
				return fmt.Errorf("tree entry %q: symlink target too long", e.name)
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(r, b); err != nil {
				return err
			}
			e.link = string(b)
			if err := os.Symlink(e.link, p); err != nil {
				return err
			}
		} else if err := writeBlob(r, p, e, size, &inline); err != nil {
			return err
		}
		if b, err := r.ReadByte(); err != nil || b != '\n' {
			return fmt.Errorf("git cat-file: %s: object not terminated", e.name)
		}
	}
	return nil
}

func writeBlob(r io.Reader, p string, e *entry, size int64, inline *int) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, e.mode.Perm()&0o555)
	if err != nil {
		return err
	}
	if size <= inlineFileMax && *inline+int(size) <= inlineTotalMax {
		e.data = make([]byte, size)
		if _, err = io.ReadFull(r, e.data); err == nil {
			_, err = f.Write(e.data)
		}
		*inline += int(size)
	} else {
		_, err = io.CopyN(f, r, size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readBatchHeader reads "<oid> blob <size>\n" and returns the size.
func readBatchHeader(r *bufio.Reader, oid string) (int64, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != oid || f[1] != "blob" {
		return 0, fmt.Errorf("unexpected object header %q", strings.TrimSpace(line))
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return 0, fmt.Errorf("unexpected object header %q", strings.TrimSpace(line))
	}
	return size, nil
}
