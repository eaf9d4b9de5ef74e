package e2e

import (
	"context"
	"os"
	"os/exec"
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
	return benchServerOf(b, binary, tasks...)
}

// benchServerOf is benchServer with the given runplane binary.
func benchServerOf(b *testing.B, bin string, tasks ...api.Task) (*serverProc, *client.Client) {
	var env []string // RUNPLANE_BENCH_ENV: settings for the servers measured, e.g. RUNPLANE_ISOLATION=none
	if e := os.Getenv("RUNPLANE_BENCH_ENV"); e != "" {
		env = strings.Split(e, ",")
	}
	srv, err := launchServeBinary(b, bin, nil, b.TempDir(), env)
	if err != nil {
		b.Fatal(err)
	}
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

// benchTarget is one server a benchmark measures: this tree's binary, and with RUNPLANE_BENCH_BASELINE naming
// another runplane binary (hack/bench.sh builds one from BASELINE=<git ref>), that one too, interleaved with it.
type benchTarget struct {
	name string
	srv  *serverProc
	c    *client.Client
}

func benchTargets(b *testing.B, tasks ...api.Task) []benchTarget {
	srv, c := benchServer(b, tasks...)
	targets := []benchTarget{{"", srv, c}}
	if base := os.Getenv("RUNPLANE_BENCH_BASELINE"); base != "" {
		srv, c := benchServerOf(b, base, tasks...)
		targets = append(targets, benchTarget{"baseline-", srv, c})
	}
	return targets
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
	targets := benchTargets(b, api.Task{Name: "true", Command: "true", Synchronous: true})
	ctx := context.Background()
	// Warm the git cache and the connection.
	for _, tg := range targets {
		for range 5 {
			if _, _, err := tg.c.Submit(ctx, "true", nil, client.SubmitOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	job := make([][]time.Duration, len(targets))
	var bare []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := spawnBare(); err != nil {
			b.Fatal(err)
		}
		bare = append(bare, time.Since(t0))
		for i, tg := range targets {
			t1 := time.Now()
			j, finished, err := tg.c.Submit(ctx, "true", nil, client.SubmitOptions{})
			if err != nil || !finished || j.Status != api.JobSucceeded {
				b.Fatalf("sync job = %+v finished %v, %v", j, finished, err)
			}
			job[i] = append(job[i], time.Since(t1))
		}
	}
	b.StopTimer()
	for i, tg := range targets {
		b.ReportMetric(ms(percentile(job[i], .5)), tg.name+"p50-ms")
		b.ReportMetric(ms(percentile(job[i], .99)), tg.name+"p99-ms")
		b.ReportMetric(ms(percentile(job[i], .5)-percentile(bare, .5)), tg.name+"p50-over-bare-ms")
	}
	if len(targets) > 1 {
		b.ReportMetric(float64(percentile(job[0], .5))/float64(percentile(job[1], .5)), "p50-vs-baseline")
	}
	b.ReportMetric(ms(percentile(bare, .5)), "bare-p50-ms")
	b.ReportMetric(ms(percentile(bare, .99)), "bare-p99-ms")
}

// BenchmarkThroughput submits 5,000 async jobs at once and measures jobs/s until all are finished, then checks
// that none is lost and each ran (each job prints its own id, as cheap as `true`; jobs cannot write outside
// their sandbox). Beside it, the rate of bare `sh -c true` spawns with the same concurrency, measured in the same
// run, and with RUNPLANE_BENCH_BASELINE, the baseline binary's rate in alternate rounds.
// Run: go test -run '^$' -bench Throughput -benchtime 1x ./test/e2e/
func BenchmarkThroughput(b *testing.B) {
	targets := benchTargets(b, api.Task{Name: "mark", Command: `echo "$RUNPLANE_JOB_ID"`})
	rates := make([]float64, len(targets))
	cpu := make([]procCPU, len(targets))
	var bareRate float64
	for range b.N {
		for i, tg := range targets {
			c0 := readProcCPU(b, tg.srv.cmd.Process.Pid)
			rates[i] += throughputRound(b, tg)
			cpu[i] = cpu[i].add(readProcCPU(b, tg.srv.cmd.Process.Pid).sub(c0))
		}
		bareRate += bareRound(b)
	}
	for i, tg := range targets {
		b.ReportMetric(rates[i]/float64(b.N), tg.name+"jobs/s")
		// Where the CPU goes, per job: the server's own (HTTP, store, sandbox set-up) and its reaped children's
		// (the jobs' processes).
		jobs := float64(b.N * throughputJobs)
		b.ReportMetric(ms(cpu[i].self)/jobs, tg.name+"server-cpu-ms/job")
		b.ReportMetric(ms(cpu[i].children)/jobs, tg.name+"jobs-cpu-ms/job")
	}
	b.ReportMetric(bareRate/float64(b.N), "bare-spawns/s")
	b.ReportMetric(rates[0]/bareRate, "ratio")
	if len(targets) > 1 {
		b.ReportMetric(rates[0]/rates[1], "vs-baseline")
	}
	b.ReportMetric(0, "ns/op")
}

const (
	throughputJobs    = 5000
	throughputClients = 16
)

// throughputRound runs one round against tg and returns its jobs/s.
func throughputRound(b *testing.B, tg benchTarget) float64 {
	ctx := context.Background()
	before := finishedJobs(b, tg.srv.url)
	ids := make(chan string, throughputJobs)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range throughputClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < throughputJobs; i += throughputClients {
				j, _, err := tg.c.Submit(ctx, "mark", nil, client.SubmitOptions{})
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
	// Polled every 100 ms, not faster: each scrape of /metrics costs the measured server CPU (a 5,000-job
	// round lasts tens of seconds, so the end is still found within 0.5 %).
	for finishedJobs(b, tg.srv.url) < before+throughputJobs {
		time.Sleep(100 * time.Millisecond)
	}
	rate := throughputJobs / time.Since(start).Seconds()

	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	bad := 0
	for id := range want {
		j, err := tg.c.GetJob(ctx, id)
		if err != nil || j.Status != api.JobSucceeded || strings.TrimSpace(j.Stdout) != id {
			bad++
		}
	}
	if len(want) != throughputJobs || bad != 0 {
		b.Fatalf("%ssubmitted %d distinct jobs; %d did not succeed printing their own id", tg.name, len(want), bad)
	}
	return rate
}

// bareRound spawns as many bare `sh -c true` as a round has jobs, with the same concurrency, and returns the rate.
func bareRound(b *testing.B) float64 {
	bstart := time.Now()
	var bwg sync.WaitGroup
	for w := range throughputClients {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for i := w; i < throughputJobs; i += throughputClients {
				if err := spawnBare(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	bwg.Wait()
	return throughputJobs / time.Since(bstart).Seconds()
}

// finishedJobs reads runplane_jobs_total from /metrics.
func finishedJobs(b testing.TB, url string) int {
	v, err := metric(url, "runplane_jobs_total")
	if err != nil {
		b.Fatal(err)
	}
	return int(v)
}
