package inpod

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

// CopySecrets copies the keys of a mounted Kubernetes Secret volume at src into dst as files of mode 0400 owned by
// the current user. A Secret volume holds, besides one top-level symlink per key (KEY -> ..data/KEY), the kubelet's
// own entries ("..data", "..<timestamp>"): every top-level entry whose name starts with ".." is skipped, symlinks
// are followed, and only regular files are copied. A missing src holds no secrets. Files left in dst by an
// earlier run are replaced.
func CopySecrets(src, dst string) error {
	return copyVolume("secret", src, dst, 0o400)
}

// CopyInputFiles copies the files of a mounted Secret volume at src (a job's input files, which may hold user
// data and so travel like secrets) into the input directory dst as files of mode 0644, as CopySecrets does.
// Input files may be paths (Keptn's locust/basic.py): a top-level entry that is a directory (KEY -> ..data/KEY)
// is copied with everything in it.
func CopyInputFiles(src, dst string) error {
	return copyVolume("input file", src, dst, 0o644)
}

// copyDir copies the regular files under the directory src (symlinks followed: a Secret volume's are its own)
// into dst, recursively.
func copyDir(what, src, dst string, mode os.FileMode) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read %ss: %w", what, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("copy %ss: %w", what, err)
	}
	for _, e := range entries {
		if err := copyEntry(what, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), mode); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies the file or, for input files, the directory at src to dst.
func copyEntry(what, src, dst string, mode os.FileMode) error {
	if fi, err := os.Stat(src); err == nil && fi.IsDir() && what == "input file" {
		return copyDir(what, src, dst, mode)
	}
	if err := copyFile(src, dst, mode); err != nil {
		return fmt.Errorf("copy %s %s: %w", what, filepath.Base(src), err)
	}
	return nil
}

func copyVolume(what, src, dst string, mode os.FileMode) error {
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %ss: %w", what, err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return fmt.Errorf("copy %ss: %w", what, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		if err := copyEntry(what, filepath.Join(src, name), filepath.Join(dst, name), mode); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src) // follows the symlink into ..data
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	// A 0400 file from an earlier run cannot be opened for writing: replace it. O_EXCL refuses to follow a
	// symlink someone put in its place.
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(mode) // whatever the umask
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// CopyPID1 copies runplane-pid1 (pid1.Name) to dir, mode 0555, atomically (through a temporary file and a rename),
// so that the job's container can run it as its PID 1. The program is the file of that name next to the running
// executable, as runplane's image has it (a few MB, where runplane is tens); without one, the running executable
// itself, which acts as runplane-pid1 when called by that name.
func CopyPID1(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("copy %s: %w", pid1.Name, err)
	}
	src := filepath.Join(filepath.Dir(self), pid1.Name)
	if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() {
		src = self
	}
	if err := copyExecutable(src, filepath.Join(dir, pid1.Name)); err != nil {
		return fmt.Errorf("copy %s to %s: %w", pid1.Name, dir, err)
	}
	return nil
}

func copyExecutable(src, dst string) (err error) {
	// No child may be forked while the copy is open for writing: it would hold the file open until its exec, and
	// running the copy meanwhile fails with ETXTBSY.
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		return err
	}
	if err := tmp.Chmod(0o555); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
