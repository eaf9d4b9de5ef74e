package runs_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// benchBatch is how many runs (and, beside them, jobs) one round starts at once, as the events benchmark's rounds
// do with 16 clients.
const benchBatch = 50

// BenchmarkOneStepRunVsJob measures a one-step run of `true` — started as an event rule's action starts it (an
// inline definition of one container whose files are not kept, stored with its step's job in one write), then run,
// its step's environment given and the run advanced at its end — beside plain jobs submitted and awaited: of a task
// running the command `true` (what the events benchmark compares an event with: run-vs-job) and of a task of the
// step's one container (the same executor path: run-vs-ctr-job is what the run adds to the job it runs), in rounds
// taking turns over one real SQLite store and local processes. It reports each kind's wall time and this process's
// CPU time (the engines' and the store's; not the jobs' processes) per item, and their ratios (issue 14, item 7).
// Run: go test -run '^$' -bench OneStepRunVsJob -benchtime 20x ./internal/runs/
func BenchmarkOneStepRunVsJob(b *testing.B) {
	// No job keeps files: neither the step's (as a Keptn task's step declares) nor the plain container job's.
	e := newEnvKeeping(b, func(dir string, git *gitsource.Cache) (executor.Executor, error) {
		return local.New(local.Options{WorkDir: dir, Git: git, Isolation: local.IsolationNone})
	}, false)
	r := e.addEngine(b, engineOpts{})
	ctx := context.Background()
	step := api.Container{Name: "true", Image: "alpine", Command: api.Strings{"true"}}
	for _, t := range []api.Task{{Name: "true", Command: "true"}, {Name: "true-ctr", Containers: []api.Container{step}}} {
		if err := e.st.CreateTask(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	// As events.Build makes a Keptn task's step: one container, its files not kept.
	def := api.Workflow{Name: "bench-action", Steps: []api.Step{{Name: "true",
		Containers: []api.Container{step}, DiscardFiles: true}}}
	// batch runs f(0) … f(benchBatch-1) at once and fails the benchmark with any error.
	batch := func(f func(i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, benchBatch)
		for i := range benchBatch {
			wg.Go(func() { errs <- f(i) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	runRound := func(round int) {
		batch(func(i int) error {
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
			return err
		})
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
	jobRound := func(task string) {
		batch(func(int) error {
			s, err := e.jobs.Submit(ctx, jobs.Request{Task: task, Owner: "ann", OwnerID: "u-ann"})
			var j store.Job
			if err == nil {
				j, err = e.jobs.Await(ctx, s.ID, time.Minute)
			}
			if err == nil && j.Status != api.JobSucceeded {
				err = fmt.Errorf("job %s ended %s (%s)", j.ID, j.Status, j.Reason)
			}
			return err
		})
	}
	// RUNPLANE_BENCH_ONLY=runs, jobs or ctr-jobs runs one kind alone, to profile it.
	kinds := []struct {
		name  string
		round func(int)
	}{
		{"run", runRound},
		{"job", func(int) { jobRound("true") }},
		{"ctr-job", func(int) { jobRound("true-ctr") }},
	}
	if only := os.Getenv("RUNPLANE_BENCH_ONLY"); only != "" {
		kinds = slices.DeleteFunc(kinds, func(k struct {
			name  string
			round func(int)
		}) bool {
			return k.name+"s" != only
		})
	}
	for _, k := range kinds {
		k.round(-1) // warm each up: plans, prepared statements, the launcher
	}
	wall, cpu := make([]time.Duration, len(kinds)), make([]time.Duration, len(kinds))
	b.ResetTimer()
	for round := range b.N {
		// Which goes first rotates, so that each kind sees the same moments of the machine's other work.
		for i := range kinds {
			k := (i + round) % len(kinds)
			w, c := measure(func() { kinds[k].round(round) })
			wall[k], cpu[k] = wall[k]+w, cpu[k]+c
		}
	}
	n := float64(b.N * benchBatch)
	for i, k := range kinds {
		b.ReportMetric(float64(wall[i].Microseconds())/n, k.name+"-µs/op")
		b.ReportMetric(float64(cpu[i].Microseconds())/n, k.name+"-cpu-µs/op")
	}
	if len(kinds) == 3 {
		b.ReportMetric(float64(wall[0])/float64(wall[1]), "run-vs-job-wall")
		b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "run-vs-job-cpu")
		b.ReportMetric(float64(cpu[0])/float64(cpu[2]), "run-vs-ctr-job-cpu")
	}
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
