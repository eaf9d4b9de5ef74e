package cgroup

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/runplane/runplane/internal/executor"
)

var benchLimits = executor.Limits{CPU: 500, Memory: 256 << 20, Pids: 100}

// BenchmarkForkExec is the baseline: a bare fork/exec of `sh -c true`, waited for.
func BenchmarkForkExec(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGroup is what a job pays for its group alone: New (with memory, pids and cpu limits), EnterThread and
// LeaveThread on a thread of its own (the thread ends after each), Remove.
func BenchmarkGroup(b *testing.B) {
	m, _ := newManager(b)
	i := 0
	for b.Loop() {
		i++
		errc := make(chan error, 1)
		Go(func() {
			g, err := m.New(fmt.Sprint("bench-", i), benchLimits)
			if err != nil {
				errc <- err
				return
			}
			if err := g.EnterThread(); err != nil && err != ErrNoThreadEntry {
				errc <- err
				return
			}
			if err := g.LeaveThread(); err != nil {
				errc <- err
				return
			}
			errc <- g.Remove()
		})
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForkExecInGroup is BenchmarkForkExec in a job group: New, start in the group (v1 thread entry and,
// on a hybrid host, clone3 into the cgroup2 group too), wait, Remove.
func BenchmarkForkExecInGroup(b *testing.B) {
	m, _ := newManager(b)
	b.Run("limits", func(b *testing.B) { benchForkExecInGroup(b, m, benchLimits) })
	b.Run("no-limits", func(b *testing.B) { benchForkExecInGroup(b, m, executor.Limits{}) })
	b.Run("memory", func(b *testing.B) { benchForkExecInGroup(b, m, executor.Limits{Memory: benchLimits.Memory}) })
	b.Run("pids", func(b *testing.B) { benchForkExecInGroup(b, m, executor.Limits{Pids: benchLimits.Pids}) })
	b.Run("cpu", func(b *testing.B) { benchForkExecInGroup(b, m, executor.Limits{CPU: benchLimits.CPU}) })
	b.Run("cpu-unthrottled", func(b *testing.B) { benchForkExecInGroup(b, m, executor.Limits{CPU: 64000}) })
}

func benchForkExecInGroup(b *testing.B, m *Manager, l executor.Limits) {
	i := 0
	for b.Loop() {
		i++
		g, err := m.New(fmt.Sprint("bench-", i), l)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", "true")
		start(b, g, cmd)
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		if err := g.Remove(); err != nil {
			b.Fatal(err)
		}
	}
}
