//go:build linux

package local

import (
	"bytes"
	"errors"
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
// cannot signal, ptrace or even see it (hidepid), and the kernel refuses any signal a process of the namespace
// sends its init. It dies (Pdeathsig) with its thread, which ends when it can serve no more jobs or the server
// dies; the kernel then kills whatever else is in the namespace.
//
// A job's processes are the processes of its user id, which is its own (uid.go): when its shell (or a
// container's process) has ended, the thread takes that user id for an instant and kills every process of it
// with kill(-1, SIGKILL), which the kernel makes atomic with fork (a process cannot slip a child past it), then
// waits until none is left (its init reaps them) before the job is over: its user id, its /tmp and its thread go
// to another job only once nothing of it runs.

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

// killUser sends sig to every process of user uid, the calling thread's (locked) credentials switched to that
// user for the call (and only that thread's: the raw system call, not the runtime's all-threads one).
func killUser(uid int, sig syscall.Signal) error {
	// Real and effective ids both the job's: kill(2) lets a sender whose real or effective id is a target's
	// real or saved id signal it, so root's real id would reach root's processes. The saved id stays root's, to
	// come back; the effective capabilities go while the effective id is not 0.
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), 0); e != 0 {
		return fmt.Errorf("take the job's user id: %w", e)
	}
	// kill(-1) reports no error whether or not it found a process of the user (see userAlive).
	_, _, kerr := unix.RawSyscall(unix.SYS_KILL, ^uintptr(0), uintptr(sig), 0) // pid -1
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0); e != 0 {
		return fmt.Errorf("%w: %w", errStuck, e)
	}
	if kerr != 0 && kerr != unix.ESRCH {
		return fmt.Errorf("kill the job's processes: %w", kerr)
	}
	return nil
}

// errStuck: the thread could not take back root's user id; it must end.
var errStuck = errors.New("the sandbox thread could not take back its user id")

// userGoneWithin bounds how long endUser waits for processes it killed to be reaped.
const userGoneWithin = 10 * time.Second

// endUser kills every process of user uid and returns once none is left, as the calling thread's sandbox /proc
// shows: its PID namespace's (a handful of entries), or on older kernels the host's. Dead processes are reaped by
// the namespace's init within microseconds, unless the machine is very busy: this checks again after growing
// pauses.
func (l *sandboxLayout) endUser(uid int) error {
	pause := 20 * time.Microsecond
	deadline := time.Now().Add(userGoneWithin)
	for {
		if err := killUser(uid, syscall.SIGKILL); err != nil {
			return err
		}
		alive, err := l.userAlive(uid)
		if err != nil || !alive {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of user %d still there after %v", uid, userGoneWithin)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// userAlive reports whether the sandbox's /proc shows a process (a zombie included) whose real user id is uid.
// Its owner is not enough: a process that makes itself undumpable shows as root's.
func (l *sandboxLayout) userAlive(uid int) (bool, error) {
	dir := filepath.Join(l.Dir, "proc")
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return false, err
	}
	want := []byte("\nUid:\t" + strconv.Itoa(uid) + "\t")
	for _, n := range names {
		if n == "1" || n[0] < '0' || n[0] > '9' { // 1: the namespace's init, or the host's
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n, "status"))
		if err == nil && bytes.Contains(b, want) {
			return true, nil
		}
	}
	return false, nil
}
