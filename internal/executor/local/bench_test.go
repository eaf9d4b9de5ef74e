//go:build linux

package local_test

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// BenchmarkStartWait runs a job of `true` with one secret through the executor: serial for latency, parallel for
// throughput. "checkout" jobs also copy a cached two-file checkout (gitsource TTL 1h); "nosecret" jobs have no
// secret (in-process namespace jobs then need no mount namespace).
func BenchmarkStartWait(b *testing.B) {
	bare := gittest.NewRepo(b, map[string]string{"run.sh": "#!/bin/sh\ntrue\n", "README": "bench"})
	for _, iso := range []string{local.IsolationNamespace, local.IsolationNone, local.IsolationLauncher} {
		for _, variant := range []string{"", "/checkout", "/nosecret"} {
			ex := benchExecutor(b, iso)
			spec := executor.Spec{JobID: "bench", Task: "bench", Command: "true", Secrets: map[string]string{"TOKEN": "x"}}
			name := iso + variant
			switch variant {
			case "/checkout":
				spec.Repo = executor.Repo{URL: gittest.URL(bare)}
			case "/nosecret":
				spec.Secrets = nil
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

// BenchmarkInFlight8 runs jobs of `true` 8 at a time, as the server does on 2 CPUs (4 × GOMAXPROCS), each
// writing into a pipe that a goroutine drains, as the engine's jobs do; and beside them, in alternating rounds of
// 100, bare `sh -c true` spawns 8 at a time, so that both see the same machine. ns/op is per job; ratio is the
// jobs' rate over the bare spawns' (the target for the whole server: at least 0.5).
// Run: go test -run '^$' -bench InFlight8 -benchtime 2000x ./internal/executor/local/
func BenchmarkInFlight8(b *testing.B) {
	bare := gittest.NewRepo(b, map[string]string{"run.sh": "#!/bin/sh\ntrue\n", "README": "bench"})
	tests := []struct {
		name    string
		repo    bool
		secrets map[string]string
	}{
		{"true", false, nil},
		{"checkout", true, nil},
		{"checkout+secret", true, map[string]string{"TOKEN": "x"}},
	}
	for _, iso := range []string{local.IsolationNamespace, local.IsolationNone} {
		for _, tc := range tests {
			b.Run(iso+"/"+tc.name, func(b *testing.B) {
				ex := benchExecutor(b, iso)
				spec := executor.Spec{JobID: "bench", Task: "bench", Command: "true", Secrets: tc.secrets}
				if tc.repo {
					spec.Repo = executor.Repo{URL: gittest.URL(bare)}
				}
				job := func() {
					pr, pw, err := os.Pipe()
					if err != nil {
						b.Fatal(err)
					}
					copied := make(chan struct{})
					go func() {
						defer close(copied)
						_, _ = io.Copy(io.Discard, pr)
						pr.Close()
					}()
					spec := spec
					spec.Output = pw
					h, err := ex.Start(b.Context(), spec)
					pw.Close()
					if err != nil {
						b.Fatal(err)
					}
					if r, err := ex.Wait(b.Context(), h); err != nil || r.ExitCode != 0 {
						b.Fatalf("Wait = %+v, %v", r, err)
					}
					<-copied
				}
				spawn := func() {
					if err := exec.Command("sh", "-c", "true").Run(); err != nil {
						b.Fatal(err)
					}
				}
				job() // warm the git cache
				var jobTime, bareTime time.Duration
				for done := 0; done < b.N; {
					n := min(100, b.N-done)
					jobTime += inFlight(8, n, job)
					bareTime += inFlight(8, n, spawn)
					done += n
				}
				b.ReportMetric(float64(jobTime.Nanoseconds())/float64(b.N), "ns/op")
				b.ReportMetric(float64(bareTime.Nanoseconds())/float64(b.N), "bare-ns/op")
				b.ReportMetric(bareTime.Seconds()/jobTime.Seconds(), "ratio")
			})
		}
	}
}

// inFlight runs f n times, k at a time, and returns how long that took.
func inFlight(k, n int, f func()) time.Duration {
	start := time.Now()
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				f()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
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
