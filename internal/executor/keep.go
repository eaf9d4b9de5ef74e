package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// DefaultKeepLimit bounds the bytes KeepFiles copies when the executor's option says nothing.
const DefaultKeepLimit = 64 << 20

// maxKeepEntries bounds the files and directories KeepFiles copies, whatever their size.
const maxKeepEntries = 10000

// The directories of an attempt's directory that KeepFiles keeps, by name: Spec.Keep gets one of each.
const (
	KeepOutput   = "output"
	KeepMetadata = "metadata"
)

// KeepFiles copies the output and metadata directories of an attempt (src/output, src/metadata, written by the
// job) into keep/output and keep/metadata, made afresh (what an earlier call left there is removed). The copies
// belong to the calling process (the server), mode 0600 and 0700, whoever owned the originals. Only regular files
// and directories are copied: symbolic links (never followed, not even within src), devices, FIFOs and sockets
// are skipped, and nothing outside src is ever read. At most limit bytes (DefaultKeepLimit if limit <= 0) and
// maxKeepEntries entries are copied; the rest is skipped. What was skipped is returned as warnings for the
// attempt's Result. An error means keep could not be written.
//
// Call it once the attempt's processes have ended: it reads what they left, and a job still writing could only
// confuse itself (src is opened as an os.Root, so a link it plants mid-copy leads nowhere outside).
func KeepFiles(src, keep string, limit int64) (warnings []string, err error) {
	if limit <= 0 {
		limit = DefaultKeepLimit
	}
	if err := os.MkdirAll(keep, 0o700); err != nil {
		return nil, fmt.Errorf("keep files: %w", err)
	}
	k := &keeper{limit: limit}
	for _, d := range []string{KeepOutput, KeepMetadata} {
		dst := filepath.Join(keep, d)
		if err := os.RemoveAll(dst); err != nil {
			return nil, fmt.Errorf("keep files: %w", err)
		}
		if err := os.Mkdir(dst, 0o700); err != nil {
			return nil, fmt.Errorf("keep files: %w", err)
		}
		// The directories themselves are the job's too: one it replaced by a link is not followed.
		fi, err := os.Lstat(filepath.Join(src, d))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && !fi.IsDir() {
			k.skippedKind++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keep files: %w", err)
		}
		root, err := os.OpenRoot(filepath.Join(src, d))
		if err != nil {
			return nil, fmt.Errorf("keep files: %w", err)
		}
		err = k.copyDir(root, ".", dst)
		root.Close()
		if err != nil {
			return nil, fmt.Errorf("keep files: %w", err)
		}
	}
	if k.skippedSize > 0 {
		warnings = append(warnings, fmt.Sprintf("kept files: %d files over the limit of %d bytes were not kept", k.skippedSize, limit))
	}
	if k.skippedCount > 0 {
		warnings = append(warnings, fmt.Sprintf("kept files: %d entries over the limit of %d files and directories were not kept", k.skippedCount, maxKeepEntries))
	}
	if k.skippedKind > 0 {
		warnings = append(warnings, fmt.Sprintf("kept files: %d entries that are neither regular files nor directories (symbolic links, ...) were not kept", k.skippedKind))
	}
	return warnings, nil
}

type keeper struct {
	limit, used                            int64
	entries                                int
	skippedSize, skippedCount, skippedKind int
}

// copyDir copies the directory dir of root into dst (which exists).
func (k *keeper) copyDir(root *os.Root, dir, dst string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if k.entries >= maxKeepEntries {
			k.skippedCount++
			continue
		}
		fi, err := root.Lstat(name)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			k.entries++
			d := filepath.Join(dst, e.Name())
			if err := os.Mkdir(d, 0o700); err != nil {
				return err
			}
			if err := k.copyDir(root, name, d); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			k.entries++
			if fi.Size() > k.limit-k.used {
				k.skippedSize++
				continue
			}
			if err := k.copyFile(root, name, filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		default:
			k.skippedKind++
		}
	}
	return nil
}

// copyFile copies the regular file name of root to dst, at most what is left of the limit.
func (k *keeper) copyFile(root *os.Root, name, dst string) error {
	in, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) { // replaced by a link since Lstat
		k.skippedKind++
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		k.skippedKind++
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	room := k.limit - k.used
	n, err := io.Copy(out, io.LimitReader(in, room+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > room { // it grew since Lstat
		k.skippedSize++
		return os.Remove(dst)
	}
	k.used += n
	return nil
}
