//go:build linux

package local

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// starts that namespace's init in the sandbox root. It returns the init's pid.
func (l *sandboxLayout) startInit() (int, error) {
	// The first process os starts, it checks that it can fork with a pidfd, with a child that exits at once: not
	// after the unshare, where that child would be the namespace's init (and end it). FindProcess runs the check.
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Release()
	}
	if err := unix.Unshare(unix.CLONE_NEWPID); err != nil {
		return 0, fmt.Errorf("unshare pid namespace: %w", err)
	}
	cmd := &exec.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", initScript}, Env: []string{"PATH=" + JobPath}, Dir: "/"}
	if null := devNull(); null != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, Chroot: l.Dir}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the sandbox's init: %w", err)
	}
	go func() { _ = cmd.Wait() }() // it ends with the thread
	return cmd.Process.Pid, nil
}

// jobGoneWithin bounds how long endJob waits for what it killed to be reaped.
const jobGoneWithin = 10 * time.Second

// endJob kills whatever of the ended job is left in the calling thread's PID namespace and returns once nothing
// is (its init has reaped it all). The kills are not atomic with fork: a process may start a child before it
// dies, which the next pass kills. The dead are reaped within microseconds unless the machine is very busy:
// this looks again after growing pauses.
func (l *sandboxLayout) endJob() error {
	pause := 20 * time.Microsecond
	deadline := time.Now().Add(jobGoneWithin)
	for {
		found, err := l.killJob()
		if err != nil || found == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of the job still there after %v", found, jobGoneWithin)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
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
