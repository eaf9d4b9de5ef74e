package cgroup

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/testlog"
)

func TestLimitsWritten(t *testing.T) {
	m, _ := newManager(t)
	if got := m.Controllers(); !slices.Equal(got, []string{"memory", "pids", "cpu"}) {
		t.Fatalf("Controllers() = %v, want memory, pids, cpu (on the test machines)", got)
	}
	tests := []struct {
		name  string
		l     executor.Limits
		files map[string]map[string]string // controller → file → content ("" controller: v2 files)
	}{
		{"all", executor.Limits{CPU: 500, Memory: 64 << 20, Pids: 20}, map[string]map[string]string{
			"memory": {"memory.limit_in_bytes": "67108864", "memory.max": "67108864"},
			"pids":   {"pids.max": "20"},
			"cpu":    {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.max": "50000 100000"},
		}},
		{"tiny cpu rounds up to 1ms", executor.Limits{CPU: 1}, map[string]map[string]string{
			"cpu": {"cpu.cfs_quota_us": "1000", "cpu.max": "1000 100000"},
		}},
	}
	t.Run("none: no controller groups, only one to hold the job", func(t *testing.T) {
		g := newGroup(t, m, "limits-none", executor.Limits{})
		if len(g.hs) != 1 || g.hs[0] != m.v2 && g.hs[0] != m.v1["freezer"] {
			t.Errorf("a job without limits is in %d hierarchies, want only cgroup2 or freezer", len(g.hs))
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroup(t, m, "limits-"+strings.ReplaceAll(tc.name, " ", "-"), tc.l)
			for c, files := range tc.files {
				h := m.hier(c)
				n := 0
				for file, want := range files {
					got, err := read(g.dirs[h], file)
					if errors.Is(err, os.ErrNotExist) {
						continue // the other cgroup version's name
					}
					n++
					if err != nil || got != want {
						t.Errorf("%s/%s = %q, %v; want %q", g.dirs[h], file, got, err, want)
					}
				}
				if n == 0 {
					t.Errorf("no %s file of %v found in %s", c, files, g.dirs[h])
				}
			}
		})
	}
}

func TestBadLimitsAndNames(t *testing.T) {
	m, _ := newManager(t)
	for _, l := range []executor.Limits{{CPU: -1}, {Memory: -1}, {Pids: -5}} {
		if g, err := m.New("bad", l); err == nil {
			g.Remove()
			t.Errorf("New(%+v) succeeded, want an error", l)
		}
	}
	for _, name := range []string{"", "..", "../x", "a/b", ".hidden", strings.Repeat("x", 101), "sp ace"} {
		if g, err := m.New(name, executor.Limits{}); err == nil {
			g.Remove()
			t.Errorf("New(%q) succeeded, want an error", name)
		}
	}
	// A controller the host lacks is ErrUnsupported, not a silent no-op.
	m2 := *m
	m2.v1 = map[string]*hierarchy{}
	m2.v2 = nil
	if err := m2.Supports(executor.Limits{Memory: 1 << 20}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Supports without memory controller = %v, want ErrUnsupported", err)
	}
}

// TestChildStartsInGroup: the child's first look at /proc/self/cgroup already shows the job's groups, in every
// hierarchy (v1 through the forking thread, v2 through clone3 CLONE_INTO_CGROUP), and the server's thread is
// back in its own groups afterwards.
func TestChildStartsInGroup(t *testing.T) {
	m, _ := newManager(t)
	g := newGroup(t, m, "first", executor.Limits{Memory: 64 << 20, Pids: 10, CPU: 1000})
	var out bytes.Buffer
	cmd := exec.Command("cat", "/proc/self/cgroup")
	cmd.Stdout = &out
	start(t, g, cmd)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	v1, v2, _ := parseProcCgroup(out.Bytes())
	if want := len(m.dirs) - btoi(m.v2 != nil && m.v1["freezer"] != nil); len(g.hs) != want {
		t.Fatalf("job with every limit is in %d hierarchies, want %d (all, but freezer where cgroup2 holds the job)", len(g.hs), want)
	}
	for _, h := range g.hs {
		want := relPath(h, g.dirs[h])
		if h.v2 {
			if v2 != want {
				t.Errorf("child's cgroup v2 group = %q, want %q", v2, want)
			}
			continue
		}
		for _, c := range h.ctls {
			if v1[c] != want {
				t.Errorf("child's %s group = %q, want %q", c, v1[c], want)
			}
		}
	}
	if m.v2 == nil {
		t.Log("no cgroup2 hierarchy: clone into group not exercised")
	}
	// The server (this process) is in none of them.
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(self), m.name) {
		t.Errorf("server's own /proc/self/cgroup names a runplane group:\n%s", self)
	}
	for _, h := range g.hs {
		if h.v2 {
			continue
		}
		if ps, _ := pids(g.dirs[h], "tasks"); len(ps) != 0 {
			t.Errorf("tasks of %s after the job = %v, want none", g.dirs[h], ps)
		}
	}
}

func TestOOMKilled(t *testing.T) {
	m, _ := newManager(t)
	g := newGroup(t, m, "oom", executor.Limits{Memory: 64 << 20})
	cmd := helper(t, "alloc")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start(t, g, cmd)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("allocating 512 MiB in 64 MiB: %v (%s), want killed", err, out.String())
	}
	if !g.OOMKilled() {
		t.Error("OOMKilled() = false after an OOM kill")
	}

	ok := newGroup(t, m, "no-oom", executor.Limits{Memory: 64 << 20})
	cmd = exec.Command("sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' x); echo ${#x}")
	start(t, ok, cmd)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if ok.OOMKilled() {
		t.Error("OOMKilled() = true for a job within its limit")
	}
}

func TestPidsLimit(t *testing.T) {
	m, _ := newManager(t)
	g := newGroup(t, m, "pids", executor.Limits{Pids: 4})
	var out bytes.Buffer
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 10 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; echo all started")
	cmd.Stdout, cmd.Stderr = &out, &out
	start(t, g, cmd)
	err := cmd.Wait()
	g.Kill()
	if err == nil || strings.Contains(out.String(), "all started") {
		t.Fatalf("10 forks with pids.max 4: %v, %q; want fork to fail", err, out.String())
	}
	if !strings.Contains(strings.ToLower(out.String()), "fork") {
		t.Errorf("output %q does not say fork failed", out.String())
	}
	t.Logf("sh: %v: %s", err, strings.TrimSpace(out.String()))
}

// TestKill: every process of the job dies, those in a new session and double-forked too; the server does not.
func TestKill(t *testing.T) {
	m, _ := newManager(t)
	tests := []struct {
		name string
		mod  func(m *Manager)
	}{
		{"cgroup.kill", func(m *Manager) {}},
		{"v1 freezer", func(m *Manager) { m.v2 = nil }},
		{"signal until empty", func(m *Manager) { m.v2 = nil; m.v1 = maps.Clone(m.v1); delete(m.v1, "freezer") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := *m
			tc.mod(&m)
			if tc.name == "cgroup.kill" && m.v2 == nil {
				t.Skip("no cgroup2 hierarchy")
			}
			testKill(t, &m)
		})
	}
}

func testKill(t *testing.T, m *Manager) {
	g := newGroup(t, m, "kill", executor.Limits{})
	cmd := exec.Command("sh", "-c", "sleep 300 & setsid sh -c 'sleep 300 & sleep 300' & (sleep 300 &) ; echo ready; wait")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start(t, g, cmd)
	buf := make([]byte, 6)
	if _, err := io.ReadFull(stdout, buf); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(g.Procs()) >= 5 })
	g.Kill()
	err = cmd.Wait()
	if err == nil {
		t.Error("job survived Kill")
	}
	waitFor(t, func() bool { return len(g.Procs()) == 0 })
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStaleGroupsRemoved: a server that crashed left a job group with a process in it; the next Open kills it
// and removes the group.
func TestStaleGroupsRemoved(t *testing.T) {
	m, name := newManager(t)
	g, err := m.New("left-behind", executor.Limits{Pids: 10})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "300")
	start(t, g, cmd)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	m2, err := Open(Options{Name: name, Logger: testlog.New(t)})
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
	for _, dir := range g.dirs {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("stale group %s still there", dir)
		}
	}
	if err := m2.Close(); err != nil {
		t.Error(err)
	}
}

// TestOpenNotRoot: an unprivileged server gets a clear ErrUnavailable, not a half-working Manager.
func TestOpenNotRoot(t *testing.T) {
	needRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cgroup-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	copyExe := filepath.Join(dir, "cgroup.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyExe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyExe)
	cmd.Env = []string{"RUNPLANE_CGROUP_HELPER=open", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "cgroup: unavailable") || !strings.Contains(string(out), "not root") {
		t.Errorf("Open as uid 65534 = %q, want ErrUnavailable saying the server is not root", out)
	}
}

func TestGoNeverRunsOnMainThread(t *testing.T) {
	t.Parallel()
	for range 50 {
		tid := make(chan int, 1)
		Go(func() { tid <- syscall.Gettid() })
		if got := <-tid; got == os.Getpid() {
			t.Fatal("Go ran f on the main thread")
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestIdleParentsRemoved: Open removes the idle parent groups of other servers (killed ones leave theirs), and a
// server whose idle parent another removed makes it again for its next job.
func TestIdleParentsRemoved(t *testing.T) {
	needRoot(t)
	a, err := Open(Options{Name: "idle-a-" + strconv.Itoa(os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	parents := func(m *Manager) []string {
		var ps []string
		for _, h := range m.dirs {
			ps = append(ps, m.parent[h])
		}
		return ps
	}
	b, err := Open(Options{Name: "idle-b-" + strconv.Itoa(os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range parents(a) {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("idle parent %s of another server after Open: %v, want it removed", p, err)
		}
	}
	g, err := a.New("after-removal", executor.Limits{Memory: 64 << 20})
	if err != nil {
		t.Fatalf("New after the parent was removed: %v", err)
	}
	if err := g.Remove(); err != nil {
		t.Error(err)
	}
}
