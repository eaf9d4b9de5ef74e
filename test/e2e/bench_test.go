package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// benchServer starts the real binary with a runner and the given tasks.
func benchServer(b *testing.B, tasks ...api.Task) (*serverProc, *client.Client) {
	srv := startServe(b, b.TempDir())
	c, err := client.New(srv.url)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := c.Login(context.Background(), api.Login{Username: "root", Password: rootPassword, Provider: "local"})
	if err != nil {
		b.Fatal(err)
	}
	c.SetToken(tok)
	repo := gittest.URL(gittest.NewRepo(b, map[string]string{"README": "bench\n"}))
	if _, err := c.CreateRunner(context.Background(), api.Runner{Name: "r", GitURL: repo}); err != nil {
		b.Fatal(err)
	}
	for _, tk := range tasks {
		tk.Runner = "r"
		if _, err := c.CreateTask(context.Background(), tk); err != nil {
			b.Fatal(err)
		}
	}
	return srv, c
}

func spawnBare() error { return exec.Command("sh", "-c", "true").Run() }

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkSync measures the HTTP round trip of a synchronous job of `true`, request to response, beside a bare
// fork/exec of `sh -c true` measured in the same run (interleaved, so both see the same machine).
// Run: go test -run '^$' -bench Sync -benchtime 500x ./test/e2e/
func BenchmarkSync(b *testing.B) {
	_, c := benchServer(b, api.Task{Name: "true", Command: "true", Synchronous: true})
	ctx := context.Background()
	// Warm the git cache and the connection.
	for range 5 {
		if _, _, err := c.Submit(ctx, "true", nil, client.SubmitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var job, bare []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := spawnBare(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		j, finished, err := c.Submit(ctx, "true", nil, client.SubmitOptions{})
		if err != nil || !finished || j.Status != api.JobSucceeded {
			b.Fatalf("sync job = %+v finished %v, %v", j, finished, err)
		}
		job = append(job, time.Since(t1))
		bare = append(bare, t1.Sub(t0))
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(job, .5)), "p50-ms")
	b.ReportMetric(ms(percentile(job, .99)), "p99-ms")
	b.ReportMetric(ms(percentile(bare, .5)), "bare-p50-ms")
	b.ReportMetric(ms(percentile(bare, .99)), "bare-p99-ms")
	b.ReportMetric(ms(percentile(job, .5)-percentile(bare, .5)), "p50-over-bare-ms")
}

// BenchmarkThroughput submits 5,000 async jobs at once and measures jobs/s until all are finished, checking that
// none is lost and none runs twice (each job appends its id to a file with a shell builtin, as cheap as `true`).
// Beside it, the rate of bare `sh -c true` spawns with the same concurrency, measured in the same run.
// Run: go test -run '^$' -bench Throughput -benchtime 1x ./test/e2e/
func BenchmarkThroughput(b *testing.B) {
	const n = 5000
	ran := filepath.Join(b.TempDir(), "ran")
	srv, c := benchServer(b, api.Task{Name: "mark", Command: `echo "$RUNPLANE_JOB_ID" >> ` + ran})
	ctx := context.Background()
	const clients = 16
	var jobRate, bareRate float64
	for range b.N {
		os.Remove(ran)
		before := finishedJobs(b, srv.url)
		ids := make(chan string, n)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += clients {
					j, _, err := c.Submit(ctx, "mark", nil, client.SubmitOptions{})
					if err != nil {
						b.Error(err)
						return
					}
					ids <- j.ID
				}
			}()
		}
		wg.Wait()
		close(ids)
		for finishedJobs(b, srv.url) < before+n {
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(start)
		jobRate = n / elapsed.Seconds()

		want := map[string]bool{}
		for id := range ids {
			want[id] = true
		}
		got := map[string]int{}
		data, _ := os.ReadFile(ran)
		for _, id := range strings.Fields(string(data)) {
			got[id]++
		}
		lost, twice := 0, 0
		for id := range want {
			switch got[id] {
			case 0:
				lost++
			case 1:
			default:
				twice++
			}
		}
		if len(want) != n || lost != 0 || twice != 0 || len(got) != n {
			b.Fatalf("submitted %d distinct, ran %d distinct: %d lost, %d ran twice", len(want), len(got), lost, twice)
		}

		// The baseline: the same number of bare spawns with the same client concurrency.
		bstart := time.Now()
		var bwg sync.WaitGroup
		for w := range clients {
			bwg.Add(1)
			go func() {
				defer bwg.Done()
				for i := w; i < n; i += clients {
					if err := spawnBare(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		bwg.Wait()
		bareRate = n / time.Since(bstart).Seconds()
	}
	b.ReportMetric(jobRate, "jobs/s")
	b.ReportMetric(bareRate, "bare-spawns/s")
	b.ReportMetric(jobRate/bareRate, "ratio")
	b.ReportMetric(0, "ns/op")
}

// finishedJobs reads runplane_jobs_total from /metrics.
func finishedJobs(b testing.TB, url string) int {
	v, err := metric(url, "runplane_jobs_total")
	if err != nil {
		b.Fatal(err)
	}
	return int(v)
}
