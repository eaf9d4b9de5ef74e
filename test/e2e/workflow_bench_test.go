package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// The workflow benchmarks run steps and jobs that are the same job: one container of `true` (its image is ignored
// by the process isolation modes) with no runner, as an inline step or as a task.
var trueContainer = []api.Container{{Name: "true", Image: "alpine", Command: api.Strings{"true"}}}

func trueStep(name string, dependsOn ...string) api.Step {
	return api.Step{Name: name, DependsOn: dependsOn, Image: "alpine", Command: api.Strings{"true"}}
}

// workflowBenchTargets starts this tree's binary (and with RUNPLANE_BENCH_BASELINE, that one too) with the task
// "true" (sync) and "true-async", both running trueContainer, and the given workflows.
func workflowBenchTargets(b *testing.B, workflows ...api.Workflow) []benchTarget {
	bins := []benchTarget{{}}
	if base := os.Getenv("RUNPLANE_BENCH_BASELINE"); base != "" {
		bins = append(bins, benchTarget{name: "baseline-"})
	}
	ctx := context.Background()
	for i := range bins {
		bin := binary
		if bins[i].name != "" {
			bin = os.Getenv("RUNPLANE_BENCH_BASELINE")
		}
		srv, c := benchServerOf(b, bin)
		for _, tk := range []api.Task{
			{Name: "true", Containers: trueContainer, Synchronous: true},
			{Name: "true-async", Containers: trueContainer},
		} {
			if _, err := c.CreateTask(ctx, tk); err != nil {
				b.Fatal(err)
			}
		}
		for _, w := range workflows {
			if _, err := c.CreateWorkflow(ctx, w); err != nil {
				b.Fatal(err)
			}
		}
		bins[i].srv, bins[i].c = srv, c
	}
	return bins
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkWorkflowSerial runs a 10-step serial workflow of `true` steps synchronously (POST .../runs?wait=),
// request to response, beside a client submitting 10 sync jobs of the same `true` one after another, interleaved
// round by round. Target: the run takes no more than 1.2× the client's loop (ratio of medians). step-gap is the
// median time from one step's job's end to the next one's start. With RUNPLANE_BENCH_BASELINE, the baseline
// binary's run is measured too, in the same rounds.
// Run: go test -run '^$' -bench WorkflowSerial -benchtime 50x ./test/e2e/
func BenchmarkWorkflowSerial(b *testing.B) {
	const n = 10
	w := api.Workflow{Name: "serial"}
	for i := range n {
		var deps []string
		if i > 0 {
			deps = []string{fmt.Sprintf("s%d", i-1)}
		}
		w.Steps = append(w.Steps, trueStep(fmt.Sprintf("s%d", i), deps...))
	}
	targets := workflowBenchTargets(b, w)
	c := targets[0].c
	ctx := context.Background()
	wait := time.Minute
	gaps := make([][]time.Duration, len(targets))
	loop := func() {
		for range n {
			j, finished, err := c.Submit(ctx, "true", nil, client.SubmitOptions{Wait: &wait})
			if err != nil || !finished || j.Status != api.JobSucceeded {
				b.Fatalf("sync job = %+v finished %v, %v", j, finished, err)
			}
		}
	}
	run := func(i int) {
		r, finished, err := targets[i].c.StartRun(ctx, "serial", nil, client.SubmitOptions{Wait: &wait})
		if err != nil || !finished || r.Status != api.RunSucceeded {
			b.Fatalf("sync run = %+v finished %v, %v", r, finished, err)
		}
		for j, s := range r.Steps {
			if s.Status != api.StepSucceeded {
				b.Fatalf("step %s = %s", s.Name, s.Status)
			}
			if j > 0 {
				// A step's times are its job's: from one job's end to the next one's start is the run's advance.
				gaps[i] = append(gaps[i], s.StartTime.Sub(*r.Steps[j-1].CompletionTime))
			}
		}
	}
	for range 2 { // warm up every path
		loop()
		for i := range targets {
			run(i)
		}
	}
	var jobs []time.Duration
	runs := make([][]time.Duration, len(targets))
	gaps = make([][]time.Duration, len(targets))
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		loop()
		jobs = append(jobs, time.Since(t0))
		for i := range targets {
			t1 := time.Now()
			run(i)
			runs[i] = append(runs[i], time.Since(t1))
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(median(jobs)), "jobs-p50-ms")
	b.ReportMetric(ms(percentile(jobs, .9)), "jobs-p90-ms")
	for i, tg := range targets {
		b.ReportMetric(ms(median(runs[i])), tg.name+"run-p50-ms")
		b.ReportMetric(ms(percentile(runs[i], .9)), tg.name+"run-p90-ms")
		b.ReportMetric(ms(median(gaps[i])), tg.name+"step-gap-p50-ms")
		b.ReportMetric(float64(median(runs[i]))/float64(median(jobs)), tg.name+"run/jobs")
	}
	b.ReportMetric(0, "ns/op")
}

const (
	fanRuns    = 500
	fanSteps   = 3
	fanClients = 16
)

// BenchmarkWorkflowThroughput starts 500 runs of a 3-step fan-out/fan-in workflow (a and b in parallel, then c)
// at once from 16 clients, and measures steps/s until every run has ended; then checks that each run succeeded
// with every step. Beside it, in alternate rounds, 1,500 async jobs of the same `true` submitted at once by 16
// clients, jobs/s until all finished. Target: steps/s ≥ 0.8× jobs/s (ratio of the rounds' means). With
// RUNPLANE_BENCH_BASELINE, the baseline binary's runs are measured too, in the same rounds.
// Run: go test -run '^$' -bench WorkflowThroughput -benchtime 3x -timeout 30m ./test/e2e/
func BenchmarkWorkflowThroughput(b *testing.B) {
	w := api.Workflow{Name: "fan", Steps: []api.Step{trueStep("a"), trueStep("b"), trueStep("c", "a", "b")}}
	targets := workflowBenchTargets(b, w)
	var jobRate float64
	stepRate := make([]float64, len(targets))
	for range b.N {
		jobRate += jobsRound(b, targets[0].srv, targets[0].c, fanRuns*fanSteps)
		for i, tg := range targets {
			stepRate[i] += runsRound(b, tg.srv, tg.c)
		}
	}
	b.ReportMetric(jobRate/float64(b.N), "jobs/s")
	for i, tg := range targets {
		b.ReportMetric(stepRate[i]/float64(b.N), tg.name+"steps/s")
		b.ReportMetric(stepRate[i]/jobRate, tg.name+"steps/jobs")
	}
	b.ReportMetric(0, "ns/op")
}

// fanOut calls f(i) for i in [0, n) from fanClients goroutines.
func fanOut(b *testing.B, n int, f func(i int) error) {
	var wg sync.WaitGroup
	for w := range fanClients {
		wg.Go(func() {
			for i := w; i < n; i += fanClients {
				if err := f(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// jobsRound submits n async jobs of "true-async" at once and returns jobs/s until all finished, checking each
// succeeded.
func jobsRound(b *testing.B, srv *serverProc, c *client.Client, n int) float64 {
	ctx := context.Background()
	before := finishedJobs(b, srv.url)
	ids := make([]string, n)
	start := time.Now()
	fanOut(b, n, func(i int) error {
		j, _, err := c.Submit(ctx, "true-async", nil, client.SubmitOptions{})
		ids[i] = j.ID
		return err
	})
	for finishedJobs(b, srv.url) < before+n {
		time.Sleep(20 * time.Millisecond)
	}
	rate := float64(n) / time.Since(start).Seconds()
	fanOut(b, n, func(i int) error {
		j, err := c.GetJob(ctx, ids[i])
		if err == nil && j.Status != api.JobSucceeded {
			err = fmt.Errorf("job %s: %s %s", j.ID, j.Status, j.Reason)
		}
		return err
	})
	return rate
}

// runsRound starts fanRuns runs of "fan" at once and returns steps/s until every run ended, checking each
// succeeded with all its steps.
func runsRound(b *testing.B, srv *serverProc, c *client.Client) float64 {
	ctx := context.Background()
	before := finishedJobs(b, srv.url)
	ids := make([]string, fanRuns)
	start := time.Now()
	fanOut(b, fanRuns, func(i int) error {
		r, _, err := c.StartRun(ctx, "fan", nil, client.SubmitOptions{})
		ids[i] = r.ID
		return err
	})
	// Cheap to ask while the steps run (listing runs is not): the metrics' count of finished jobs.
	for finishedJobs(b, srv.url) < before+fanRuns*fanSteps {
		time.Sleep(20 * time.Millisecond)
	}
	for {
		_, live, err := c.ListRunsPage(ctx, client.RunListOptions{Workflow: "fan", Status: []api.RunStatus{api.RunQueued, api.RunRunning}, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if live == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	rate := float64(fanRuns*fanSteps) / time.Since(start).Seconds()
	fanOut(b, fanRuns, func(i int) error {
		r, err := c.GetRun(ctx, ids[i])
		if err != nil {
			return err
		}
		ok := r.Status == api.RunSucceeded && len(r.Steps) == fanSteps
		for _, s := range r.Steps {
			ok = ok && s.Status == api.StepSucceeded
		}
		if !ok {
			return fmt.Errorf("run %s: %s %s, steps %+v", r.ID, r.Status, r.Reason, r.Steps)
		}
		return nil
	})
	return rate
}
