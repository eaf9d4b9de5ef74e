//go:build linux

package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// In-process sandboxes start from a template: a mount namespace, made once by New, holding the base every job
// shares (buildBase). A job's thread enters it and copies it (setns, then unshare), and adds only what is its own
// (mountJob): a handful of mounts instead of building a root from scratch for every job.

// template is the mount namespace with the sandbox base, kept alive by an open file.
type template struct {
	ns *os.File
}

// newTemplate builds the base at l.Dir in a new mount namespace of its own.
func newTemplate(l *sandboxLayout) (*template, error) {
	var ns *os.File
	err := onThrowawayThread(func() error {
		if err := enterJobMountNS(); err != nil {
			return err
		}
		if err := l.buildBase(nil); err != nil {
			return err
		}
		var err error
		ns, err = os.Open("/proc/thread-self/ns/mnt")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox template: %w", err)
	}
	return &template{ns: ns}, nil
}

// enter gives the calling thread (locked, to die afterwards) a private copy of the template's mount namespace and
// an IPC namespace of its own.
func (t *template) enter() error {
	// setns into a mount namespace needs a filesystem context (root, cwd) not shared with other threads.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs: %w", err)
	}
	if err := unix.Setns(int(t.ns.Fd()), unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter the sandbox template: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	return nil
}

func (t *template) close() error { return t.ns.Close() }

// userFiles keeps, per job user id, the passwd and group files bound into that user's sandboxes: written once
// (read-only, root's) under dir, which only the server can reach.
type userFiles struct {
	dir    string
	layout *sandboxLayout
	mu     sync.Mutex
	made   map[int]bool
}

func newUserFiles(dir string, l *sandboxLayout) (*userFiles, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	return &userFiles{dir: dir, layout: l, made: map[int]bool{}}, nil
}

// paths returns the files for uid (whose group is the same number), writing them the first time.
func (u *userFiles) paths(uid int) (passwd, group string, err error) {
	base := filepath.Join(u.dir, strconv.Itoa(uid))
	passwd, group = base+".passwd", base+".group"
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.made[uid] {
		return passwd, group, nil
	}
	p, g := u.layout.usersFiles(uid, uid)
	for _, f := range []struct {
		path string
		b    []byte
	}{{passwd, p}, {group, g}} {
		if err := os.WriteFile(f.path, f.b, 0o444); err != nil {
			return "", "", err
		}
	}
	u.made[uid] = true
	return passwd, group, nil
}
