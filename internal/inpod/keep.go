package inpod

import (
	"archive/tar"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

// The environment of `runplane pod keep`, the last container of a multi-container job whose files are kept: it
// writes what the job's containers left in the shared directories to its log, for the executor to take back
// (ExtractKeep). The log is the one way out of a pod that needs no more than the executor can already do
// (read pods' logs): no upload endpoint, no exec.
const (
	EnvKeepDirs = "RUNPLANE_KEEP_DIRS" // NAME=DIR,... : each directory becomes NAME/ in the archive
	EnvKeepMax  = "RUNPLANE_KEEP_MAX"  // the most bytes of file content kept; required
	// EnvKeepAfter is the last job container's done-marker (pid1.Step) when the keep container starts together
	// with it: it waits for it, and keeps nothing if that container did not succeed. Optional.
	EnvKeepAfter = "RUNPLANE_KEEP_AFTER"
)

// keepLine is the length of the base64 lines WriteKeep writes: the container runtime splits longer lines.
const keepLine = 76

// RunKeep is `runplane pod keep`: WriteKeep of the directories in the environment to stdout. It is its
// container's PID 1 (runplane-pid1 would merge its error into the archive): on success its termination message is
// runplane-pid1's report of the output's length, once the container runtime has read it all; on failure, the
// message, also on stderr (which the executor does not read as the archive), and it returns 1.
func RunKeep(getenv func(string) string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		msg := err.Error()
		pid1.WriteTerminationLog(pid1.TerminationLogPath(getenv), msg)
		fmt.Fprintln(stderr, msg)
		return 1
	}
	max, err := strconv.ParseInt(getenv(EnvKeepMax), 10, 64)
	if err != nil || max <= 0 {
		return fail(fmt.Errorf("%s: %q is not a positive number of bytes", EnvKeepMax, getenv(EnvKeepMax)))
	}
	var dirs [][2]string
	for _, kv := range strings.Split(getenv(EnvKeepDirs), ",") {
		name, dir, ok := strings.Cut(kv, "=")
		if !ok || name == "" || dir == "" {
			return fail(fmt.Errorf("%s: %q is not NAME=DIR", EnvKeepDirs, kv))
		}
		dirs = append(dirs, [2]string{name, dir})
	}
	if after := getenv(EnvKeepAfter); after != "" {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		ok, why := pid1.AwaitMarker(after, sigs)
		signal.Stop(sigs)
		if !ok {
			// The job failed, and the executor keeps nothing of a failed job's pod (it says so).
			pid1.WriteTerminationLog(pid1.TerminationLogPath(getenv), pid1.Report{NotRun: why}.String())
			return 0
		}
	}
	cw := &countingWriter{w: stdout}
	if err := WriteKeep(cw, dirs, max); err != nil {
		return fail(err)
	}
	if f, ok := stdout.(*os.File); ok {
		pid1.WaitRead(f, cw.n)
	}
	pid1.WriteTerminationLog(pid1.TerminationLogPath(getenv), pid1.Report{OutputBytes: cw.n}.String())
	return 0
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteKeep writes the regular files and directories under each dirs[i][1] (as dirs[i][0]/...) as a gzipped tar,
// base64 encoded in lines, to w. Symbolic links and other special files are left out. It refuses, before writing
// anything, files of more than max bytes in all.
func WriteKeep(w io.Writer, dirs [][2]string, max int64) error {
	var total int64
	for _, d := range dirs {
		err := filepath.WalkDir(d[1], func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type().IsRegular() {
				fi, err := e.Info()
				if err != nil {
					return err
				}
				total += fi.Size()
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keep %s: %w", d[0], err)
		}
	}
	if total > max {
		return fmt.Errorf("the files in %s are %d bytes, over the %d kept", dirNames(dirs), total, max)
	}
	enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: w})
	zw := gzip.NewWriter(enc)
	tw := tar.NewWriter(zw)
	for _, d := range dirs {
		err := filepath.WalkDir(d[1], func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(d[1], p)
			if err != nil {
				return err
			}
			name := path.Join(d[0], filepath.ToSlash(rel))
			switch {
			case e.IsDir():
				return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
			case e.Type().IsRegular():
				return addFile(tw, p, name, max)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keep %s: %w", d[0], err)
		}
	}
	for _, c := range []io.Closer{tw, zw, enc} {
		if err := c.Close(); err != nil {
			return fmt.Errorf("keep: %w", err)
		}
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func addFile(tw *tar.Writer, p, name string, max int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	// A file that grew since it was counted is cut to what was counted (tar's header says so).
	_, err = io.CopyN(tw, f, min(fi.Size(), max))
	return err
}

func dirNames(dirs [][2]string) string {
	names := make([]string, len(dirs))
	for i, d := range dirs {
		names[i] = d[0]
	}
	return strings.Join(names, " and ")
}

// lineWriter ends a line every keepLine bytes.
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), keepLine-l.col)
		if _, err := l.w.Write(p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
		if l.col += k; l.col == keepLine {
			if _, err := l.w.Write([]byte{'\n'}); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

// ExtractKeep reads what WriteKeep wrote from r and writes its files under dst (dst/NAME/...), for each NAME in
// names only. It is written for input from a pod, which the job may have shaped: it refuses names that are not
// clean relative paths, entries other than files and directories, and more than max bytes of content in all,
// and never follows a link it finds in dst.
func ExtractKeep(r io.Reader, dst string, names []string, max int64) error {
	zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, r))
	if err != nil {
		return fmt.Errorf("kept files: %w", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("kept files: %w", err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		top, _, _ := strings.Cut(name, "/")
		if name == "" || path.Clean(name) != name || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") ||
			strings.Contains(name, "\\") || !slices.Contains(names, top) {
			return fmt.Errorf("kept files: %q is not a file of %s", h.Name, strings.Join(names, " or "))
		}
		p := filepath.Join(dst, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdirNoLinks(dst, name); err != nil {
				return err
			}
		case tar.TypeReg:
			if total += h.Size; h.Size < 0 || total > max {
				return fmt.Errorf("kept files: over %d bytes", max)
			}
			if err := mkdirNoLinks(dst, path.Dir(name)); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644) // never through a link
			if err != nil {
				return fmt.Errorf("kept files: %w", err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("kept files: %s: %w", name, err)
			}
		default:
			return fmt.Errorf("kept files: %q is not a regular file or a directory", h.Name)
		}
	}
}

// mkdirNoLinks makes dst/rel and its parents below dst, refusing any that is not a directory (a link).
func mkdirNoLinks(dst, rel string) error {
	p := dst
	for _, part := range strings.Split(rel, "/") {
		if part == "." || part == "" {
			continue
		}
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("kept files: %w", err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("kept files: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("kept files: %s is not a directory", rel)
		}
	}
	return nil
}
