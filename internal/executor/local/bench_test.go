//go:build linux

package local_test

import (
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// BenchmarkBareSpawn is the yardstick: fork/exec of `sh -c true` and wait.
func BenchmarkBareSpawn(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("sh", "-c", "true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := exec.Command("sh", "-c", "true").Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkStartWait runs a job of `true` through the executor: serial for latency, parallel for throughput.
// "checkout" jobs also copy a cached two-file checkout (gitsource TTL 1h).
func BenchmarkStartWait(b *testing.B) {
	bare := gittest.NewRepo(b, map[string]string{"run.sh": "#!/bin/sh\ntrue\n", "README": "bench"})
	for _, iso := range []string{local.IsolationNamespace, local.IsolationNone, local.IsolationLauncher} {
		for _, repo := range []bool{false, true} {
			ex := benchExecutor(b, iso)
			spec := executor.Spec{JobID: "bench", Task: "bench", Command: "true", Secrets: map[string]string{"TOKEN": "x"}}
			name := iso
			if repo {
				spec.Repo = executor.Repo{URL: gittest.URL(bare)}
				name += "/checkout"
			}
			job := func(b *testing.B) {
				h, err := ex.Start(b.Context(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if r, err := ex.Wait(b.Context(), h); err != nil || r.ExitCode != 0 {
					b.Fatalf("Wait = %+v, %v", r, err)
				}
			}
			b.Run(name+"/serial", func(b *testing.B) {
				for b.Loop() {
					job(b)
				}
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				b.SetParallelism(4) // 8 jobs in flight on 2 CPUs: CPU-bound throughput
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						job(b)
					}
				})
			})
		}
	}
}

func benchExecutor(b *testing.B, iso string) *local.Executor {
	quiet := slog.New(slog.DiscardHandler)
	cache, err := gitsource.New(filepath.Join(b.TempDir(), "git"), gitsource.Options{TTL: time.Hour, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ex, err := local.New(local.Options{WorkDir: filepath.Join(b.TempDir(), "work"), Git: cache, Isolation: iso, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	return ex
}
