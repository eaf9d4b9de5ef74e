package runs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// fanIn is a fan-out/fan-in workflow whose every step appends its mark to ran.
func fanIn(name, ran string) api.Workflow {
	m := mark(ran)
	return api.Workflow{Name: name, Steps: []api.Step{
		sh("a", m),
		sh("b1", m, "a"), sh("b2", m, "a"), sh("b3", m, "a"),
		sh("d", m, "b1", "b2", "b3"),
	}}
}

// checkOnce checks that every step of every run ran exactly once, as its only job, recorded on the step.
func checkOnce(t *testing.T, e *env, ran string, done []store.Run) {
	t.Helper()
	count := map[string]int{}
	for _, m := range marks(t, ran) {
		count[m[0]+"/"+m[1]]++
	}
	for _, run := range done {
		if run.Status != api.RunSucceeded {
			t.Errorf("run %s = %s (%s), want succeeded: %+v", run.ID, run.Status, run.Reason, run.Steps)
			continue
		}
		jobsByStep := map[string][]string{}
		for _, j := range e.jobsOf(t, run.ID) {
			jobsByStep[j.Step] = append(jobsByStep[j.Step], j.ID)
		}
		for _, s := range run.Steps {
			if got := jobsByStep[s.Name]; len(got) != 1 || got[0] != s.Job {
				t.Errorf("run %s step %s: jobs %v, want exactly its recorded job %s", run.ID, s.Name, got, s.Job)
			}
			if n := count[run.ID+"/"+s.Name]; n != 1 {
				t.Errorf("run %s step %s ran %d times, want 1", run.ID, s.Name, n)
			}
		}
	}
}

// TestConcurrentAdvance: two run engines over one store (two servers) advance the same runs at once, many times
// over, each told of every job's end and sweeping: every step's job is created exactly once and runs once.
func TestConcurrentAdvance(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	e.workflow(t, fanIn("fan", ran))
	r1 := e.addEngine(t, engineOpts{sweep: 20 * time.Millisecond})
	r2 := e.addEngine(t, engineOpts{sweep: 20 * time.Millisecond})
	w, err := e.st.GetWorkflow(t.Context(), "fan")
	if err != nil {
		t.Fatal(err)
	}
	// Stored, not advanced: the engines race from the first decision on.
	var ids []string
	for i := range 8 {
		run := store.Run{Run: api.Run{ID: fmt.Sprintf("fan-%05d", i), Workflow: "fan", Owner: "ann", Status: api.RunQueued,
			Parameters: []byte(`{}`)}, Definition: w, OwnerID: "u-ann"}
		for _, s := range w.Steps {
			run.Steps = append(run.Steps, api.StepRun{Name: s.Name, Status: api.StepPending})
		}
		if _, _, err := e.st.CreateRun(t.Context(), run); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for _, id := range ids {
		for k := range 6 {
			r := []*runs.Engine{r1, r2}[k%2]
			wg.Go(func() {
				<-gate
				for range 5 {
					if err := r.Advance(t.Context(), id); err != nil {
						t.Errorf("advance %s: %v", id, err)
					}
				}
			})
		}
	}
	close(gate)
	wg.Wait()
	var done []store.Run
	for _, id := range ids {
		done = append(done, e.await(t, r1, id))
	}
	checkOnce(t, e, ran, done)
}

// TestSweepFinishesMissedAdvance: a server stopped between a job's end and the run's advance (its engine was
// never told the job ended): the run waits, and the sweep of the server started after it finishes it, each step
// run once.
func TestSweepFinishesMissedAdvance(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	e.workflow(t, fanIn("fan", ran))
	stopped := e.addEngine(t, engineOpts{deaf: true})
	run := e.start(t, stopped, "fan", `{}`)
	waitFor(t, "step a's job to end", func() bool {
		j := e.jobsOf(t, run.ID)
		return len(j) == 1 && j[0].Status.Final()
	})
	if now, err := e.st.GetRun(t.Context(), run.ID); err != nil || now.Status != api.RunRunning || step(t, now, "a").Status != api.StepRunning {
		t.Fatalf("run %s before the sweep = %s, a %s (%v); want running, a running: nothing advanced it", run.ID, now.Status, step(t, now, "a").Status, err)
	}
	restarted := e.addEngine(t, engineOpts{deaf: true, sweep: 50 * time.Millisecond})
	checkOnce(t, e, ran, []store.Run{e.await(t, restarted, run.ID)})
}

// finishFirst makes every step's job end before Submit returns: the job starts and ends before its run records
// it, as when the server that submitted it is slow to store the run.
type finishFirst struct{ *jobs.Engine }

func (f finishFirst) Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error) {
	s, err := f.Engine.Submit(ctx, r)
	if err != nil {
		return s, err
	}
	_, err = f.Engine.Await(ctx, s.ID, time.Minute)
	return s, err
}

// TestRetries: a step with retries: 2 that fails twice then succeeds runs three attempts, each one job with the
// attempt's key, told its attempt; its dependent runs after the third.
func TestRetries(t *testing.T) {
	tests := []struct {
		name string
		wrap func(runs.Jobs) runs.Jobs
	}{
		{"jobs start after the run records them", nil},
		{"jobs end before the run records them", func(j runs.Jobs) runs.Jobs { return finishFirst{j.(*jobs.Engine)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ran, count := filepath.Join(e.dir, "ran"), filepath.Join(e.dir, "count")
			flaky := sh("flaky", mark(ran)+fmt.Sprintf(`; n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s; [ $n -ge 3 ]`, count))
			flaky.Retries = 2
			e.workflow(t, api.Workflow{Name: "retry", Steps: []api.Step{flaky, sh("after", mark(ran), "flaky")}})
			r := e.addEngine(t, engineOpts{wrap: tt.wrap})
			run := e.await(t, r, e.start(t, r, "retry", `{}`).ID)
			if run.Status != api.RunSucceeded {
				t.Fatalf("run = %s (%s), want succeeded: %+v", run.Status, run.Reason, run.Steps)
			}
			if s := step(t, run, "flaky"); s.Attempt != 3 || s.Status != api.StepSucceeded {
				t.Errorf("flaky: %s at attempt %d, want succeeded at 3", s.Status, s.Attempt)
			}
			var got []string
			for _, j := range e.jobsOf(t, run.ID) {
				got = append(got, fmt.Sprintf("%s %s %s", j.Step, strings.TrimPrefix(j.IdempotencyKey, "run/"+run.ID+"/"), j.Status))
			}
			want := []string{"after after/1 succeeded", "flaky flaky/1 failed", "flaky flaky/2 failed", "flaky flaky/3 succeeded"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("jobs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var told []string
			for _, m := range marks(t, ran) {
				told = append(told, m[1]+" "+m[2])
			}
			if want := "flaky 1,flaky 2,flaky 3,after 1"; strings.Join(told, ",") != want {
				t.Errorf("steps ran with RUNPLANE_ATTEMPT %q, want %q", strings.Join(told, ","), want)
			}
		})
	}
}
