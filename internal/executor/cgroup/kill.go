//go:build linux

package cgroup

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Kill sends SIGKILL to every process of the job, including those it forks meanwhile, and never to the server:
// with cgroup.kill where the kernel has it (cgroup v2, Linux ≥ 5.14), else by freezing the job's v1 group,
// signalling every process in it and thawing it; without a freezer, by signalling until none is left. It does
// not wait for them to be reaped.
func (g *Group) Kill() {
	if h := g.m.v2; h != nil && g.dirs[h] != "" {
		if err := write(g.dirs[h], "cgroup.kill", "1"); err == nil || errors.Is(err, os.ErrNotExist) && !g.exists(h) {
			return
		}
	}
	g.mu.Lock()
	threadInside := len(g.inside) > 0 // a server thread between EnterThread and LeaveThread: never freeze it
	g.mu.Unlock()
	if h := g.m.v1["freezer"]; h != nil && g.dirs[h] != "" && !threadInside {
		dir := g.dirs[h]
		if write(dir, "freezer.state", "FROZEN") == nil {
			g.waitFrozen(dir)
			g.signalAll(dir)
			_ = write(dir, "freezer.state", "THAWED")
			return
		}
	}
	for _, h := range g.hs {
		for range 100 {
			if g.signalAll(g.dirs[h]) == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func (g *Group) exists(h *hierarchy) bool {
	_, err := os.Stat(g.dirs[h])
	return err == nil
}

// waitFrozen waits up to a second for a v1 freezer group to be FROZEN (FREEZING while tasks are in the kernel).
func (g *Group) waitFrozen(dir string) {
	for range 1000 {
		if s, err := read(dir, "freezer.state"); err != nil || s == "FROZEN" {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// signalAll SIGKILLs every process in dir except the server, and returns how many it signalled.
func (g *Group) signalAll(dir string) int {
	ps, err := pids(dir, "cgroup.procs")
	if err != nil {
		return 0
	}
	ps = withoutSelf(ps)
	for _, p := range ps {
		_ = unix.Kill(p, unix.SIGKILL)
	}
	return len(ps)
}
