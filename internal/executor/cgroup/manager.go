//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnavailable: no limit can be enforced with cgroups here (no cgroup filesystem, not writable, not root).
// Errors of Open wrap it and say why.
var ErrUnavailable = errors.New("cgroup: unavailable")

// ErrUnsupported: a limit needs a controller this host does not offer to the server; the error names it.
var ErrUnsupported = errors.New("cgroup: limit not supported")

// Options tune a Manager. The zero value works for one server per host.
type Options struct {
	// Name tells this server's groups from another server's on the same host (for example a short hash of the
	// data dir): the parent group is "runplane-" + Name. Default "default".
	Name   string
	Logger *slog.Logger
}

// Manager makes job groups under this server's parent group. It is safe for concurrent use.
type Manager struct {
	name   string
	log    *slog.Logger
	v1     map[string]*hierarchy // by controller, including "freezer"
	v2     *hierarchy            // nil if no usable cgroup2 hierarchy
	dirs   []*hierarchy          // each hierarchy once; v2 last
	parent map[*hierarchy]string // the parent group's directory in each hierarchy
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Open finds the cgroup hierarchies, makes (or reuses) this server's parent group in each, and removes the job
// groups a crashed server left there, killing what still runs in them. Its error wraps ErrUnavailable and says
// why limits cannot be enforced.
func Open(opts Options) (*Manager, error) {
	mountinfo, self, err := readSelf()
	if err != nil {
		return nil, err
	}
	return open(opts, mountinfo, self)
}

func open(opts Options, mountinfo, self []byte) (*Manager, error) {
	if opts.Name == "" {
		opts.Name = "default"
	}
	if !nameRE.MatchString(opts.Name) {
		return nil, fmt.Errorf("cgroup: invalid name %q", opts.Name)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v1, v2, err := detect(mountinfo, self)
	if err != nil {
		return nil, err
	}
	m := &Manager{name: "runplane-" + opts.Name, log: log, v1: v1, parent: map[*hierarchy]string{}}
	var why []string
	for _, c := range append(slices.Clone(controllers), "freezer") {
		h := v1[c]
		if h == nil || slices.Contains(m.dirs, h) {
			continue
		}
		if err := m.makeParent(h); err != nil {
			why = append(why, err.Error())
			for _, c := range h.ctls {
				delete(v1, c)
			}
			continue
		}
		m.dirs = append(m.dirs, h)
	}
	if v2 != nil {
		if err := m.makeParent(v2); err != nil {
			why = append(why, err.Error())
		} else {
			m.v2 = v2
			m.dirs = append(m.dirs, v2)
		}
	}
	if len(m.dirs) == 0 {
		if os.Geteuid() != 0 {
			why = append(why, fmt.Sprintf("the server runs as uid %d, not root, and its cgroups are not delegated to it", os.Geteuid()))
		}
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(why, "; "))
	}
	for _, w := range why {
		log.Warn("cgroup hierarchy not usable", "err", w)
	}
	m.removeStale()
	m.removeIdleParents()
	log.Info("cgroups", "version", m.Version(), "controllers", m.Controllers(), "parent", m.name)
	return m, nil
}

// makeParent makes h's parent group; on cgroup v2 it also enables the controllers job groups need.
func (m *Manager) makeParent(h *hierarchy) error {
	dir := filepath.Join(h.own, m.name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	m.parent[h] = dir
	if h.v2 {
		h.ctls = m.enableV2(h, dir)
	}
	return nil
}

// remakeParent makes h's parent group again, as Open made it, with the controllers it enabled then. It changes
// nothing of m: jobs may be starting meanwhile.
func (m *Manager) remakeParent(h *hierarchy) error {
	dir := m.parent[h]
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	if h.v2 {
		for _, c := range h.ctls {
			if err := write(dir, "cgroup.subtree_control", "+"+c); err != nil {
				return err
			}
		}
	}
	return nil
}

// enableV2 enables, in the v2 parent group dir, the controllers not taken from v1 that the server's group can
// pass down, and returns those now enabled for job groups. The parent holds no process (only job groups do), so
// the "no internal processes" rule holds for it; for the server's own group see delegate.
func (m *Manager) enableV2(h *hierarchy, dir string) []string {
	m.delegate(h)
	avail, _ := read(dir, "cgroup.controllers")
	var on []string
	for _, c := range controllers {
		if m.v1[c] != nil {
			continue
		}
		if !slices.Contains(strings.Fields(avail), c) {
			m.log.Warn("cgroup v2 controller not available to the server's group", "controller", c, "group", h.own,
				"hint", "enable it in the subtree_control of the server's group's parent, or run the server in a delegated cgroup (systemd Delegate=yes)")
			continue
		}
		if err := write(dir, "cgroup.subtree_control", "+"+c); err != nil {
			m.log.Warn("cgroup v2 controller not enabled", "controller", c, "err", err)
			continue
		}
		on = append(on, c)
	}
	return on
}

// delegate makes the server's own v2 group pass the controllers down to the parent group. A group with processes
// in it cannot (the "no internal processes" rule), unless it is the root; so if the server is alone in its group
// (a systemd service with Delegate=yes, a container), it first moves itself into a leaf beside the parent,
// "runplane-server", as systemd asks of delegated services. If other processes share the group, it moves
// nothing and says what to do instead.
func (m *Manager) delegate(h *hierarchy) {
	have, _ := read(h.own, "cgroup.controllers")
	on, _ := read(h.own, "cgroup.subtree_control")
	var want []string
	for _, c := range controllers {
		if m.v1[c] == nil && slices.Contains(strings.Fields(have), c) && !slices.Contains(strings.Fields(on), c) {
			want = append(want, c)
		}
	}
	if len(want) == 0 {
		return
	}
	enable := func() error {
		for _, c := range want {
			if err := write(h.own, "cgroup.subtree_control", "+"+c); err != nil {
				return err
			}
		}
		return nil
	}
	err := enable()
	if err == nil || !errors.Is(err, unix.EBUSY) || h.own == h.mount {
		if err != nil {
			m.log.Warn("cgroup v2: cannot delegate controllers to job groups", "group", h.own, "err", err)
		}
		return
	}
	procs, _ := pids(h.own, "cgroup.procs")
	if len(procs) != 1 || procs[0] != os.Getpid() {
		m.log.Warn("cgroup v2: the server shares its cgroup with other processes, so it cannot pass controllers down to job groups",
			"group", h.own, "processes", len(procs), "hint", "run the server alone in a delegated cgroup (systemd: Delegate=yes)")
		return
	}
	leaf := filepath.Join(h.own, "runplane-server")
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		m.log.Warn("cgroup v2: make the server's leaf group", "err", err)
		return
	}
	if err := write(leaf, "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
		m.log.Warn("cgroup v2: move the server into its leaf group", "err", err)
		return
	}
	m.log.Info("cgroup v2: moved the server into a leaf group to delegate controllers to job groups", "group", leaf)
	if err := enable(); err != nil {
		m.log.Warn("cgroup v2: cannot delegate controllers to job groups", "group", h.own, "err", err)
	}
}

// Version is 2 if every controller used is a cgroup v2 one, else 1 (v1 or hybrid).
func (m *Manager) Version() int {
	for _, c := range controllers {
		if m.v1[c] != nil {
			return 1
		}
	}
	return 2
}

// Controllers lists the limits this Manager can enforce: some of "memory", "pids", "cpu".
func (m *Manager) Controllers() []string {
	var out []string
	for _, c := range controllers {
		if m.hier(c) != nil {
			out = append(out, c)
		}
	}
	return out
}

// hier returns the hierarchy that has controller c enabled for job groups, or nil.
func (m *Manager) hier(c string) *hierarchy {
	if h := m.v1[c]; h != nil && m.parent[h] != "" {
		return h
	}
	if m.v2 != nil && slices.Contains(m.v2.ctls, c) {
		return m.v2
	}
	return nil
}

// removeStale kills and removes every job group under the parent groups: this server starts no job before
// Open returns, so they are left by an earlier process.
func (m *Manager) removeStale() {
	seen := map[string]bool{}
	for _, h := range m.dirs {
		entries, err := os.ReadDir(m.parent[h])
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				g := m.group(e.Name(), m.dirs)
				g.Kill()
				if err := g.Remove(); err != nil {
					m.log.Warn("remove stale job group", "group", e.Name(), "err", err)
				} else {
					m.log.Info("removed stale job group", "group", e.Name())
				}
			}
		}
	}
}

// removeIdleParents removes the parent groups of other servers that hold no job group: those of servers that
// were killed, which would otherwise pile up on the host. A live server's idle parent may go too; its next job
// makes it again (Group.make).
func (m *Manager) removeIdleParents() {
	for _, h := range m.dirs {
		entries, err := os.ReadDir(h.own)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "runplane-") || e.Name() == m.name {
				continue
			}
			// rmdir fails on a group that has job groups or processes in it: only idle ones go.
			_ = unix.Rmdir(filepath.Join(h.own, e.Name()))
		}
	}
}

// Close removes the parent groups if no job group is left in them.
func (m *Manager) Close() error {
	var errs []error
	for _, h := range m.dirs {
		if err := unix.Rmdir(m.parent[h]); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
			errs = append(errs, fmt.Errorf("cgroup: remove %s: %w", m.parent[h], err))
		}
	}
	return errors.Join(errs...)
}

const removeWait = 2 * time.Second
