//go:build linux

package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The sandbox: what a job of a namespace mode sees instead of the host.
//
// Every job gets a root of its own: a tmpfs (mounted at the executor's rootDir inside the job's private mount
// namespace, so the host never sees it) holding
//
//	/usr, /etc, /opt, ...  the host's, bound read-only, nosuid, nodev (Options.ReadOnlyPaths; /bin, /lib, ... as
//	                       on the host: symlinks into /usr on a merged-/usr system, read-only binds otherwise)
//	/etc/passwd, /etc/group the host's with a line for the job's user added, so tools that look the user up work
//	/etc/secret            a read-only tmpfs with the job's secrets, one 0400 file each, owned by the job's user
//	/workspace             the job's checkout (its working directory and HOME), owned by the job's user
//	/tmp                   a tmpfs of the job's own (/var/tmp and /dev/shm link to it); the rest is read-only
//	/dev                   null, zero, full, random, urandom, tty, and the usual symlinks
//	/proc                  a proc of the job's own PID namespace: the job sees its own processes only
//
// and nothing else: not the data dir, not the git cache, not other jobs' workspaces, not the server's /proc. The
// job's processes run as a user id of their own (uid.go), with no capabilities, in a chroot (without
// CAP_SYS_CHROOT they cannot leave it, and the kernel refuses a chrooted process a new user namespace), in a PID
// namespace apart from the host's (their thread's, one job at a time: pidns.go) and the jobs' IPC namespace. The host's network stays shared: jobs fetch and call APIs as scripts expect.

// WorkspacePath is the job's working directory (and HOME) inside a sandbox, the same as in a Kubernetes pod.
const WorkspacePath = "/workspace"

// DefaultReadOnlyPaths are the host directories a sandboxed job sees, read-only, when Options.ReadOnlyPaths is
// nil. Those that do not exist are skipped.
var DefaultReadOnlyPaths = []string{"/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// sandboxLayout is what every job's root is made of, worked out once by New.
// Its fields are exported for the launcher, which gets it as JSON.
type sandboxLayout struct {
	Dir     string            // the mount point of each job's root tmpfs: an empty directory on the host
	Binds   []string          // host directories bound read-only at the same path
	Links   map[string]string // top-level symlinks (e.g. /bin -> usr/bin on merged-/usr systems)
	Passwd  []byte            // the host's /etc/passwd, to which a line for the job's user is added
	Group   []byte            // the host's /etc/group, likewise
	ProcNS  bool              // proc can be mounted for another PID namespace (pidns=, Linux 6.18)
	Secrets bool              // /etc is bound, so /etc/secret exists as a mount point
}

// newSandboxLayout inspects the host's paths. dir must be an empty directory private to the server.
func newSandboxLayout(dir string, paths []string) (*sandboxLayout, error) {
	if paths == nil {
		paths = DefaultReadOnlyPaths
	}
	l := &sandboxLayout{Dir: dir, Links: map[string]string{}}
	for _, p := range paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return nil, fmt.Errorf("read-only path %q: want a clean absolute path other than /", p)
		}
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, err
		case fi.Mode()&fs.ModeSymlink != 0 && strings.Count(p, "/") == 1:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			l.Links[p] = target
		case fi.IsDir():
			l.Binds = append(l.Binds, p)
		}
	}
	slices.Sort(l.Binds) // parents before children
	for _, b := range l.Binds {
		if b == "/etc" {
			l.Secrets = dirExists(SecretDir)
		}
	}
	var err error
	if l.Passwd, err = readSmall("/etc/passwd"); err != nil {
		return nil, err
	}
	if l.Group, err = readSmall("/etc/group"); err != nil {
		return nil, err
	}
	return l, nil
}

func readSmall(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if len(b) > 4<<20 {
		return nil, fmt.Errorf("%s: larger than 4 MiB", p)
	}
	return b, err
}

// jobRoot is what is a job's own in its sandbox, as mountJob adds it to the base every job shares.
// Its fields are exported for the launcher, which gets it as JSON.
type jobRoot struct {
	UID, GID  int
	Workspace string            // host directory bound at WorkspacePath; "" mounts a tmpfs there (WSSize)
	IO        string            // host directory whose input, output and metadata are bound at ioMounts; "" for none
	WSSize    int64             // size cap of that tmpfs; 0 for none
	Secrets   map[string]string // written to /etc/secret
}

// Sizes of the job's own tmpfs mounts.
const (
	baseSize = 1 << 20 // the root itself: directories, links and device nodes only
	tmpSize  = 1 << 30 // /tmp (and /var/tmp and /dev/shm, links to it)
)

// buildBase makes at l.Dir, in the calling thread's mount namespace (private: enterJobMountNS), the part of a
// job's root that every job shares: a tmpfs with the mount points, the host's directories bound read-only, the
// device nodes, sealed read-only. before, if set, runs just before the seal, to add files of the job's own.
func (l *sandboxLayout) buildBase(before func(r func(string) string) error) error {
	if err := unix.Mount("tmpfs", l.Dir, "tmpfs", unix.MS_NOSUID, fmt.Sprintf("mode=0755,size=%d", baseSize)); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	r := func(p string) string { return filepath.Join(l.Dir, p) }
	for _, d := range []string{"dev", "proc", "tmp", "var", "run", WorkspacePath[1:]} {
		if err := os.Mkdir(r(d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(r(ioMount), 0o755); err != nil {
		return err
	}
	for link, target := range ioLinks {
		if err := os.Symlink(target, r(link)); err != nil {
			return err
		}
	}
	// /var/tmp and /dev/shm are the job's /tmp: one tmpfs of its own for all three.
	if err := os.Symlink("../tmp", r("var/tmp")); err != nil {
		return err
	}
	if err := os.Symlink("../tmp", r("dev/shm")); err != nil {
		return err
	}
	for link, target := range l.Links {
		if err := os.Symlink(target, r(link)); err != nil {
			return err
		}
	}
	for _, b := range l.Binds {
		if err := os.MkdirAll(r(b), 0o755); err != nil {
			return err
		}
		if err := unix.Mount(b, r(b), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", b, err)
		}
		if err := remountReadOnly(r(b)); err != nil {
			return err
		}
	}
	if err := l.makeDev(r("dev")); err != nil {
		return err
	}
	if before != nil {
		if err := before(r); err != nil {
			return err
		}
	}
	// Read-only: in a user namespace the job's user owns this tmpfs (it made it), and could write anywhere in it.
	if err := unix.Mount("", l.Dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID, ""); err != nil {
		return fmt.Errorf("remount the root read-only: %w", err)
	}
	// /etc/secret is the host's (through /etc) until something is mounted over it: every root gets an empty one,
	// and a job with secrets its own over that (mountJob), so a job without secrets costs no mount of its own.
	if l.Secrets {
		if err := mountSecretsAt(r(SecretDir[1:]), nil, -1, -1); err != nil {
			return err
		}
	}
	return nil
}

// mountTmp gives the root a /tmp of its own (and so a /dev/shm and /var/tmp).
func (l *sandboxLayout) mountTmp() error {
	err := unix.Mount("tmpfs", filepath.Join(l.Dir, "tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("mode=1777,size=%d", tmpSize))
	if err != nil {
		return fmt.Errorf("mount /tmp: %w", err)
	}
	return nil
}

// resetJob takes out of the calling thread's mount namespace what mountJob and mountTmp added for a job that has
// ended, with every process of it (pidns.go), and gives it an empty /tmp: the thread's sandbox is then as
// prepareThread left it, for the next job.
func (l *sandboxLayout) resetJob(io, secrets bool) error {
	paths := []string{WorkspacePath[1:]}
	if io {
		paths = append(paths, ioMount)
	}
	if l.Secrets && secrets {
		paths = append(paths, SecretDir[1:])
	}
	for _, p := range paths {
		if err := unix.Unmount(filepath.Join(l.Dir, p), unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount /%s: %w", p, err)
		}
	}
	return l.emptyTmp()
}

// maxTmpReuse bounds the files (inodes) an ended job may have left in /tmp for emptyTmp to remove them one by one
// rather than replace the tmpfs.
const maxTmpReuse = 256

// emptyTmp empties the root's /tmp of what the job left there. Its processes are gone and it could mount nothing
// there (no capabilities), so removing its files leaves the tmpfs as new, at a fraction of the cost of an unmount
// (which waits for an RCU grace period) and a new tmpfs — what it does instead when the job left many files or
// one cannot be removed.
func (l *sandboxLayout) emptyTmp() error {
	dir := filepath.Join(l.Dir, "tmp")
	var st unix.Statfs_t
	err := unix.Statfs(dir, &st)
	if err == nil && st.Files-st.Ffree <= 1 {
		return nil // one inode in use, the root's: the job left nothing (and nothing of it holds a file open)
	}
	if err == nil && st.Files-st.Ffree <= maxTmpReuse && removeContents(dir) == nil {
		return nil
	}
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount /tmp: %w", err)
	}
	return l.mountTmp()
}

// removeContents removes everything in dir, but not dir.
func removeContents(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// mountJob adds to a root with its own /tmp (mountTmp) what else is the job's own: its workspace and its
// secrets; mountProc adds its /proc once its PID namespace exists.
func (l *sandboxLayout) mountJob(j jobRoot) error {
	r := func(p string) string { return filepath.Join(l.Dir, p) }
	ws := r(WorkspacePath[1:])
	if j.Workspace != "" {
		if err := unix.Mount(j.Workspace, ws, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind workspace: %w", err)
		}
	} else {
		if err := mountWorkspace(ws, j.WSSize); err != nil {
			return err
		}
		if err := os.Chown(ws, j.UID, j.GID); err != nil {
			return err
		}
	}
	if l.Secrets && len(j.Secrets) > 0 {
		if err := mountSecretsAt(r(SecretDir[1:]), j.Secrets, j.UID, j.GID); err != nil {
			return err
		}
	}
	if j.IO != "" {
		if err := unix.Mount(j.IO, r(ioMount), "", unix.MS_BIND|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("bind /%s: %w", ioMount, err)
		}
	}
	return nil
}

// A sandbox shows a multi-container job's shared directories (containers.go) by binding the attempt's io
// directory, which holds input, output and metadata, once at /runplane (api.InputDir, ...); /kratix and /keptn are
// links in every root to /runplane and /runplane/input (Kratix's paths, Keptn's input directory). One bind and one
// unmount per job where a bind of each directory at each of its paths took seven of each: a mount or an unmount
// costs the server tens of µs of CPU under its mount namespace's lock, and these were most of what a workflow
// step's job cost beyond a command job's.
const ioMount = "runplane"

// ioLinks are the links (name in the root → target) to the shared directories at Kratix's and Keptn's paths.
var ioLinks = map[string]string{"kratix": ioMount, "keptn": ioMount + "/" + ioInput}

// remountReadOnly makes the bind mount at p read-only, nosuid and nodev, keeping the flags it has: in a user
// namespace the kernel refuses to clear the flags of a mount that came from the host (noexec, atime, ...).
func remountReadOnly(p string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return fmt.Errorf("remount %s read-only: %w", p, err)
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if err := unix.Mount("", p, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", p, err)
	}
	return nil
}

// devices are the character devices every job gets.
var devices = []struct {
	name         string
	major, minor uint32
}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}

// makeDev fills dir (on the root tmpfs) with the job's devices. The job cannot make more: it has no CAP_MKNOD.
func (l *sandboxLayout) makeDev(dir string) error {
	for _, d := range devices {
		p := filepath.Join(dir, d.name)
		err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if errors.Is(err, unix.EPERM) { // in a user namespace: bind the host's device instead
			err = bindDevice("/dev/"+d.name, p)
		} else if err == nil {
			err = os.Chmod(p, 0o666) // mknod applies the umask
		}
		if err != nil {
			return fmt.Errorf("device %s: %w", d.name, err)
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func bindDevice(src, dst string) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	f.Close()
	return unix.Mount(src, dst, "", unix.MS_BIND, "")
}

// jobUserName is the name /etc/passwd gives the job's user inside the sandbox.
const jobUserName = "runplane"

// userLines are the lines of /etc/passwd and /etc/group that name the job's user and group (ssh, git over ssh
// and many tools refuse to run as a user without a name).
func userLines(uid, gid int) (passwd, group string) {
	return fmt.Sprintf("%s:x:%d:%d:runplane job:%s:/bin/sh\n", jobUserName, uid, gid, WorkspacePath),
		fmt.Sprintf("%s:x:%d:\n", jobUserName, gid)
}

// bindUsers binds the files passwd and group over the root's /etc ones, if it has /etc. They are read-only to
// jobs as they are (root's, mode 0444).
func (l *sandboxLayout) bindUsers(passwd, group string) error {
	if !slices.Contains(l.Binds, "/etc") {
		return nil
	}
	for _, f := range []struct{ src, dst string }{{passwd, "etc/passwd"}, {group, "etc/group"}} {
		if err := unix.Mount(f.src, filepath.Join(l.Dir, f.dst), "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /%s: %w", f.dst, err)
		}
	}
	return nil
}

// mountProc mounts over the root's /proc a proc of the PID namespace that process pid is in (the init of the
// thread's PID namespace, pidns.go), where the kernel can (the pidns= option, Linux 6.18): its jobs then see their
// processes by the ids they know them by. On older kernels /proc is the template's: a proc of the host's PID
// namespace. Both show a job only its own user's processes (hidepid=invisible), which are the job's, since its
// user id is its own: not the init, not what other jobs of the thread ran (it ended before the job started).
func (l *sandboxLayout) mountProc(pid int) error {
	if !l.ProcNS {
		return nil
	}
	err := unix.Mount("proc", filepath.Join(l.Dir, "proc"), "proc", procFlags, "hidepid=invisible,pidns=/proc/"+strconv.Itoa(pid)+"/ns/pid")
	if err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	return nil
}

const procFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// mountHostProc mounts at the root's /proc a proc of the calling thread's PID namespace that shows each process
// only its own user's processes.
func (l *sandboxLayout) mountHostProc() error {
	if err := unix.Mount("proc", filepath.Join(l.Dir, "proc"), "proc", procFlags, "hidepid=invisible"); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	return nil
}
