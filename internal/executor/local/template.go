//go:build linux

package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// In-process sandboxes start from a template: a mount namespace, made once by New, holding the base every job
// shares (buildBase). A job's thread enters it and copies it (setns, then unshare), and adds only what is its own
// (mountJob): a handful of mounts instead of building a root from scratch for every job.

// template is the mount namespace with the sandbox base, and the IPC namespace every sandboxed job shares (not
// the host's: the server's and other processes' SysV IPC and POSIX message queues stay out of reach), each kept
// alive by an open file. Sharing one IPC namespace among jobs spares each job making one and its teardown; their
// user ids keep one job's private objects from another.
type template struct {
	ns, ipc *os.File
}

// newTemplate builds the base at l.Dir in a new mount namespace of its own, with users' files over /etc's.
func newTemplate(l *sandboxLayout, users *userFiles) (*template, error) {
	t := &template{}
	err := onThrowawayThread(func() error {
		if err := enterJobMountNS(); err != nil {
			return err
		}
		if err := l.buildBase(nil); err != nil {
			return err
		}
		if err := l.mountHostProc(); err != nil {
			return err
		}
		if err := l.bindUsers(users.passwd, users.group); err != nil {
			return err
		}
		var err error
		if t.ns, err = os.Open("/proc/thread-self/ns/mnt"); err != nil {
			return err
		}
		t.ipc, err = os.Open("/proc/thread-self/ns/ipc")
		return err
	})
	if err != nil {
		t.close()
		return nil, fmt.Errorf("sandbox template: %w", err)
	}
	return t, nil
}

// enter gives the calling thread (locked, to die afterwards) a private copy of the template's mount namespace and
// the jobs' IPC namespace.
func (t *template) enter() error {
	// setns into a mount namespace needs a filesystem context (root, cwd) not shared with other threads.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs: %w", err)
	}
	if err := unix.Setns(int(t.ns.Fd()), unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter the sandbox template: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	if err := unix.Setns(int(t.ipc.Fd()), unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("enter the jobs' IPC namespace: %w", err)
	}
	return nil
}

func (t *template) close() {
	for _, f := range []*os.File{t.ns, t.ipc} {
		if f != nil {
			f.Close()
		}
	}
}

// userFiles are the passwd and group files bound over the host's in every sandbox (by the template, once): the
// host's, plus a line for each job user id handed out so far, added the first time it is (ids are reused, so
// the files stay as small as the jobs' peak concurrency). They live under dir, which only the server can reach,
// and grow in place, so that every sandbox sees the lines added after it was made.
type userFiles struct {
	passwd, group string
	layout        *sandboxLayout
	mu            sync.Mutex
	known         map[int]bool
}

func newUserFiles(dir string, l *sandboxLayout) (*userFiles, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	u := &userFiles{passwd: filepath.Join(dir, "passwd"), group: filepath.Join(dir, "group"), layout: l, known: map[int]bool{}}
	for _, f := range []struct {
		path string
		base []byte
	}{{u.passwd, l.Passwd}, {u.group, l.Group}} {
		b := f.base
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(b[:len(b):len(b)], '\n')
		}
		if err := os.WriteFile(f.path, b, 0o444); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// add makes sure the files name uid (whose group is the same number) before a job runs as it.
func (u *userFiles) add(uid int) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.known[uid] {
		return nil
	}
	p, g := userLines(uid, uid)
	for _, f := range []struct{ path, line string }{{u.passwd, p}, {u.group, g}} {
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		_, err = fh.WriteString(f.line)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("add job user %d: %w", uid, err)
		}
	}
	u.known[uid] = true
	return nil
}
