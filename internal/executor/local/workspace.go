//go:build linux

package local

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Where workspaces go, cheapest first:
//
//   - a directory on a tmpfs shared by all jobs: WorkDir itself if it is a tmpfs, else a private directory of ours
//     under /dev/shm (if it is a tmpfs of at least shmMinSize that allows exec). Making and removing a directory
//     there costs no disk metadata operation (creating a file on ext4 can cost the kernel a millisecond) and no
//     mount, so an in-process namespace job without secrets needs no mount namespace at all. Jobs can see each
//     other's workspaces there, as they could see each other's processes through /proc before.
//   - else, for in-process namespace jobs, a tmpfs mounted per job at WorkDir/job inside the job's own mount
//     namespace (also when Options.WorkspaceSize asks for a cap per job): no disk either, but every job then pays
//     for a mount namespace, a mount and their teardown.
//   - else a directory under WorkDir (and always with Options.WorkspaceOnDisk).
//
// Nothing is mounted on the host: the shared tmpfs already exists, and a directory under /dev/shm left by a
// killed server is emptied by the next New for the same WorkDir, or removed by any New once that WorkDir is gone.
// An empty one stays after the server exits, for the next start to reuse.

// shmBase is where shared workspace roots are made when WorkDir is not a tmpfs.
const shmBase = "/dev/shm"

// shmMinSize is the size below which /dev/shm is not used: containers often get 64 MiB, which a job writing
// into its checkout would fill, where a tmpfs of its own gets half the RAM.
const shmMinSize = 1 << 30

// shmPrefix starts the name of a shared workspace root: shmPrefix + a hash of the WorkDir it serves.
const shmPrefix = "runplane-"

// shmOwnerLink is a symlink in a shared workspace root to the WorkDir it serves; a root whose WorkDir is gone is
// garbage.
const shmOwnerLink = ".workdir"

// isTmpfs reports whether dir is on a tmpfs of at least min bytes that allows executing files (hardened hosts
// mount /dev/shm noexec, where a job could not run the scripts of its checkout).
func isTmpfs(dir string, min uint64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC || st.Flags&unix.ST_NOEXEC != 0 {
		return false
	}
	return st.Blocks*uint64(st.Bsize) >= min
}

// sharedWorkspaceRoot returns the tmpfs directory where the jobs of WorkDir get their workspaces: WorkDir itself,
// or one of ours under base (normally shmBase), emptied of what an earlier process left there. It returns "" if
// neither is a tmpfs large enough.
func sharedWorkspaceRoot(base, workDir string) (string, error) {
	if isTmpfs(workDir, 0) {
		return workDir, nil
	}
	if !isTmpfs(base, shmMinSize) {
		return "", nil
	}
	collectShmRoots(base)
	sum := sha256.Sum256([]byte(workDir))
	root := filepath.Join(base, shmPrefix+hex.EncodeToString(sum[:8]))
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	// /dev/shm is writable by everyone: use the directory only if it is ours and private.
	fi, err := os.Lstat(root)
	if err != nil {
		return "", err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm() != 0o700 {
		return "", fmt.Errorf("%s is not a private directory of this user", root)
	}
	if err := emptyShmRoot(root); err != nil {
		return "", fmt.Errorf("remove stale workspaces: %w", err)
	}
	if err := os.Symlink(workDir, filepath.Join(root, shmOwnerLink)); err != nil {
		return "", err
	}
	return root, nil
}

// emptyShmRoot removes everything in a shared workspace root of ours.
func emptyShmRoot(root string) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(root, e.Name())))
	}
	return errors.Join(errs...)
}

// collectShmRoots removes this user's shared workspace roots under base whose WorkDir no longer exists: those of
// servers killed and never restarted, and of tests.
func collectShmRoots(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), shmPrefix) {
			continue
		}
		root := filepath.Join(base, e.Name())
		fi, err := os.Lstat(root)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			continue
		}
		owner, err := os.Readlink(filepath.Join(root, shmOwnerLink))
		if err != nil {
			continue // being made, or not one of ours
		}
		if _, err := os.Lstat(owner); errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(root)
		}
	}
}
