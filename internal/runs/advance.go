package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// maxConflicts bounds how often one Advance reads a run again after another server advanced it first.
const maxConflicts = 20

// Run advances every live run every SweepInterval until ctx ends: at start, it picks up the runs an earlier
// process left, and later the runs whose advance was missed (a server stopped between a job's end and the run's
// advance) and runs past their timeout.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.opts.SweepInterval)
	defer t.Stop()
	defer func() {
		// Job ends from now on are left to the next start's sweep; those started already end with ctx.
		e.mu.Lock()
		close(e.stopped)
		e.mu.Unlock()
		e.background.Wait()
	}()
	for {
		e.sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sweep advances every live run.
func (e *Engine) sweep(ctx context.Context) {
	live, _, err := e.st.ListRuns(ctx, store.RunFilter{Status: []api.RunStatus{api.RunQueued, api.RunRunning}})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("list live runs", "err", err)
		}
		return
	}
	for _, r := range live {
		if err := e.Advance(ctx, r.ID); err != nil && ctx.Err() == nil {
			e.log.Warn("advance run", "run", r.ID, "err", err)
		}
	}
}

// JobFinished advances the run of job, a step's job that just ended, in the background. It is the job engine's
// Options.Finished.
func (e *Engine) JobFinished(job store.Job) {
	if job.Run == "" {
		return
	}
	e.mu.Lock()
	select {
	case <-e.stopped:
		e.mu.Unlock()
		return // stopping: the next start's sweep advances the run
	default:
	}
	e.background.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		go func() {
			select {
			case <-e.stopped:
				cancel()
			case <-ctx.Done():
			}
		}()
		// The job as it ended is its step's end: the advance need not read it back. Nor, most often, the run: it
		// is as this engine last stored it (else the store refuses the decision, and the run is read).
		k := known{job: &job}
		if run, ok := e.states.take(job.Run); ok {
			k.run, k.stale = &run, true
		}
		if _, err := e.advanceFrom(ctx, job.Run, k); err != nil && ctx.Err() == nil {
			e.log.Warn("advance run", "run", job.Run, "after job", job.ID, "err", err)
		}
	}()
}

// Advance brings run id up to date: it records the ends of its steps' jobs, decides what comes next
// (workflow.Plan.Next), submits the steps that are ready, and stores the result over the version it read —
// reading again and deciding again when another server stored first. Advancing a run that is final or up to date
// changes nothing. Advances of one run on this server are serialised: one asked for while another is under way
// runs after it.
func (e *Engine) Advance(ctx context.Context, id string) error {
	_, err := e.advanceFrom(ctx, id, known{})
	return err
}

// known is what the caller of an advance already holds, to spare reading it again: the run as stored (whole, as
// CreateRun and UpdateRun return it), which the first decision starts from, and a step's job as it ended. stale:
// run is as this engine last stored it, which may not be the latest version (see states).
type known struct {
	run   *store.Run
	job   *store.Job
	stale bool
}

// advanceFrom is Advance starting from what k holds. It returns the run as the advance last read or stored it;
// a zero run when another advance of it was under way here (it advances the run again once done).
func (e *Engine) advanceFrom(ctx context.Context, id string, k known) (store.Run, error) {
	e.mu.Lock()
	if _, busy := e.advancing[id]; busy {
		e.advancing[id] = true
		e.mu.Unlock()
		return store.Run{}, nil
	}
	e.advancing[id] = false
	e.mu.Unlock()
	for {
		run, err := e.advance(ctx, id, k)
		k = known{} // stale for the advance asked for meanwhile
		e.mu.Lock()
		// One asked for meanwhile runs even when this one failed, or its caller went away: it may be a job's end,
		// which nothing else reports but the sweep.
		if !e.advancing[id] {
			delete(e.advancing, id)
			e.mu.Unlock()
			return run, err
		}
		e.advancing[id] = false
		e.mu.Unlock()
		if err != nil {
			e.log.Warn("advance run", "run", id, "err", err)
		}
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
		}
	}
}

func (e *Engine) advance(ctx context.Context, id string, k known) (store.Run, error) {
	// submitted are the jobs this advance created. A decision whose store lost to another server's (which may
	// have cancelled the run, or ended it) can leave one that no step records: it must not run.
	submitted := map[string]bool{}
	for range maxConflicts {
		var run store.Run
		var err error
		stale := false
		if k.run != nil && k.run.ID == id {
			run, stale, k.run = *k.run, k.stale, nil
		} else if run, err = e.getRun(ctx, id); err != nil {
			return store.Run{}, err
		}
		if run.Status.Final() {
			e.dropUnrecorded(run, submitted)
			e.notify(id)
			return run, nil
		}
		next, changed, err := e.decide(ctx, run, submitted, k.job)
		if err != nil {
			return store.Run{}, err
		}
		if !changed && stale {
			// Nothing to do as this engine last knew the run: what changed may be in a later version.
			continue
		}
		if !changed {
			e.dropUnrecorded(run, submitted)
			return run, nil
		}
		stored, err := e.st.UpdateRun(ctx, next)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return store.Run{}, fmt.Errorf("store run %s: %w", id, err)
		}
		e.states.remember(stored)
		e.dropUnrecorded(stored, submitted)
		if stored.Status.Final() {
			e.log.Info("run ended", "run", id, "workflow", stored.Workflow, "status", stored.Status)
			if !allSucceeded(stored) {
				e.cancelLeftovers(ctx, id)
			}
			e.notify(id)
			return stored, nil
		}
		k.run = &stored // decide again, from what was just stored, until nothing changes
	}
	return store.Run{}, fmt.Errorf("run %s: advanced by others %d times in a row", id, maxConflicts)
}

// dropUnrecorded cancels the jobs of submitted that no step of run records: they were created for a decision
// that was never stored.
func (e *Engine) dropUnrecorded(run store.Run, submitted map[string]bool) {
	for _, s := range run.Steps {
		delete(submitted, s.Job)
	}
	for id := range submitted {
		e.log.Info("cancel a step's job no stored decision records", "run", run.ID, "job", id)
		go e.cancelJob(id)
	}
	clear(submitted)
}

// cancelLeftovers cancels every job of run id, just ended, that is still queued or running: one created for a
// decision that was never stored, by a server that stopped (or lost a race) before it could store or cancel it.
func (e *Engine) cancelLeftovers(ctx context.Context, id string) {
	live, _, err := e.st.ListJobs(ctx, store.JobFilter{Run: id, Status: []api.JobStatus{api.JobQueued, api.JobRunning}})
	if err != nil {
		e.log.Warn("list the jobs left of an ended run", "run", id, "err", err)
		return
	}
	for _, j := range live {
		e.log.Info("cancel a job left of an ended run", "run", id, "job", j.ID, "step", j.Step)
		go e.cancelJob(j.ID)
	}
}

// allSucceeded reports whether every step of run succeeded. Such a run can have left no job behind, so its end
// need not look for one (a read of the run's jobs, as costly as the rest of its advance): a step's jobs have keys
// (run, step, attempt), and a decision submits attempt n+1 only once it saw attempt n's job end failed — so when
// the recorded attempt succeeded, every other job of the step (a lost decision's included: same key, same job)
// ended before it, and no decision can have submitted a later one. A step never submitted, or skipped, is what a
// lost decision may have started (an output read by a when changed in between, a cancel): such a run looks.
func allSucceeded(run store.Run) bool {
	for _, s := range run.Steps {
		if s.Status != api.StepSucceeded {
			return false
		}
	}
	return true
}

// decide returns run advanced by one decision, and whether anything changed. It adds the jobs it submits to
// submitted. ended, when not nil, is a step's job as it ended.
func (e *Engine) decide(ctx context.Context, run store.Run, submitted map[string]bool, ended *store.Job) (store.Run, bool, error) {
	changed, err := e.absorb(ctx, &run, ended, "")
	if err != nil {
		return run, false, err
	}
	var values []store.RunValue
	if mayStart(run) {
		if values, err = e.st.RunValues(ctx, run.ID); err != nil {
			return run, false, err
		}
	}
	submit := func(sub workflow.Submit) (string, error) {
		job, err := e.submit(ctx, run, sub)
		if err == nil {
			submitted[job] = true
		}
		return job, err
	}
	return e.apply(run, values, changed, submit, func(job string) { go e.cancelJob(job) })
}

// mayStart reports whether a decision over run may start a step (its pending ones, its failed ones with a retry
// left): only then does it evaluate whens and inputs, which read the outputs steps set through the metadata API (the
// run's values). A run whose every step ended, or is running, decides its status from their statuses alone.
func mayStart(run store.Run) bool {
	for _, s := range run.Steps {
		switch {
		case s.Status == api.StepFailed && s.Attempt <= retriesOf(run.Definition, s.Name):
			return true
		case s.Status != api.StepRunning && !s.Status.Final():
			return true
		}
	}
	return false
}

// apply returns run advanced by the decision workflow.Plan.Next takes over its state (its steps as they are, and
// values), and whether anything changed (changed: something did already). submit creates the job of a step's
// attempt and returns its id; cancel cancels a running step's job.
func (e *Engine) apply(run store.Run, values []store.RunValue, changed bool, submit func(workflow.Submit) (string, error),
	cancel func(job string)) (store.Run, bool, error) {
	now := e.opts.Now().UTC()
	state := stateOf(run, values, now)
	var d workflow.Decision
	if plan, err := e.plans.forRun(run); err != nil {
		d = workflow.Next(run.Definition, state) // fails the run, naming why
	} else {
		d = plan.Next(state)
	}
	steps := index(run.Steps)
	for _, name := range d.Cancel {
		if s := steps[name]; s.Job != "" {
			cancel(s.Job)
		}
	}
	// Cancelling the jobs of a run being cancelled (or timed out) changes nothing stored: their ends do. Storing
	// it anyway wrote a new version at every advance and, since advance decides again after each store until
	// nothing changes, spun until it gave up — dropping the advance a job's end had asked for meanwhile.
	d.Cancel = nil
	if d.Empty(run.Status) && !changed {
		return run, false, nil
	}
	for _, m := range d.Skip {
		s := steps[m.Step]
		s.Status, s.Message, s.CompletionTime = api.StepSkipped, m.Message, &now
	}
	for _, m := range d.Fail {
		s := steps[m.Step]
		s.Status, s.Message, s.Attempt, s.CompletionTime = api.StepFailed, m.Message, m.Attempt, &now
	}
	for _, m := range d.Cancelled {
		// A cancelled (or timed out) run cancels its running steps and skips the rest, saying why.
		s := steps[m.Step]
		s.Status, s.Message, s.CompletionTime = api.StepSkipped, m.Message, &now
	}
	for _, sub := range d.Submit {
		s := steps[sub.Step]
		job, err := submit(sub)
		var invalid *api.InvalidError
		switch {
		case errors.As(err, &invalid), errors.Is(err, jobs.ErrTaskNotFound):
			// The same submission fails the same way again: the step fails, with no retry.
			s.Status, s.Message, s.CompletionTime = api.StepFailed, err.Error(), &now
			s.Attempt = max(sub.Attempt, retriesOf(run.Definition, sub.Step)+1)
			continue
		case err != nil:
			return run, false, fmt.Errorf("submit step %s of run %s: %w", sub.Step, run.ID, err)
		}
		s.Status, s.Attempt, s.Job, s.Message = api.StepRunning, sub.Attempt, job, ""
		s.StartTime, s.CompletionTime = &now, nil
	}
	if run.Status == api.RunQueued && d.Status != api.RunQueued {
		run.StartTime = &now
	}
	run.Status = d.Status
	if d.Reason != "" && run.Reason == "" {
		run.Reason = d.Reason
	}
	if run.Status.Final() {
		run.CompletionTime = &now
	}
	return run, true, nil
}

// absorb records the end of every running step whose job ended: its status, times and outputs (the top-level
// keys of the job's ^JSON result; what it set through the metadata API is read from the run's values). ended,
// when not nil, is a job known to have ended, not read again; the step named skip is left as it is.
func (e *Engine) absorb(ctx context.Context, run *store.Run, ended *store.Job, skip string) (bool, error) {
	changed := false
	for i := range run.Steps {
		s := &run.Steps[i]
		if s.Status != api.StepRunning || s.Job == "" || s.Name == skip {
			continue
		}
		var job store.Job
		var err error
		if ended != nil && ended.ID == s.Job && ended.Status.Final() {
			job = *ended
		} else {
			job, err = e.st.GetJob(ctx, s.Job)
		}
		if errors.Is(err, store.ErrNotFound) {
			now := e.opts.Now().UTC()
			s.Status, s.Message, s.CompletionTime = api.StepFailed, fmt.Sprintf("job %s is gone", s.Job), &now
			changed = true
			continue
		}
		if err != nil {
			return false, err
		}
		if !job.Status.Final() {
			continue
		}
		changed = true
		s.CompletionTime = job.CompletionTime
		if job.StartTime != nil {
			s.StartTime = job.StartTime
		}
		switch job.Status {
		case api.JobSucceeded:
			s.Status, s.Message = api.StepSucceeded, ""
		case api.JobCancelled:
			s.Status, s.Message = api.StepCancelled, job.Reason
		default:
			s.Status, s.Message = api.StepFailed, job.Reason
		}
		s.Outputs = resultOutputs(job.JSONData)
	}
	return changed, nil
}

// resultOutputs are the top-level keys of a ^JSON result that is an object; nil otherwise.
func resultOutputs(data []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &m) != nil || len(m) == 0 {
		return nil
	}
	return m
}

// stateOf is run as workflow.Plan.Next reads it: outputs set through the metadata API override the result's.
func stateOf(run store.Run, values []store.RunValue, now time.Time) workflow.State {
	st := workflow.State{
		Status:          run.Status,
		Parameters:      run.Parameters,
		Steps:           make(map[string]workflow.StepState, len(run.Steps)),
		CancelRequested: run.CancelRequested,
	}
	if t := time.Duration(run.Definition.Timeout); t > 0 && run.StartTime != nil && now.After(run.StartTime.Add(t)) {
		st.DeadlinePassed = true
	}
	for _, s := range run.Steps {
		ss := workflow.StepState{Status: s.Status, Attempt: s.Attempt, Outputs: s.Outputs}
		st.Steps[s.Name] = ss
	}
	for _, v := range values {
		if v.Kind != store.ValueOutput {
			continue
		}
		ss, ok := st.Steps[v.Step]
		if !ok {
			continue
		}
		out := make(map[string]json.RawMessage, len(ss.Outputs)+1)
		for k, x := range ss.Outputs {
			out[k] = x
		}
		out[v.Name] = v.Value
		ss.Outputs = out
		st.Steps[v.Step] = ss
	}
	return st
}

// cancelJob cancels a step's job; one that already ended is left as it ended.
func (e *Engine) cancelJob(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.jobs.Cancel(ctx, id); err != nil && !errors.Is(err, jobs.ErrFinished) {
		e.log.Warn("cancel a step's job", "job", id, "err", err)
	}
}

// index maps each step's name to its entry in steps.
func index(steps []api.StepRun) map[string]*api.StepRun {
	m := make(map[string]*api.StepRun, len(steps))
	for i := range steps {
		m[steps[i].Name] = &steps[i]
	}
	return m
}

// retriesOf is how many retries step of w has.
func retriesOf(w api.Workflow, step string) int {
	for _, s := range w.Steps {
		if s.Name == step {
			return s.Retries
		}
	}
	return 0
}
