package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/testlog"
)

// onlyV2 is mountinfo without its cgroup v1 mounts: what a host that mounts only cgroup2 shows. On our hybrid VMs
// it leaves the real cgroup2 hierarchy at /sys/fs/cgroup/unified, so a Manager opened with it takes the cgroup v2
// path for everything (groups, clone into group, cgroup.kill, cleanup) on the real kernel.
func onlyV2(mountinfo []byte) (out []byte, found bool) {
	for _, line := range bytes.SplitAfter(mountinfo, []byte("\n")) {
		_, post, ok := bytes.Cut(line, []byte(" - "))
		if ok && bytes.HasPrefix(post, []byte("cgroup ")) {
			continue
		}
		found = found || ok && bytes.HasPrefix(post, []byte("cgroup2 "))
		out = append(out, line...)
	}
	return out, found
}

// openV2 opens a Manager named name that sees only the host's real cgroup2 hierarchy.
func openV2(t testing.TB, name string) (*Manager, error) {
	t.Helper()
	mountinfo, self, err := readSelf()
	if err != nil {
		t.Fatal(err)
	}
	v2, found := onlyV2(mountinfo)
	if !found {
		t.Skip("no cgroup2 hierarchy mounted")
	}
	return open(Options{Name: name, Logger: testlog.New(t)}, v2, self)
}

// newV2Manager is newManager on the cgroup2 hierarchy alone.
func newV2Manager(t testing.TB) (*Manager, string) {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("test-v2-%d-%d", os.Getpid(), managers.Add(1))
	m, err := openV2(t, name)
	if err != nil {
		t.Fatalf("Open on cgroup2 alone: %v", err)
	}
	if m.v2 == nil || len(m.v1) != 0 || len(m.dirs) != 1 {
		t.Fatalf("Manager on cgroup2 alone uses v1 %v, v2 %v", m.v1, m.v2)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(m.parent[m.v2]); err == nil {
			t.Errorf("parent group %s left after Close", m.parent[m.v2])
		}
	})
	return m, name
}

// TestV2Hierarchy runs the cgroup v2 path against the kernel's real cgroup2 hierarchy: a job group is a directory
// there, a child is cloned straight into it (CLONE_INTO_CGROUP), a running process can be moved in, cgroup.kill
// ends every process of the job, and Remove and Close leave nothing behind. The limits the hierarchy's
// controllers allow are those its parent's cgroup.controllers lists (none on our hybrid VMs, where v1 holds them
// all); a limit it lacks is ErrUnsupported, never a silent no-op.
func TestV2Hierarchy(t *testing.T) {
	m, _ := newV2Manager(t)
	parent := m.parent[m.v2]
	if !strings.HasPrefix(parent, m.v2.mount+"/") {
		t.Fatalf("parent group %s is not in the cgroup2 mount %s", parent, m.v2.mount)
	}
	if m.Version() != 2 {
		t.Errorf("Version() = %d on cgroup2 alone, want 2", m.Version())
	}

	t.Run("controllers", func(t *testing.T) {
		avail, err := read(parent, "cgroup.controllers")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range controllers {
			l := map[string]executor.Limits{"memory": {Memory: 64 << 20}, "pids": {Pids: 10}, "cpu": {CPU: 500}}[c]
			has, offered := slices.Contains(m.Controllers(), c), slices.Contains(strings.Fields(avail), c)
			switch err := m.Supports(l); {
			case has && !offered:
				t.Errorf("Controllers() has %s, which %s/cgroup.controllers (%q) does not offer", c, parent, avail)
			case !has && !errors.Is(err, ErrUnsupported):
				t.Errorf("Supports(%+v) without a %s controller = %v, want ErrUnsupported", l, c, err)
			}
		}
		t.Logf("cgroup2 controllers offered to job groups: %q (enabled: %v)", avail, m.Controllers())
	})

	t.Run("child starts in its group", func(t *testing.T) {
		g := newGroup(t, m, "v2-first", executor.Limits{})
		dir := g.dirs[m.v2]
		if fi, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil || fi.IsDir() {
			t.Fatalf("%s is not a cgroup (no cgroup.procs): %v", dir, err)
		}
		var out bytes.Buffer
		cmd := exec.Command("cat", "/proc/self/cgroup")
		cmd.Stdout = &out
		start(t, g, cmd)
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if _, v2, _ := parseProcCgroup(out.Bytes()); v2 != relPath(m.v2, dir) {
			t.Errorf("child's cgroup v2 group = %q, want %q (its /proc/self/cgroup:\n%s)", v2, relPath(m.v2, dir), out.String())
		}
		self, _ := os.ReadFile("/proc/self/cgroup")
		if strings.Contains(string(self), m.name) {
			t.Errorf("the server is in a job group:\n%s", self)
		}
	})

	t.Run("a process moved in", func(t *testing.T) {
		g := newGroup(t, m, "v2-moved", executor.Limits{})
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		if err := g.AddProcess(os.Getpid()); err == nil {
			t.Error("AddProcess(the server) succeeded")
		}
		if err := g.AddProcess(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
		if err != nil {
			t.Fatal(err)
		}
		if _, v2, _ := parseProcCgroup(b); v2 != relPath(m.v2, g.dirs[m.v2]) {
			t.Errorf("moved process's cgroup v2 group = %q, want %q", v2, relPath(m.v2, g.dirs[m.v2]))
		}
		if got := g.Procs(); !slices.Equal(got, []int{cmd.Process.Pid}) {
			t.Errorf("Procs() = %v, want [%d]", got, cmd.Process.Pid)
		}
		g.Kill()
		if err := cmd.Wait(); err == nil {
			t.Error("the moved process survived Kill")
		}
	})

	t.Run("cgroup.kill", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(parent, "cgroup.kill")); err != nil {
			t.Skipf("kernel without cgroup.kill (Linux < 5.14): %v", err)
		}
		testKill(t, m) // double forks and new sessions included, then Remove
	})

	t.Run("stale groups removed at Open", func(t *testing.T) {
		g, err := m.New("v2-left-behind", executor.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "300")
		start(t, g, cmd)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		m2, err := openV2(t, strings.TrimPrefix(m.name, "runplane-"))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err == nil {
				t.Error("stale job exited 0, want killed")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("stale job still running 10s after Open")
		}
		if _, err := os.Stat(g.dirs[m.v2]); !os.IsNotExist(err) {
			t.Errorf("stale group %s after Open: %v, want it removed", g.dirs[m.v2], err)
		}
		_ = g.Remove() // closes its descriptor
		if err := m2.Close(); err != nil {
			t.Error(err)
		}
	})

	// What every subtest made is gone: at most the parent group is left (the second Manager, of the same name,
	// removed it when it closed), which Close removes in cleanup.
	entries, err := os.ReadDir(parent)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("job group %s left in %s", e.Name(), parent)
		}
	}
}

// v2Layout is a directory laid out like a cgroup v2 job group whose hierarchy has the memory, pids and cpu
// controllers, for the files our VMs' cgroup2 hierarchy cannot have: every one of the controllers is bound to
// cgroup v1 here, so memory.max, pids.max, cpu.max and memory.events do not exist in it (TestV2Hierarchy uses
// the real one for all the rest). It is a plain directory: it checks the exact bytes this package writes and
// its reading of memory.events, not what the kernel does with them. files are created empty.
func v2Layout(t *testing.T, l executor.Limits, files ...string) (*Group, string) {
	t.Helper()
	root := t.TempDir()
	h := &hierarchy{v2: true, ctls: slices.Clone(controllers), own: root, mount: root}
	m := &Manager{name: "runplane-layout", log: slog.New(slog.DiscardHandler), v1: map[string]*hierarchy{}, v2: h,
		dirs: []*hierarchy{h}, parent: map[*hierarchy]string{h: filepath.Join(root, "runplane-layout")}}
	g := m.group("job", m.joined(l))
	g.limits = l
	dir := g.dirs[h]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return g, dir
}

var v2LimitFiles = []string{"memory.max", "memory.swap.max", "memory.oom.group", "pids.max", "cpu.max"}

func TestV2LimitFiles(t *testing.T) {
	tests := []struct {
		name  string
		l     executor.Limits
		files []string          // the files the group has; default v2LimitFiles
		want  map[string]string // file → exact bytes written; files not named stay empty
		err   bool
	}{
		{"all", executor.Limits{CPU: 500, Memory: 64 << 20, Pids: 20}, nil, map[string]string{
			"memory.max": "67108864", "memory.swap.max": "0", "memory.oom.group": "1", "pids.max": "20", "cpu.max": "50000 100000"}, false},
		{"memory only", executor.Limits{Memory: 1 << 30}, nil, map[string]string{
			"memory.max": "1073741824", "memory.swap.max": "0", "memory.oom.group": "1"}, false},
		{"two and a half cpus", executor.Limits{CPU: 2500}, nil, map[string]string{"cpu.max": "250000 100000"}, false},
		{"tiny cpu rounds up to 1ms", executor.Limits{CPU: 1}, nil, map[string]string{"cpu.max": "1000 100000"}, false},
		{"pids only", executor.Limits{Pids: 1}, nil, map[string]string{"pids.max": "1"}, false},
		{"none", executor.Limits{}, nil, map[string]string{}, false},
		{"kernel without swap accounting or oom.group", executor.Limits{Memory: 64 << 20},
			[]string{"memory.max", "pids.max", "cpu.max"}, map[string]string{"memory.max": "67108864"}, false},
		{"memory.max missing is an error", executor.Limits{Memory: 64 << 20}, []string{"pids.max"}, nil, true},
		{"cpu.max missing is an error", executor.Limits{CPU: 100}, []string{"memory.max"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if files == nil {
				files = v2LimitFiles
			}
			g, dir := v2Layout(t, tt.l, files...)
			err := g.writeLimits()
			if tt.err {
				if err == nil {
					t.Fatalf("writeLimits(%+v) with only %v = nil, want an error", tt.l, files)
				}
				return
			}
			if err != nil {
				t.Fatalf("writeLimits(%+v): %v", tt.l, err)
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.want[f] {
					t.Errorf("%s = %q, want %q", f, b, tt.want[f])
				}
			}
			for f := range tt.want {
				if !slices.Contains(files, f) {
					t.Errorf("want %s written, but the layout has no such file", f)
				}
			}
		})
	}
}

// TestV2OOMKilled: OOMKilled reads oom_kill in the v2 group's memory.events as the kernel writes it.
func TestV2OOMKilled(t *testing.T) {
	tests := []struct {
		name, events string
		want         bool
	}{
		{"killed", "low 0\nhigh 0\nmax 41\noom 1\noom_kill 1\noom_group_kill 1\n", true},
		{"several", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 7\noom_group_kill 1\n", true},
		{"oom event, nothing killed", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\noom_group_kill 0\n", false},
		{"fresh", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", false},
		{"group kill counted apart", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 2\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, dir := v2Layout(t, executor.Limits{Memory: 64 << 20}, "memory.events")
			if err := os.WriteFile(filepath.Join(dir, "memory.events"), []byte(tt.events), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := g.OOMKilled(); got != tt.want {
				t.Errorf("OOMKilled() with memory.events %q = %v, want %v", tt.events, got, tt.want)
			}
		})
	}
	g, dir := v2Layout(t, executor.Limits{Memory: 64 << 20})
	if g.OOMKilled() {
		t.Errorf("OOMKilled() without %s/memory.events = true", dir)
	}
}
