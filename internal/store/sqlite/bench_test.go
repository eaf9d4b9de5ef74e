package sqlite

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// modes are the two connection layouts Open could use; the benchmarks justify the choice of split.
var modes = []struct {
	name  string
	split bool
}{
	{"split", true},   // one writer connection + a pool of readers (what Open does)
	{"single", false}, // everything on one connection
}

func benchStore(b *testing.B, split bool) *Store {
	b.Helper()
	s, err := open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), Options{Cipher: testCipher(b)}, split)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchJob(i int64) store.Job {
	return store.Job{Job: api.Job{ID: fmt.Sprintf("task-%08d", i), Owner: "root", Task: "task"},
		Input: []byte(`{"name":"value","n":42}`)}
}

// benchLease is a lease as a server takes it when it claims.
func benchLease() store.Lease { return store.Lease{Owner: "bench", Until: time.Now().Add(time.Minute)} }

func BenchmarkCreateJob(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, m.split)
			var i int64
			for b.Loop() {
				i++
				if _, _, err := s.CreateJob(b.Context(), benchJob(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCreateJobParallel(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, m.split)
			var n atomic.Int64
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.CreateJob(b.Context(), benchJob(n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkClaimFinish measures the engine's per-job work after submission: claim, record the handle, finish.
func BenchmarkClaimFinish(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, m.split)
			var i int64
			for i = 0; i < int64(b.N); i++ {
				if _, _, err := s.CreateJob(b.Context(), benchJob(i)); err != nil {
					b.Fatal(err)
				}
			}
			code := 0
			b.ResetTimer()
			for range b.N {
				j, err := s.ClaimJob(b.Context(), time.Now(), benchLease())
				if err != nil {
					b.Fatal(err)
				}
				if err := s.SetJobHandle(b.Context(), j.ID, "local:1"); err != nil {
					b.Fatal(err)
				}
				if _, err := s.FinishJob(b.Context(), j.ID, store.Finish{Status: api.JobSucceeded, ExitCode: &code,
					Stdout: "hello\n^JSON\n{\"ok\":true}\n^JSON\n", JSONData: []byte(`{"ok":true}`)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJobCycle is one whole job as the store sees it: create, claim, handle, finish.
func BenchmarkJobCycle(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, m.split)
			var n atomic.Int64
			code := 0
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.CreateJob(b.Context(), benchJob(n.Add(1))); err != nil {
						b.Error(err)
						return
					}
					j, err := s.ClaimJob(b.Context(), time.Now(), benchLease())
					if err != nil {
						b.Error(err)
						return
					}
					if err := s.SetJobHandle(b.Context(), j.ID, "local:1"); err != nil {
						b.Error(err)
						return
					}
					if _, err := s.FinishJob(b.Context(), j.ID, store.Finish{Status: api.JobSucceeded, ExitCode: &code}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMixedParallel is writers and API readers at once: each iteration creates a job, reads one back and
// lists a page, as a busy server would.
func BenchmarkMixedParallel(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, m.split)
			for i := range 1000 {
				if _, _, err := s.CreateJob(b.Context(), benchJob(int64(-i-1))); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, _, err := s.CreateJob(b.Context(), benchJob(i)); err != nil {
						b.Error(err)
						return
					}
					if _, err := s.GetJob(b.Context(), benchJob(-(i%1000)-1).ID); err != nil {
						b.Error(err)
						return
					}
					if _, _, err := s.ListJobs(b.Context(), store.JobFilter{Limit: 20}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCreateJobWhileListing measures writes while API clients page through a large job history: with one
// connection every write queues behind each listing's count over the whole table.
func BenchmarkCreateJobWhileListing(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := benchStore(b, m.split)
			for i := range 20000 {
				if _, _, err := s.CreateJob(b.Context(), benchJob(int64(-i-1))); err != nil {
					b.Fatal(err)
				}
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, _, err := s.ListJobs(b.Context(), store.JobFilter{Limit: 50}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
			var i int64
			b.ResetTimer()
			for b.Loop() {
				i++
				if _, _, err := s.CreateJob(b.Context(), benchJob(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			<-done
		})
	}
}

// BenchmarkListJobs is one API page (50 jobs and the total) over a history of 20,000 jobs.
func BenchmarkListJobs(b *testing.B) {
	s := benchStore(b, true)
	for i := range 20000 {
		if _, _, err := s.CreateJob(b.Context(), benchJob(int64(i))); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, _, err := s.ListJobs(b.Context(), store.JobFilter{Limit: 50, Offset: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerLoad mimics a busy server: 16 goroutines each run whole jobs through the store as the API and
// the engine do — create, a status poll, claim, record the handle, finish, a last read — with no two iterations
// on one job id. One op is one job; jobs/s is the store's throughput.
func BenchmarkServerLoad(b *testing.B) {
	const workers = 16
	s := benchStore(b, true)
	var next atomic.Int64
	n := int64(b.N)
	code := 0
	var wg sync.WaitGroup
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			ctx := b.Context()
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if _, _, err := s.CreateJob(ctx, benchJob(i)); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.GetJob(ctx, benchJob(i).ID); err != nil {
					b.Error(err)
					return
				}
				j, err := s.ClaimJob(ctx, time.Now(), benchLease())
				if err != nil {
					b.Error(err)
					return
				}
				if err := s.SetJobHandle(ctx, j.ID, "local:1"); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.FinishJob(ctx, j.ID, store.Finish{Status: api.JobSucceeded, ExitCode: &code,
					Stdout: "hello\n^JSON\n{\"ok\":true}\n^JSON\n", JSONData: []byte(`{"ok":true}`)}); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.GetJob(ctx, j.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkCreateJobCapped measures what the per-owner cap costs a submission at its worst: the owner has 999 jobs
// queued, so every submission counts them. Each job is cancelled again, so the count stays the same.
func BenchmarkCreateJobCapped(b *testing.B) {
	for _, max := range []int{0, 1000} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			s := benchStore(b, true)
			var i int64
			for ; i < 999; i++ {
				if _, _, err := s.CreateJob(b.Context(), benchJob(i)); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				i++
				j, _, err := s.CreateJobCapped(b.Context(), benchJob(i), max)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.FinishJob(b.Context(), j.ID, store.Finish{Status: api.JobCancelled}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSubmitAudited is a job's submission as the API makes it: the job and, in its transaction, the
// request's audit entry (store.WithAudit); beside it the job alone.
func BenchmarkSubmitAudited(b *testing.B) {
	for _, audited := range []bool{false, true} {
		b.Run(fmt.Sprintf("audited=%v", audited), func(b *testing.B) {
			s := benchStore(b, true)
			var i int64
			for b.Loop() {
				i++
				ctx := b.Context()
				if audited {
					ctx = store.WithAudit(ctx, store.NewPendingAudit(api.AuditLog{UserID: "u-1", Username: "root",
						Provider: "local", EventType: "run", EventCategory: "jobs", EventTarget: "task",
						Status: api.AuditSuccess, Source: "127.0.0.1"}))
				}
				if _, _, err := s.CreateJobCapped(ctx, benchJob(i), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
