// Package runs runs workflows. It creates runs, advances each by applying workflow.Plan.Next to its stored state
// with optimistic concurrency (so any server sharing the store can advance any run, and a restart loses nothing),
// and cancels and reruns them. Every step is an ordinary job, submitted through the job engine with an
// idempotency key derived from (run, step, attempt): submitted twice, created once.
//
// It never runs anything itself and must never import a store or executor backend.
package runs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// ErrWorkflowNotFound: a run names a workflow that does not exist. It wraps store.ErrNotFound.
var ErrWorkflowNotFound = fmt.Errorf("runs: workflow not found: %w", store.ErrNotFound)

// ErrFinished: the run already ended, so it cannot be cancelled. It wraps store.ErrConflict.
var ErrFinished = fmt.Errorf("runs: run already finished: %w", store.ErrConflict)

// ErrKeyReused: a run's idempotency key is its owner's key of a run of another workflow. It wraps
// store.ErrConflict.
var ErrKeyReused = fmt.Errorf("runs: idempotency key already used for another workflow: %w", store.ErrConflict)

// Store is the slice of the store runs need.
type Store interface {
	store.Workflows
	store.Runs
	GetJob(ctx context.Context, id string) (store.Job, error)
	ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, int, error)
	GetTask(ctx context.Context, name string) (api.Task, error)
	GetRunner(ctx context.Context, name string) (api.Runner, error)
}

// Jobs is the job engine as runs use it.
type Jobs interface {
	Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error)
	Cancel(ctx context.Context, id string) (store.Job, error)
}

// Options tune the engine. The zero value works.
type Options struct {
	// SweepInterval is how often every live run is advanced whatever happened: runs whose server stopped
	// between a job's end and the run's advance, and run timeouts. 0 means 5s.
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// MetadataURL is the base of the metadata API as a step's job reaches it (RUNPLANE_METADATA_URL); "" gives
	// steps no URL.
	MetadataURL string
	// IssueToken mints a step's metadata API token, valid until expires; nil gives steps no token.
	IssueToken func(s StepScope, expires time.Time) (string, error)
}

// StepScope is what one step token is good for: one attempt of one step of one run, run by one job.
type StepScope struct {
	Run     string `json:"run"`
	Step    string `json:"step"`
	Attempt int    `json:"attempt"`
	Job     string `json:"job"`
}

// Engine runs workflows. Create it with New and run its sweep with Run; the other methods are safe for
// concurrent use and work before Run starts.
type Engine struct {
	st     Store
	jobs   Jobs
	opts   Options
	log    *slog.Logger
	plans  plans
	states states

	// background are the advances job ends started; stopped is closed when Run ends, which ends them.
	background sync.WaitGroup
	stopped    chan struct{}

	mu        sync.Mutex
	waiters   map[string]chan struct{} // closed when the run is final (on this server)
	advancing map[string]bool          // runs being advanced here; true: advance again once done
}

// New returns an engine over st submitting steps to js.
func New(st Store, js Jobs, opts Options) *Engine {
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{st: st, jobs: js, opts: opts, log: log, stopped: make(chan struct{}),
		waiters: map[string]chan struct{}{}, advancing: map[string]bool{}}
}

// Request is one run submission.
type Request struct {
	Workflow string
	Owner    string
	// OwnerID is the submitting user's id: it scopes IdempotencyKey and the steps' jobs' keys. Required.
	OwnerID        string
	Parameters     []byte
	IdempotencyKey string
	// Trigger is what started the run when no one submitted it directly; stored with the run.
	Trigger *api.Trigger
	// Definition, when set, is the workflow to run instead of the stored one named Workflow: an inline
	// definition no one saved under /workflows (an event rule's action). Its Name must be Workflow.
	Definition *api.Workflow
	// Bind, for a trigger's firing, says what fired it: a firing of one of the workflow's own triggers takes its
	// parameters from the trigger's binding (Parameters is ignored then). See Bind.
	Bind *Bind
}

// Start validates r's parameters against its workflow, stores a run with every step pending, and advances it: with
// a job engine that prepares jobs (Preparer), the run is stored already advanced, its first steps' jobs created in
// the same transaction (one write); otherwise it is stored queued, then advanced. With an idempotency key the owner used before for this workflow it returns that earlier run and created
// false. Errors: ErrWorkflowNotFound, *api.InvalidError for parameters that fail the workflow's schema (or a
// trigger's binding that fails over its payload), ErrSkipped, ErrKeyReused.
func (e *Engine) Start(ctx context.Context, r Request) (run store.Run, created bool, err error) {
	w, err := e.workflowOf(ctx, r)
	if err != nil {
		return store.Run{}, false, err
	}
	return e.start(ctx, w, r, nil, nil)
}

// workflowOf checks r and returns the workflow it runs: its Definition, or the stored workflow it names.
func (e *Engine) workflowOf(ctx context.Context, r Request) (api.Workflow, error) {
	if r.OwnerID == "" {
		return api.Workflow{}, errors.New("runs: start: the submitter's user id is required")
	}
	if r.Definition != nil {
		if r.Definition.Name != r.Workflow {
			return api.Workflow{}, fmt.Errorf("runs: start: definition %q is not workflow %q", r.Definition.Name, r.Workflow)
		}
		return *r.Definition, nil
	}
	w, err := e.st.GetWorkflow(ctx, r.Workflow)
	if errors.Is(err, store.ErrNotFound) {
		return api.Workflow{}, fmt.Errorf("workflow %q: %w", r.Workflow, ErrWorkflowNotFound)
	}
	if err != nil {
		return api.Workflow{}, fmt.Errorf("start run: %w", err)
	}
	return w, nil
}

// start stores and advances a new run of w; reuse, when set, are steps carried over from an earlier run (a rerun
// from failed), and values what those steps set through the metadata API there.
func (e *Engine) start(ctx context.Context, w api.Workflow, r Request, reuse map[string]api.StepRun, values []store.RunValue) (store.Run, bool, error) {
	plan, run, err := e.newRun(w, r, reuse)
	if err != nil {
		return store.Run{}, false, err
	}
	if p, ok := e.jobs.(Preparer); ok && len(values) == 0 {
		stored, created, err := e.createStarted(ctx, run, plan, p)
		switch {
		case errors.Is(err, errAlone):
			// stored alone below
		case err != nil:
			return store.Run{}, false, fmt.Errorf("start run: %w", err)
		case !created && stored.Workflow != w.Name:
			return store.Run{}, false, ErrKeyReused
		default:
			return stored, created, nil
		}
	}
	var stored store.Run
	var created bool
	for range 5 {
		run.ID = newID(w.Name)
		stored, created, err = e.st.CreateRun(ctx, run)
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return store.Run{}, false, fmt.Errorf("start run: %w", err)
	}
	if !created {
		if stored.Workflow != w.Name {
			return store.Run{}, false, ErrKeyReused
		}
		return stored, false, nil
	}
	// Before the first advance, which may start the steps that read them. (A server that stops in between leaves
	// a run whose steps may fail for a missing output: it is rerun again.)
	for _, v := range values {
		v.Run = stored.ID
		if err := e.st.SetRunValue(ctx, v); err != nil {
			return store.Run{}, false, fmt.Errorf("start run: carry over output %s of step %s: %w", v.Name, v.Step, err)
		}
	}
	now, err := e.advanceFrom(ctx, stored.ID, known{run: &stored})
	if err != nil {
		// Stored: the sweep advances it.
		e.log.Warn("advance a new run", "run", stored.ID, "err", err)
	}
	if now.ID == "" { // the advance failed, or another one had the run: read what is stored
		if now, err = e.st.GetRun(context.WithoutCancel(ctx), stored.ID); err != nil {
			return stored, true, nil
		}
	}
	return now, true, nil
}

// newRun is a new run of w as r asks (no id yet), its steps pending but those of reuse, and w's plan.
func (e *Engine) newRun(w api.Workflow, r Request, reuse map[string]api.StepRun) (*workflow.Plan, store.Run, error) {
	plan, err := e.plans.get(w)
	if err != nil {
		return nil, store.Run{}, err
	}
	if r.Bind != nil && r.Definition == nil {
		params, derived, err := bindTrigger(plan, w, *r.Bind)
		if err != nil {
			return nil, store.Run{}, err
		}
		if derived {
			r.Parameters = params
		}
	}
	p, err := plan.Parameters(r.Parameters)
	if err != nil {
		return nil, store.Run{}, err
	}
	run := store.Run{
		Run: api.Run{
			Workflow:   w.Name,
			Owner:      r.Owner,
			Status:     api.RunQueued,
			Parameters: p,
			CreateTime: e.opts.Now().UTC(),
			Steps:      make([]api.StepRun, 0, len(w.Steps)),
			Trigger:    r.Trigger,
		},
		Definition:     w,
		OwnerID:        r.OwnerID,
		IdempotencyKey: r.IdempotencyKey,
	}
	for _, s := range w.Steps {
		if prev, ok := reuse[s.Name]; ok {
			run.Steps = append(run.Steps, prev)
			continue
		}
		run.Steps = append(run.Steps, api.StepRun{Name: s.Name, Status: api.StepPending})
	}
	return plan, run, nil
}

// Await returns run id as soon as it is final, or its current state once max has passed or ctx ended.
// Errors: store.ErrNotFound.
func (e *Engine) Await(ctx context.Context, id string, max time.Duration) (store.Run, error) {
	ch := e.signal(id)
	run, err := e.st.GetRun(ctx, id)
	if err != nil || run.Status.Final() || max <= 0 {
		return run, err
	}
	t := time.NewTimer(max)
	defer t.Stop()
	// A run finished by another server sharing the store is not signalled here: look now and then.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ch:
			return e.st.GetRun(context.WithoutCancel(ctx), id)
		case <-t.C:
			return e.st.GetRun(context.WithoutCancel(ctx), id)
		case <-ctx.Done():
			return e.st.GetRun(context.WithoutCancel(ctx), id)
		case <-tick.C:
			if run, err := e.st.GetRun(ctx, id); err == nil && run.Status.Final() {
				return run, nil
			}
		}
	}
}

// Cancel asks run id to end cancelled: its running steps' jobs are cancelled and its pending steps will not run.
// It returns the run as it is once the request is stored. Errors: store.ErrNotFound, ErrFinished.
func (e *Engine) Cancel(ctx context.Context, id, by string) (store.Run, error) {
	for {
		run, err := e.st.GetRun(ctx, id)
		if err != nil {
			return store.Run{}, err
		}
		if run.Status.Final() {
			return store.Run{}, fmt.Errorf("run %q: %w", id, ErrFinished)
		}
		if run.CancelRequested {
			break
		}
		run.CancelRequested = true
		run.Reason = "cancelled by " + by
		stored, err := e.st.UpdateRun(ctx, run)
		if errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return store.Run{}, err
		}
		e.states.remember(stored) // a step's job starting here now sees the run cancelled (StepEnv)
		break
	}
	if err := e.Advance(ctx, id); err != nil {
		e.log.Warn("advance a cancelled run", "run", id, "err", err)
	}
	return e.st.GetRun(context.WithoutCancel(ctx), id)
}

// Rerun starts a new run of run id's workflow (as it is now) with the same parameters, for owner. fromFailed
// keeps the steps that succeeded, with their outputs, and runs the rest: what failed, was cancelled or skipped.
// Errors: store.ErrNotFound, ErrWorkflowNotFound, *api.InvalidError when the parameters no longer fit.
func (e *Engine) Rerun(ctx context.Context, id, owner, ownerID string, fromFailed bool) (store.Run, error) {
	prev, err := e.st.GetRun(ctx, id)
	if err != nil {
		return store.Run{}, err
	}
	w, err := e.st.GetWorkflow(ctx, prev.Workflow)
	if prev.Trigger != nil && prev.Trigger.Kind == api.TriggerEvent {
		// An event rule's run has no stored workflow (a stored one of its name is another): it runs again as
		// it was defined.
		w, err = prev.Definition, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Run{}, fmt.Errorf("workflow %q: %w", prev.Workflow, ErrWorkflowNotFound)
	}
	if err != nil {
		return store.Run{}, err
	}
	var reuse map[string]api.StepRun
	var values []store.RunValue
	if fromFailed {
		reuse = map[string]api.StepRun{}
		for _, s := range prev.Steps {
			if s.Status == api.StepSucceeded {
				reuse[s.Name] = s
			}
		}
		// The outputs a kept step set through the metadata API are values of the earlier run: the new run reads
		// them as its own.
		all, err := e.st.RunValues(ctx, prev.ID)
		if err != nil {
			return store.Run{}, err
		}
		for _, v := range all {
			if _, ok := reuse[v.Step]; ok && v.Kind == store.ValueOutput {
				values = append(values, v)
			}
		}
	}
	run, _, err := e.start(ctx, w, Request{Workflow: w.Name, Owner: owner, OwnerID: ownerID, Parameters: prev.Parameters},
		reuse, values)
	return run, err
}

// getRun reads run id for an advance or a step's start: its state, and its definition — which never changes —
// from memory when this engine has it (it created the run, or read it before), else read too.
func (e *Engine) getRun(ctx context.Context, id string) (store.Run, error) {
	run, err := e.st.GetRunState(ctx, id)
	if err != nil {
		return store.Run{}, err
	}
	if def, ok := e.plans.definition(run); ok {
		run.Definition = def
		return run, nil
	}
	return e.st.GetRun(ctx, id)
}

// signal returns the channel closed when run id is final here.
func (e *Engine) signal(id string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.waiters[id]
	if !ok {
		ch = make(chan struct{})
		e.waiters[id] = ch
	}
	return ch
}

// notify wakes everyone waiting on run id.
func (e *Engine) notify(id string) {
	e.mu.Lock()
	ch, ok := e.waiters[id]
	delete(e.waiters, id)
	e.mu.Unlock()
	if ok {
		close(ch)
	}
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns "<workflow>-<5 random lowercase alphanumerics>", like job ids.
func newID(workflow string) string {
	var b [5]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return workflow + "-" + string(b[:])
}

// plans caches compiled plans by definition, and by run.
type plans struct {
	mu    sync.Mutex
	m     map[string]*workflow.Plan // by the hash of the definition's JSON
	byRun map[string]runPlan        // by runKey
}
