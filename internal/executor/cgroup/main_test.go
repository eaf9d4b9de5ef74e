package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/testlog"
)

// The test binary doubles as a helper process: RUNPLANE_CGROUP_HELPER says what to do.
func TestMain(m *testing.M) {
	switch os.Getenv("RUNPLANE_CGROUP_HELPER") {
	case "":
		os.Exit(m.Run())
	case "alloc": // touch 512 MiB, page by page
		var keep [][]byte
		for range 512 {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep))
		os.Exit(0)
	case "open": // Open as whatever user this runs as
		_, err := Open(Options{Name: "helper"})
		fmt.Print(err)
		os.Exit(0)
	}
	os.Exit(2)
}

// needRoot skips a test that needs root, unless it runs in CI, where it must run (and fail if it cannot).
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("CI") == "" {
		t.Skip("needs root (runs in CI)")
	}
}

var managers atomic.Int64

// newManager opens a Manager with a name of its own, closed (and checked empty) at the end of the test.
func newManager(t testing.TB) (*Manager, string) {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("test-%d-%d", os.Getpid(), managers.Add(1))
	m, err := Open(Options{Name: name, Logger: testlog.New(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		for h, dir := range m.parent {
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("parent group %s (%v) left after Close", dir, h.ctls)
			}
		}
	})
	return m, name
}

func newGroup(t testing.TB, m *Manager, name string, l executor.Limits) *Group {
	t.Helper()
	g, err := m.New(name, l)
	if err != nil {
		t.Fatalf("New(%q, %+v): %v", name, l, err)
	}
	t.Cleanup(func() {
		g.Kill()
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// start starts cmd inside g the way the local executor does: from a goroutine locked to a thread that enters
// g's v1 groups, clones the child into g's v2 group, and leaves. The thread ends with the goroutine.
func start(t testing.TB, g *Group, cmd *exec.Cmd) {
	t.Helper()
	errc := make(chan error, 1)
	Go(func() { errc <- startLocked(g, cmd) })
	if err := <-errc; err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
}

func startLocked(g *Group, cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if fd, err := g.FD(); err == nil {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if err := g.EnterThread(); err != nil && err != ErrNoThreadEntry {
		return err
	}
	err := cmd.Start()
	if lerr := g.LeaveThread(); err == nil {
		err = lerr
	}
	return err
}

// helper is a command that runs this test binary as helper what.
func helper(t testing.TB, what string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "RUNPLANE_CGROUP_HELPER="+what)
	return cmd
}

// relPath is dir as /proc/<pid>/cgroup shows it: relative to its hierarchy's mount.
func relPath(h *hierarchy, dir string) string {
	rel, _ := filepath.Rel(h.mount, dir)
	return "/" + strings.TrimPrefix(rel, ".")
}
