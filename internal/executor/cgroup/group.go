//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/runplane/runplane/internal/executor"
)

// cfsPeriod is the CPU quota period in µs (the kernel's and Kubernetes' default); minQuota is the kernel's
// smallest quota, 1 ms, which Kubernetes also rounds up to.
const (
	cfsPeriod = 100_000
	minQuota  = 1_000
)

// Group is one job's group, in every hierarchy the Manager uses. Its methods are safe for concurrent use.
type Group struct {
	m      *Manager
	name   string
	limits executor.Limits
	hs     []*hierarchy          // the hierarchies the job is in
	dirs   map[*hierarchy]string // its directory in each of hs

	mu     sync.Mutex
	fd     int // v2 directory fd for CLONE_INTO_CGROUP; -1 until FD
	inside map[int]bool
}

// New makes the job group name (letters, digits, '.', '_', '-'; unique among this server's live jobs) with
// limits l written before anything can run in it. A zero field of l sets no limit. A limit whose controller the
// host does not offer is an error wrapping ErrUnsupported; negative limits are errors too. A group of that name
// left over (after a crash) is killed and replaced.
func (m *Manager) New(name string, l executor.Limits) (*Group, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("cgroup: invalid group name %q", name)
	}
	if err := m.Supports(l); err != nil {
		return nil, err
	}
	g := m.group(name, m.joined(l))
	g.limits = l
	if err := g.make(); err != nil {
		g.Kill()
		_ = g.Remove()
		return nil, fmt.Errorf("cgroup: make group %s: %w", name, err)
	}
	return g, nil
}

// Supports says whether l can be enforced here: nil, or an error wrapping ErrUnsupported (naming the missing
// controller) or describing a bad limit.
func (m *Manager) Supports(l executor.Limits) error {
	if l.CPU < 0 || l.Memory < 0 || l.Pids < 0 {
		return fmt.Errorf("cgroup: negative limit in %+v", l)
	}
	for c, set := range map[string]bool{"memory": l.Memory > 0, "pids": l.Pids > 0, "cpu": l.CPU > 0} {
		if set && m.hier(c) == nil {
			return fmt.Errorf("%w: no usable %s controller on this host", ErrUnsupported, c)
		}
	}
	return nil
}

// group is name's Group in hierarchies hs.
func (m *Manager) group(name string, hs []*hierarchy) *Group {
	g := &Group{m: m, name: name, hs: hs, dirs: map[*hierarchy]string{}, fd: -1, inside: map[int]bool{}}
	for _, h := range hs {
		g.dirs[h] = filepath.Join(m.parent[h], name)
	}
	return g
}

// joined is the hierarchies a job with limits l goes in: those of its limits' controllers, and one to hold and
// kill it (cgroup2, else v1 freezer). Not more: each group costs a mkdir and an rmdir, and the kernel's work at
// every fork, exit and charge in it, so a job without a CPU limit is in no cpu group.
func (m *Manager) joined(l executor.Limits) []*hierarchy {
	var hs []*hierarchy
	add := func(h *hierarchy) {
		if h != nil && !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	add(m.v2)
	if m.v2 == nil {
		if h := m.v1["freezer"]; h != nil && m.parent[h] != "" {
			add(h)
		}
	}
	for c, set := range map[string]bool{"memory": l.Memory > 0, "pids": l.Pids > 0, "cpu": l.CPU > 0} {
		if set {
			add(m.hier(c))
		}
	}
	if len(hs) == 0 {
		add(m.dirs[0])
	}
	return hs
}

// make creates the group's directories and writes its limits.
func (g *Group) make() error {
	for _, h := range g.hs {
		dir := g.dirs[h]
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, os.ErrNotExist) { // another server removed this one's idle parent (removeIdleParents)
			if err = g.m.remakeParent(h); err == nil {
				err = os.Mkdir(dir, 0o755)
			}
		}
		if errors.Is(err, os.ErrExist) {
			g.m.log.Warn("job group exists already; replacing it", "group", g.name)
			old := g.m.group(g.name, g.m.dirs)
			old.Kill()
			if err = old.Remove(); err == nil {
				err = os.Mkdir(dir, 0o755)
			}
		}
		if err != nil {
			return err
		}
	}
	return g.writeLimits()
}

// writeLimits writes the group's limits into its directories, which exist: memory.max (no swap, the whole job
// killed on OOM), pids.max and cpu.max on cgroup v2; their v1 counterparts on v1.
func (g *Group) writeLimits() error {
	l := g.limits
	if l.Memory > 0 {
		h := g.m.hier("memory")
		if h.v2 {
			if err := write(g.dirs[h], "memory.max", strconv.FormatInt(l.Memory, 10)); err != nil {
				return err
			}
			// No swap: a job over its limit is killed, not slowed to a crawl; and kill the whole job, not one
			// process of it, on OOM (as a pod's container is).
			for _, kv := range [][2]string{{"memory.swap.max", "0"}, {"memory.oom.group", "1"}} {
				if err := write(g.dirs[h], kv[0], kv[1]); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		} else {
			if err := write(g.dirs[h], "memory.limit_in_bytes", strconv.FormatInt(l.Memory, 10)); err != nil {
				return err
			}
			// memory+swap = memory: no swap beyond the limit. Absent when the kernel has no swap accounting.
			err := write(g.dirs[h], "memory.memsw.limit_in_bytes", strconv.FormatInt(l.Memory, 10))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	if l.Pids > 0 {
		if err := write(g.dirs[g.m.hier("pids")], "pids.max", strconv.FormatInt(l.Pids, 10)); err != nil {
			return err
		}
	}
	if l.CPU > 0 {
		quota := max(l.CPU*cfsPeriod/1000, minQuota)
		h := g.m.hier("cpu")
		if h.v2 {
			return write(g.dirs[h], "cpu.max", fmt.Sprintf("%d %d", quota, cfsPeriod))
		}
		if err := write(g.dirs[h], "cpu.cfs_period_us", strconv.Itoa(cfsPeriod)); err != nil {
			return err
		}
		return write(g.dirs[h], "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
	}
	return nil
}

// Name is the name given to New.
func (g *Group) Name() string { return g.name }

// OOMKilled reports whether the kernel killed a process of the job for exceeding its memory limit.
func (g *Group) OOMKilled() bool {
	h := g.m.hier("memory")
	if h == nil || g.dirs[h] == "" {
		return false
	}
	if h.v2 {
		n, _, _ := keyed(g.dirs[h], "memory.events", "oom_kill")
		return n > 0
	}
	if n, ok, _ := keyed(g.dirs[h], "memory.oom_control", "oom_kill"); ok { // kernel ≥ 4.13
		return n > 0
	}
	s, _ := read(g.dirs[h], "memory.failcnt") // older kernels: the limit was hit, the best sign there is
	n, _ := strconv.ParseInt(s, 10, 64)
	return n > 0
}

// Procs lists the processes in the job's group (never the server).
func (g *Group) Procs() []int {
	for _, h := range g.hs {
		if ps, err := pids(g.dirs[h], "cgroup.procs"); err == nil {
			return withoutSelf(ps)
		}
	}
	return nil
}

func withoutSelf(ps []int) []int {
	self := os.Getpid()
	out := ps[:0]
	for _, p := range ps {
		if p != self {
			out = append(out, p)
		}
	}
	return out
}

// Remove deletes the group once its processes are gone (Kill them first), waiting briefly for exiting ones.
// Removing a removed group is not an error.
func (g *Group) Remove() error {
	g.mu.Lock()
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
	g.mu.Unlock()
	var errs []error
	for _, h := range g.hs {
		if err := rmdir(g.dirs[h], removeWait); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroup: remove group %s: %w", g.name, err)
	}
	return nil
}
