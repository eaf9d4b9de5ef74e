//go:build linux

package local

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The PID namespace of an in-process sandbox is its thread's, made once with the thread (prepareThread) and kept
// for every job the thread serves: one job at a time, each ended with all its processes before the next starts.
// That spares each job a namespace of its own, the proc mounted for it and the kernel's teardown of both.
//
// A namespace lives as long as its first process, its init, which also inherits (and reaps) whatever a job
// leaves running when its parent ends. The thread's init is `sh -c 'sleep … & wait'`: the shell waits for any
// child (its own sleep never ends), so it reaps orphans as they die. It runs as root in the sandbox: a job's user
// cannot signal, ptrace or even see it (hidepid), nor its sleep. It dies (Pdeathsig) with its thread, which ends when it can serve no more jobs or the server
// dies; the kernel then kills whatever else is in the namespace.
//
// A job's processes are the processes of the namespace other than its init and the init's child (root's): when
// its shell (or a container's process) has ended, the thread kills each (through its /proc directory, which a
// reused pid cannot redirect), and again until none is left, its init having reaped them, before the job is
// over: its user id, its /tmp and its thread go to another job only once nothing of it runs.
//
// The namespace's /proc is mounted once, with the pidns= option of Linux 6.18; where the kernel has no such
// option, each job gets a PID namespace of its own instead, its shell PID 1 of it, as before.

// initScript is the thread's init: a shell that reaps every child it is given until its own sleep ends (never).
const initScript = "sleep 2147483647 & wait"

// startInit gives the calling thread (locked, prepared, to die afterwards) a PID namespace for its children and
// starts that namespace's init in the sandbox root.
func (l *sandboxLayout) startInit() (*pidNS, error) {
	// The first process os starts, it checks that it can fork with a pidfd, with a child that exits at once: not
	// after the unshare, where that child would be the namespace's init (and end it). FindProcess runs the check.
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Release()
	}
	if err := unix.Unshare(unix.CLONE_NEWPID); err != nil {
		return nil, fmt.Errorf("unshare pid namespace: %w", err)
	}
	cmd := &exec.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", initScript}, Env: []string{"PATH=" + JobPath}, Dir: "/"}
	if null := devNull(); null != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, Chroot: l.Dir}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the sandbox's init: %w", err)
	}
	go func() { _ = cmd.Wait() }() // it ends with the thread
	return newPidNS(cmd.Process.Pid)
}

// pidNS is a thread's PID namespace as its thread sees it from the host: its init, and the children of the init
// and of the thread, whose lists (the kernel's children files, one read each) say without a look through the
// namespace's /proc that nothing of a job is left.
//
// Every process of a job descends from its shell, which the thread forks. When a process dies, the kernel gives
// its children to the namespace's init (the job cannot name a reaper outside it); so while any process of an
// ended job runs, one of them, or its zombie, is a child of the init other than the init's sleep. The exception
// is a child that the shell itself forks with CLONE_PARENT: the thread's, beside the shell. So once the shell has
// ended, nothing of the job is left if the init's only child is its sleep and the thread's only children are the
// init and the shell (until the shell is reaped).
type pidNS struct {
	init       int
	initKids   *os.File // /proc/<init>/task/<init>/children
	threadKids *os.File // /proc/thread-self/children
	// idle is initKids' content once nothing of a job runs: its sleep's pid. It is learnt from the first job's
	// end (endJob), when a look through /proc has found nothing of it left, since the init forks its sleep in its
	// own time; nil until then.
	idle []byte
}

func newPidNS(init int) (*pidNS, error) {
	n := &pidNS{init: init}
	var err error
	if n.initKids, err = os.Open(fmt.Sprintf("/proc/%d/task/%d/children", init, init)); err != nil {
		return nil, fmt.Errorf("the sandbox's init: %w", err)
	}
	if n.threadKids, err = os.Open("/proc/thread-self/children"); err != nil {
		n.initKids.Close()
		return nil, fmt.Errorf("the sandbox's thread: %w", err)
	}
	return n, nil
}

func (n *pidNS) close() {
	n.initKids.Close()
	n.threadKids.Close()
}

// quiet reports whether, the job's shell having ended (shell is its pid while it is a zombie not yet reaped, 0 once
// it is reaped), nothing else of the job runs. False means "may be": look through /proc (killJob).
func (n *pidNS) quiet(shell int) bool {
	if n == nil || n.idle == nil {
		return false
	}
	want := strconv.Itoa(n.init) + " "
	if shell != 0 {
		want += strconv.Itoa(shell) + " "
	}
	return readIs(n.initKids, n.idle) && readIs(n.threadKids, []byte(want))
}

// learn records the init's children as idle, once nothing of a job is left, if they are its sleep alone.
func (n *pidNS) learn() {
	if n == nil || n.idle != nil {
		return
	}
	var buf [32]byte
	k, err := unix.Pread(int(n.initKids.Fd()), buf[:], 0)
	if err != nil || k == 0 || k == len(buf) || bytes.Count(buf[:k], []byte(" ")) != 1 {
		return // its sleep not forked yet: the next job's end looks again
	}
	n.idle = bytes.Clone(buf[:k])
}

// readIs reports whether the kernel file f (a children list) reads as want, from its start.
func readIs(f *os.File, want []byte) bool {
	var buf [64]byte
	k, err := unix.Pread(int(f.Fd()), buf[:], 0)
	return err == nil && k < len(buf) && bytes.Equal(buf[:k], want)
}

// jobGoneWithin bounds how long endJob waits for what it killed to be reaped.
const jobGoneWithin = 10 * time.Second

// endJob kills whatever of the ended job is left in the calling thread's PID namespace and returns once nothing
// is (its init has reaped it all). The kills are not atomic with fork: a process may start a child before it
// dies, which the next pass kills. The dead are reaped within microseconds unless the machine is very busy:
// this looks again after growing pauses.
func (l *sandboxLayout) endJob(ns *pidNS) error {
	if ns.quiet(0) {
		return nil
	}
	pause := 20 * time.Microsecond
	deadline := time.Now().Add(jobGoneWithin)
	for {
		found, err := l.killJob()
		if err != nil {
			return err
		}
		if found == 0 {
			ns.learn()
			return nil
		}
		reapOwnChildren()
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of the job still there after %v", found, jobGoneWithin)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// reapOwnChildren reaps the calling thread's children that have ended. Its jobs' shells are reaped already and
// its init runs; a process that a job's shell forked with CLONE_PARENT is the thread's child, not the init's, and
// once killed would stay a zombie in the namespace (and in the server) for good: nothing else waits for it.
func reapOwnChildren() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG|unix.WNOTHREAD, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// rootUID is how /proc/<pid>/status shows a process whose real user id is root's: the namespace's init and
// its child, and nothing of a job.
var rootUID = []byte("\nUid:\t0\t")

// killJob sends SIGKILL to every process in the calling thread's PID namespace but its init and the init's
// child, as the sandbox's /proc (the namespace's) lists them, zombies included, and returns how many it found.
// Each is signalled through its /proc directory, which names that process and no later one with its pid.
func (l *sandboxLayout) killJob() (found int, err error) {
	dir := filepath.Join(l.Dir, "proc")
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return 0, err
	}
	var buf [4096]byte
	for _, n := range names {
		if n == "1" || n[0] < '0' || n[0] > '9' {
			continue
		}
		fd, err := unix.Open(filepath.Join(dir, n), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone
		}
		if st, err := unix.Openat(fd, "status", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			k, _ := unix.Read(st, buf[:])
			unix.Close(st)
			if k > 0 && bytes.Contains(buf[:k], rootUID) {
				unix.Close(fd)
				continue
			}
		}
		found++
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
			unix.Close(fd)
			return found, fmt.Errorf("kill process %s of the job: %w", n, err)
		}
		unix.Close(fd)
	}
	return found, nil
}
