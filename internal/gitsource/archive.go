package gitsource

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// Archive writes the tree of the head of repo's branch (default main) to w as a tar archive — its directories,
// regular files with their modes and symlinks, as Checkout writes them; no .git — and returns the commit. An
// archive that would be longer than max bytes (max > 0) is ErrTooLarge, and w then has a part of it. It fetches as
// Checkout does; its errors never contain the token or URL user info.
//
// A Kubernetes pod gets a small checkout this way, through a Secret, instead of cloning it itself.
func (c *Cache) Archive(ctx context.Context, repo executor.Repo, w io.Writer, max int64) (commit string, err error) {
	return c.withTree(ctx, repo, "", "archive", func(t *tree) error { return t.archive(w, max, c.now()) })
}

// archive writes t to w as a tar archive of at most max bytes (0: no limit), every entry dated at.
func (t *tree) archive(w io.Writer, max int64, at time.Time) error {
	lw := &limitWriter{w: w, left: max}
	if max <= 0 {
		lw.left = -1
	}
	tw := tar.NewWriter(lw)
	at = at.Truncate(time.Second)
	for _, e := range t.entries {
		h := &tar.Header{Name: e.name, ModTime: at, Format: tar.FormatGNU}
		switch {
		case e.mode.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, e.name+"/", int64(e.mode.Perm())
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Mode = tar.TypeReg, int64(e.mode.Perm())
		}
		if err := t.archiveEntry(tw, h, e); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (t *tree) archiveEntry(tw *tar.Writer, h *tar.Header, e entry) error {
	if h.Typeflag != tar.TypeReg {
		return tw.WriteHeader(h)
	}
	if e.data != nil {
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(e.data)
		return err
	}
	f, err := os.Open(filepath.Join(t.dir, filepath.FromSlash(e.name)))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h.Size = st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// limitWriter fails with ErrTooLarge once more than left bytes (-1: any number) were written.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left >= 0 {
		if int64(len(p)) > l.left {
			return 0, ErrTooLarge
		}
		l.left -= int64(len(p))
	}
	return l.w.Write(p)
}
