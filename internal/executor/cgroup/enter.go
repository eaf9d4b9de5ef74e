//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrNoThreadEntry: EnterThread had nothing to do, because the group is in no cgroup v1 hierarchy (pure cgroup
// v2, or on a hybrid host a job without limits); the child goes in with FD alone. Callers may ignore it.
var ErrNoThreadEntry = errors.New("cgroup: group in no cgroup v1 hierarchy: clone into it with FD")

// FD returns a descriptor of the job's cgroup v2 group for syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
// (clone3 with CLONE_INTO_CGROUP): the child starts inside it. The Group owns the descriptor (Remove closes it).
// On a host without a usable cgroup2 hierarchy the error wraps errors.ErrUnsupported.
func (g *Group) FD() (int, error) {
	if g.m.v2 == nil || g.dirs[g.m.v2] == "" {
		return -1, fmt.Errorf("cgroup: no cgroup v2 hierarchy: %w", errors.ErrUnsupported)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fd < 0 {
		fd, err := unix.Open(g.dirs[g.m.v2], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("cgroup: open group %s: %w", g.name, err)
		}
		g.fd = fd
	}
	return g.fd, nil
}

// EnterThread moves the calling OS thread — and no other — into the job's cgroup v1 groups, so that a child it
// forks starts there. The caller must run on a thread of its own (see Go), fork, and then call LeaveThread at once: while
// the thread is inside, it counts against the job's pids limit (EnterThread raises pids.max by one meanwhile)
// and its process could be chosen by the job's OOM killer. It refuses the main thread (the thread group
// leader), which would put the whole server in the job's OOM domain. With no v1 hierarchy to enter it returns
// ErrNoThreadEntry and moves nothing.
func (g *Group) EnterThread() error {
	tid := unix.Gettid()
	if tid == os.Getpid() {
		return errors.New("cgroup: EnterThread on the main thread: lock a goroutine to another thread")
	}
	hs := g.v1dirs()
	if len(hs) == 0 {
		return ErrNoThreadEntry
	}
	if g.limits.Pids > 0 {
		if err := write(g.dirs[g.m.hier("pids")], "pids.max", strconv.FormatInt(g.limits.Pids+1, 10)); err != nil {
			return fmt.Errorf("cgroup: enter %s: %w", g.name, err)
		}
	}
	g.mu.Lock()
	g.inside[tid] = true
	g.mu.Unlock()
	for _, h := range hs {
		if err := write(g.dirs[h], "tasks", strconv.Itoa(tid)); err != nil {
			_ = g.LeaveThread()
			return fmt.Errorf("cgroup: enter %s: %w", g.name, err)
		}
	}
	return nil
}

// LeaveThread moves the calling OS thread back into the server's own v1 groups and restores the pids limit.
func (g *Group) LeaveThread() error {
	tid := unix.Gettid()
	var errs []error
	for _, h := range g.v1dirs() {
		if err := write(h.own, "tasks", strconv.Itoa(tid)); err != nil {
			errs = append(errs, err)
		}
	}
	g.mu.Lock()
	delete(g.inside, tid)
	g.mu.Unlock()
	if g.limits.Pids > 0 {
		if err := write(g.dirs[g.m.hier("pids")], "pids.max", strconv.FormatInt(g.limits.Pids, 10)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroup: leave %s: %w", g.name, err)
	}
	return nil
}

// AddProcess moves process pid (all its threads) into every hierarchy of the group: for a launcher that joins
// the group itself before it execs the job, or to adopt a process. It refuses the server's own pid.
func (g *Group) AddProcess(pid int) error {
	if pid == os.Getpid() || pid <= 0 {
		return fmt.Errorf("cgroup: will not move process %d into a job group", pid)
	}
	for _, h := range g.hs {
		if err := write(g.dirs[h], "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroup: add process %d to %s: %w", pid, g.name, err)
		}
	}
	return nil
}

// v1dirs are the group's cgroup v1 hierarchies.
func (g *Group) v1dirs() []*hierarchy {
	var out []*hierarchy
	for _, h := range g.hs {
		if !h.v2 {
			out = append(out, h)
		}
	}
	return out
}

// Go runs f in a new goroutine locked to an OS thread that is not the main thread, and ends that thread when f
// returns (so nothing a fork from it changed about the thread — cgroup, Pdeathsig owner — outlives f). This is
// the thread EnterThread wants. The main thread can never be ended, so if the goroutine lands on it, it keeps
// the main thread locked (no other goroutine can run there) and runs f on yet another thread.
func Go(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != os.Getpid() {
			f()
			return // still locked: the runtime ends the thread
		}
		done := make(chan struct{})
		Go(func() {
			defer close(done)
			f()
		})
		<-done
		runtime.UnlockOSThread()
	}()
}
