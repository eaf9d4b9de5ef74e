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

// TestCancel: cancelling a run cancels its running steps' jobs, marks its pending steps cancelled (they never
// get a job), and ends it cancelled.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	long := mark(ran) + "; sleep 600"
	e.workflow(t, api.Workflow{Name: "c", Steps: []api.Step{sh("a", long), sh("c", long), sh("b", mark(ran), "a")}})
	r := e.addEngine(t, engineOpts{})
	run := e.start(t, r, "c", `{}`)
	waitFor(t, "a and c to run", func() bool { return len(marks(t, ran)) == 2 })
	if _, err := r.Cancel(t.Context(), run.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	run = e.await(t, r, run.ID)
	if run.Status != api.RunCancelled {
		t.Errorf("run = %s (%s), want cancelled", run.Status, run.Reason)
	}
	// Running steps are cancelled; the rest are skipped, saying why.
	for name, want := range map[string]api.StepStatus{"a": api.StepCancelled, "b": api.StepSkipped, "c": api.StepCancelled} {
		if s := step(t, run, name); s.Status != want {
			t.Errorf("step %s = %s, want %s", name, s.Status, want)
		}
	}
	if s := step(t, run, "b"); s.Message != "the run was cancelled" {
		t.Errorf("step b's message %q, want \"the run was cancelled\"", s.Message)
	}
	if s := step(t, run, "b"); s.Job != "" {
		t.Errorf("pending step b got job %s", s.Job)
	}
	for _, j := range e.jobsOf(t, run.ID) {
		if j.Status != api.JobCancelled || j.Step == "b" {
			t.Errorf("job %s of step %s = %s, want only a's and c's, cancelled", j.ID, j.Step, j.Status)
		}
	}
	if _, err := r.Cancel(t.Context(), run.ID, "ann"); !errorsIs(err, runs.ErrFinished) {
		t.Errorf("cancel a cancelled run: %v, want ErrFinished", err)
	}
}

// cancelAround cancels a run through another engine (another server) around the first step job's submission:
// before the job is created, or after it is created but before the run records it. Then it opens the env's gate:
// the job starts once the cancel is stored.
type cancelAround struct {
	*jobs.Engine
	other  func() *runs.Engine
	before bool
	gate   chan struct{}
	once   sync.Once
}

func (c *cancelAround) Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error) {
	cancel := func() {
		c.once.Do(func() {
			defer close(c.gate)
			if _, err := c.other().Cancel(ctx, r.Run, "bob"); err != nil {
				panic(fmt.Sprintf("cancel %s: %v", r.Run, err))
			}
		})
	}
	if c.before {
		cancel()
	}
	s, err := c.Engine.Submit(ctx, r)
	if !c.before {
		cancel()
	}
	return s, err
}

// TestCancelRacesSubmit: a run is cancelled on another server while this one submits its first step: the job
// submitted for a decision that was never stored does not run (a cancelled run's step runs nothing) and ends.
func TestCancelRacesSubmit(t *testing.T) {
	for _, before := range []bool{true, false} {
		name := map[bool]string{true: "cancelled before the job is created", false: "cancelled after the job is created"}[before]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ran := filepath.Join(e.dir, "ran")
			e.workflow(t, api.Workflow{Name: "w", Steps: []api.Step{sh("a", mark(ran))}})
			var other *runs.Engine
			e.gate = make(chan struct{})
			r := e.addEngine(t, engineOpts{wrap: func(j runs.Jobs) runs.Jobs {
				return &cancelAround{Engine: j.(*jobs.Engine), other: func() *runs.Engine { return other }, before: before, gate: e.gate}
			}})
			other = e.addEngine(t, engineOpts{})
			run := e.await(t, r, e.start(t, r, "w", `{}`).ID)
			// The decision to run a was never stored: a stays pending until the cancel skips it.
			if run.Status != api.RunCancelled || step(t, run, "a").Status != api.StepSkipped {
				t.Errorf("run = %s (%s), a %s; want the run cancelled, a skipped", run.Status, run.Reason, step(t, run, "a").Status)
			}
			var list []store.Job
			waitFor(t, "the run's jobs to end", func() bool {
				list = e.jobsOf(t, run.ID)
				for _, j := range list {
					if !j.Status.Final() {
						return false
					}
				}
				return true
			})
			if len(list) != 1 || list[0].Status == api.JobSucceeded {
				t.Errorf("the cancelled run has %d jobs (the first %s), want the one submitted, not succeeded", len(list), list[0].Status)
			}
			if m := marks(t, ran); len(m) != 0 {
				t.Errorf("a step of the cancelled run ran: %v", m)
			}
		})
	}
}

// TestRunTimeout: a run past its timeout has its running step's job cancelled, its pending steps cancelled, and
// ends failed, naming the timeout.
func TestRunTimeout(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	e.workflow(t, api.Workflow{Name: "slow", Timeout: api.Duration(time.Second),
		Steps: []api.Step{sh("a", mark(ran)+"; sleep 600"), sh("b", mark(ran), "a")}})
	r := e.addEngine(t, engineOpts{sweep: 50 * time.Millisecond})
	start := time.Now()
	run := e.await(t, r, e.start(t, r, "slow", `{}`).ID)
	if run.Status != api.RunFailed || run.Reason != "the run timed out" {
		t.Errorf("run = %s (%s), want failed (the run timed out)", run.Status, run.Reason)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("run ended after %v, before its 1s timeout", d)
	}
	if a, b := step(t, run, "a"), step(t, run, "b"); a.Status != api.StepCancelled || b.Status != api.StepSkipped || b.Job != "" {
		t.Errorf("steps a = %s, b = %s (job %q); want a cancelled, b skipped without a job", a.Status, b.Status, b.Job)
	}
	if j := e.jobsOf(t, run.ID); len(j) != 1 || j[0].Status != api.JobCancelled {
		t.Errorf("jobs %+v, want a's alone, cancelled", j)
	}
}

// holdCancel holds the cancels of steps' jobs (a job slow to stop) until release is closed.
type holdCancel struct {
	*jobs.Engine
	release chan struct{}
	mu      sync.Mutex
	held    []string
}

func (h *holdCancel) Cancel(ctx context.Context, id string) (store.Job, error) {
	select {
	case <-h.release:
		return h.Engine.Cancel(ctx, id)
	default:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = append(h.held, id)
	return store.Job{}, nil
}

// TestAdvanceWhileCancelling: while a cancelled run waits for its running step's job to stop, advancing it
// (a job's end, the sweep) stores nothing and succeeds; once the job stops, the run ends cancelled.
func TestAdvanceWhileCancelling(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	e.workflow(t, api.Workflow{Name: "c", Steps: []api.Step{sh("a", mark(ran)+"; sleep 600"), sh("b", mark(ran), "a")}})
	hold := &holdCancel{release: make(chan struct{})}
	r := e.addEngine(t, engineOpts{wrap: func(j runs.Jobs) runs.Jobs { hold.Engine = j.(*jobs.Engine); return hold }})
	run := e.start(t, r, "c", `{}`)
	waitFor(t, "a to run", func() bool { return len(marks(t, ran)) == 1 })
	if _, err := r.Cancel(t.Context(), run.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cancel of a's job to be asked for", func() bool {
		hold.mu.Lock()
		defer hold.mu.Unlock()
		return len(hold.held) > 0
	})
	before, err := e.st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := r.Advance(t.Context(), run.ID); err != nil {
			t.Errorf("advance a run whose step's job is being cancelled: %v", err)
		}
	}
	after, err := e.st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.Status != api.RunRunning {
		t.Errorf("advancing the cancelled run while its step's job stops took it from version %d to %d (%s); want it unchanged, running",
			before.Version, after.Version, after.Status)
	}
	close(hold.release)
	hold.mu.Lock()
	held := hold.held[0]
	hold.mu.Unlock()
	if _, err := hold.Engine.Cancel(t.Context(), held); err != nil && !errorsIs(err, jobs.ErrFinished) {
		t.Fatal(err)
	}
	if done := e.await(t, r, run.ID); done.Status != api.RunCancelled {
		t.Errorf("run = %s (%s), want cancelled", done.Status, done.Reason)
	}
}

// TestStepTimeout: a task step's timeout bounds its job when shorter than the task's own.
func TestStepTimeout(t *testing.T) {
	e := newEnv(t)
	if err := e.st.CreateTask(t.Context(), api.Task{Name: "sleeper", Timeout: api.Duration(10 * time.Minute),
		Containers: []api.Container{{Name: "c", Image: "alpine", Command: api.Strings{"sh", "-c", "sleep 600"}}}}); err != nil {
		t.Fatal(err)
	}
	e.workflow(t, api.Workflow{Name: "bounded", Steps: []api.Step{{Name: "s", Task: "sleeper", Timeout: api.Duration(time.Second)}}})
	r := e.addEngine(t, engineOpts{})
	start := time.Now()
	run := e.await(t, r, e.start(t, r, "bounded", `{}`).ID)
	if run.Status != api.RunFailed {
		t.Errorf("run = %s, want failed", run.Status)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("run took %v: the step's 1s timeout did not end its job", d)
	}
	if j := e.jobsOf(t, run.ID); len(j) != 1 || j[0].Status != api.JobFailed || j[0].Reason != api.ReasonTimeout {
		t.Errorf("jobs %+v, want one failed with reason timeout", j)
	}
}

// TestAdvanceFromStaleState: the engine that started a run advances it, when its step's job ends, from the run as
// it last stored it — here stale, as another server (r2) cancelled the run meanwhile. The decision taken from it
// (the step cancelled, the run failed) is refused by the store, and the run read again ends cancelled; the step
// after it never gets a job.
func TestAdvanceFromStaleState(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	e.workflow(t, api.Workflow{Name: "s", Steps: []api.Step{sh("a", mark(ran)+"; sleep 600"), sh("b", mark(ran), "a")}})
	r1 := e.addEngine(t, engineOpts{})
	r2 := e.addEngine(t, engineOpts{deaf: true})
	gate := make(chan struct{})
	e.mu.Lock()
	e.gate = gate // a's job is claimed, and waits to start
	e.mu.Unlock()
	run := e.start(t, r1, "s", `{}`)
	if _, err := r2.Cancel(t.Context(), run.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	close(gate)
	run = e.await(t, r1, run.ID)
	if run.Status != api.RunCancelled {
		t.Errorf("run = %s (%s), want cancelled", run.Status, run.Reason)
	}
	if s := step(t, run, "b"); s.Job != "" || s.Status != api.StepSkipped {
		t.Errorf("step b = %s, job %q; want skipped, no job", s.Status, s.Job)
	}
	for _, j := range e.jobsOf(t, run.ID) {
		if j.Step != "a" || j.Status != api.JobCancelled {
			t.Errorf("job %s of step %s = %s, want a's alone, cancelled", j.ID, j.Step, j.Status)
		}
	}
	if m := marks(t, ran); len(m) != 0 {
		t.Errorf("steps ran: %v, want none", m)
	}
}

// leaveBehind submits, beside step a's first job, a job of a's second attempt, as a decision of another server
// that submitted it and stopped before storing would have left it: no step of the run records it.
type leaveBehind struct {
	*jobs.Engine
	script string
	once   sync.Once
	id     chan string
}

func (l *leaveBehind) Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error) {
	s, err := l.Engine.Submit(ctx, r)
	if err != nil || r.Step != "a" {
		return s, err
	}
	l.once.Do(func() {
		left := r
		left.IdempotencyKey = strings.TrimSuffix(r.IdempotencyKey, "/1") + "/2"
		t := *r.Inline
		t.Containers = []api.Container{{Name: "a", Image: "alpine", Command: api.Strings{"sh", "-c", l.script}}}
		left.Inline = &t
		var ls jobs.Submitted
		if ls, err = l.Engine.Submit(ctx, left); err == nil {
			l.id <- ls.ID
		}
	})
	return s, err
}

// TestEndCancelsLeftovers: a run that ends without every step succeeded cancels the job of it no step records
// (left by a server that stopped between submitting it and storing its decision), which would run on otherwise.
func TestEndCancelsLeftovers(t *testing.T) {
	e := newEnv(t)
	started := filepath.Join(e.dir, "started")
	// a fails once the job left behind runs, so that the run ends while that job is running (one that had not
	// started yet would be refused at its start anyway).
	e.workflow(t, api.Workflow{Name: "w", Steps: []api.Step{
		sh("a", fmt.Sprintf("while [ ! -e %s ]; do sleep 0.05; done; exit 1", started)),
		sh("b", "true", "a")}})
	l := &leaveBehind{script: fmt.Sprintf("touch %s; exec sleep 600", started), id: make(chan string, 1)}
	r := e.addEngine(t, engineOpts{wrap: func(j runs.Jobs) runs.Jobs { l.Engine = j.(*jobs.Engine); return l }})
	run := e.await(t, r, e.start(t, r, "w", `{}`).ID)
	if run.Status != api.RunFailed || step(t, run, "b").Status != api.StepSkipped {
		t.Fatalf("run = %s (%s), b %s; want failed, b skipped", run.Status, run.Reason, step(t, run, "b").Status)
	}
	left := <-l.id
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	j, err := e.jobs.Await(ctx, left, 30*time.Second)
	if err != nil || j.Status != api.JobCancelled {
		t.Errorf("the job left behind = %s (%v), want cancelled when its run ended", j.Status, err)
	}
}
