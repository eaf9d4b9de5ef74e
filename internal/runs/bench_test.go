package runs_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// benchBatch is how many runs (and, beside them, jobs) one round starts at once, as the events benchmark's rounds
// do with 16 clients.
const benchBatch = 50

// BenchmarkOneStepRunVsJob measures a one-step run of `true` — started as an event rule's action starts it (an
// inline definition, stored with its step's job in one write), then run, its step's environment given and the run
// advanced at its end — beside a plain job of a task running `true`, submitted and awaited, in alternate rounds
// over one real SQLite store and local processes. It reports each kind's wall time and this process's CPU time
// (the engines' and the store's; not the jobs' processes) per item, and their ratios: what a step costs over the
// job it runs (issue 14, item 7).
// Run: go test -run '^$' -bench OneStepRunVsJob -benchtime 20x ./internal/runs/
func BenchmarkOneStepRunVsJob(b *testing.B) {
	e := newEnv(b)
	r := e.addEngine(b, engineOpts{})
	ctx := context.Background()
	if err := e.st.CreateTask(ctx, api.Task{Name: "true", Command: "true"}); err != nil {
		b.Fatal(err)
	}
	def := api.Workflow{Name: "bench-action", Steps: []api.Step{{Name: "true", Image: "alpine", Command: api.Strings{"true"}}}}
	runRound := func(round int) {
		var wg sync.WaitGroup
		errs := make(chan error, benchBatch)
		for i := range benchBatch {
			wg.Go(func() {
				d := def
				run, _, err := r.Start(ctx, runs.Request{Workflow: d.Name, Definition: &d, Owner: "ann", OwnerID: "u-ann",
					IdempotencyKey: fmt.Sprintf("bench/%d/%d", round, i), Trigger: &api.Trigger{Kind: api.TriggerEvent, Name: "bench"}})
				if err == nil && (len(run.Steps) != 1 || run.Steps[0].Job == "") {
					err = fmt.Errorf("run %s started with steps %+v, want its one step running", run.ID, run.Steps)
				}
				if err == nil {
					// Its step's job, awaited as the plain jobs are: the run's own Await reads the run, which
					// the events benchmark does not.
					_, err = e.jobs.Await(ctx, run.Steps[0].Job, time.Minute)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		// The runs advance once their jobs ended: the round ends when the last one is stored succeeded.
		deadline := time.Now().Add(time.Minute)
		for {
			live, _, err := e.st.ListRuns(ctx, store.RunFilter{Status: []api.RunStatus{api.RunQueued, api.RunRunning}, Limit: 1})
			if err != nil {
				b.Fatal(err)
			}
			if len(live) == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("run %s still %s after a minute", live[0].ID, live[0].Status)
			}
			time.Sleep(time.Millisecond)
		}
	}
	jobRound := func() {
		var wg sync.WaitGroup
		errs := make(chan error, benchBatch)
		for range benchBatch {
			wg.Go(func() {
				s, err := e.jobs.Submit(ctx, jobs.Request{Task: "true", Owner: "ann", OwnerID: "u-ann"})
				var j store.Job
				if err == nil {
					j, err = e.jobs.Await(ctx, s.ID, time.Minute)
				}
				if err == nil && j.Status != api.JobSucceeded {
					err = fmt.Errorf("job %s ended %s (%s)", j.ID, j.Status, j.Reason)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	only := os.Getenv("RUNPLANE_BENCH_ONLY") // "runs" or "jobs": one kind alone, to profile it
	if only == "jobs" {
		runRound = func(int) {}
	} else if only == "runs" {
		jobRound = func() {}
	}
	runRound(-1) // warm both up: plans, prepared statements, the launcher
	jobRound()
	var runWall, jobWall, runCPU, jobCPU time.Duration
	b.ResetTimer()
	for round := range b.N {
		// Which goes first alternates, so that both see the same moments of the machine's other work.
		if round%2 == 0 {
			w, c := measure(func() { runRound(round) })
			runWall, runCPU = runWall+w, runCPU+c
			w, c = measure(jobRound)
			jobWall, jobCPU = jobWall+w, jobCPU+c
		} else {
			w, c := measure(jobRound)
			jobWall, jobCPU = jobWall+w, jobCPU+c
			w, c = measure(func() { runRound(round) })
			runWall, runCPU = runWall+w, runCPU+c
		}
	}
	n := float64(b.N * benchBatch)
	b.ReportMetric(float64(runWall.Microseconds())/n, "run-µs/op")
	b.ReportMetric(float64(jobWall.Microseconds())/n, "job-µs/op")
	b.ReportMetric(float64(runCPU.Microseconds())/n, "run-cpu-µs/op")
	b.ReportMetric(float64(jobCPU.Microseconds())/n, "job-cpu-µs/op")
	b.ReportMetric(float64(runWall)/float64(jobWall), "run-vs-job-wall")
	b.ReportMetric(float64(runCPU)/float64(jobCPU), "run-vs-job-cpu")
	b.ReportMetric(0, "ns/op")
}

// measure returns how long f took, and the CPU time this process (not its children) spent meanwhile.
func measure(f func()) (wall, cpu time.Duration) {
	c0, t0 := selfCPU(), time.Now()
	f()
	return time.Since(t0), selfCPU() - c0
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
