package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// ErrSkipped is a firing of a workflow's own trigger whose when is false over what fired it: nothing started; the
// caller records the firing as skipped, with the message.
var ErrSkipped = runs.ErrSkipped

// ErrRefused is the error of a firing its owner may not make now: the owner is gone or lacks the right to start
// the target. Nothing was submitted; the caller records the firing as refused.
var ErrRefused = errors.New("trigger: refused")

// Owners gives a trigger owner's current rights; *auth.Authenticator implements it.
type Owners interface {
	// PrincipalOf returns the user as a principal with the grants it holds now; store.ErrNotFound if it is gone.
	PrincipalOf(ctx context.Context, userID string) (auth.Principal, error)
}

// Jobs submits jobs; *jobs.Engine implements it.
type Jobs interface {
	Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error)
}

// Runs starts workflow runs; *runs.Engine implements it.
type Runs interface {
	Start(ctx context.Context, r runs.Request) (store.Run, bool, error)
}

// Target is what a trigger starts: a job of Task or a run of Workflow. Exactly one is set.
type Target struct {
	Task     string `json:"task,omitempty"`
	Workflow string `json:"workflow,omitempty"`
}

// Validate checks that exactly one target is named.
func (t Target) Validate() error {
	switch {
	case t.Task == "" && t.Workflow == "":
		return api.Invalidf("task or workflow is required")
	case t.Task != "" && t.Workflow != "":
		return api.Invalidf("task and workflow: name one of them")
	}
	return nil
}

// Firing is one firing of a trigger.
type Firing struct {
	Target
	// OwnerID is the id of the user the work runs as.
	OwnerID string
	// TriggerID identifies the trigger object for good (not its name, which a later object may take again); with
	// Trigger.Kind it scopes Key, so that no user's Idempotency-Key and no other trigger's key can collide with it.
	TriggerID string
	// Key makes the firing exactly-once: derived from what fired (the scheduled time, the delivery id, the event's
	// source and id). A second firing with the same key returns the first one's job or run.
	Key string
	// Input is the job's input (EXTRA_VARS) or the run's parameters; nil for none.
	Input []byte
	// Trigger is recorded with the job or run.
	Trigger api.Trigger
	// Payload is what fired, as JSON (a webhook's body, an event's data), for the binding of a workflow's own
	// trigger (api.WorkflowTrigger); nil for a cron job.
	Payload []byte
	// Definition, for a workflow target, is an inline workflow (named Workflow) to run instead of the stored
	// one: an event rule's action. The owner still needs runs write on Workflow.
	Definition *api.Workflow
}

// Fired is what a firing started (or found started by an earlier firing with its key).
type Fired struct {
	Job, Run string
	// Owner is the username the work runs as.
	Owner   string
	Created bool
	// JobStatus or RunStatus is how the job or run stood when the firing was answered.
	JobStatus api.JobStatus
	RunStatus api.RunStatus
}

// Firer fires triggers. It is safe for concurrent use.
type Firer struct {
	owners Owners
	jobs   Jobs
	runs   Runs
}

// NewFirer returns a Firer submitting jobs to js and runs to rs (nil: a workflow target is refused).
func NewFirer(owners Owners, js Jobs, rs Runs) *Firer {
	return &Firer{owners: owners, jobs: js, runs: rs}
}

// Fire submits f's target as its owner, checking the owner's rights now: jobs write on the task, or runs write
// on the workflow. Errors: ErrRefused (wrapped, saying why) when the owner is gone or may not; otherwise the
// engines' errors (jobs.ErrTaskNotFound, runs.ErrWorkflowNotFound, *api.InvalidError for input that fails the
// target's schema, ...). A firing of one of a workflow's own triggers (api.WorkflowTrigger) gets its parameters from
// the trigger's binding over x.Payload (an *api.InvalidError when it fails), or ErrSkipped when its when is false.
func (f *Firer) Fire(ctx context.Context, x Firing) (Fired, error) {
	p, err := f.owner(ctx, x)
	if err != nil {
		return Fired{}, err
	}
	trig := x.Trigger
	if x.Task != "" {
		sub, err := f.jobs.Submit(ctx, jobs.Request{Task: x.Task, Owner: p.Username, OwnerID: scopeOf(x), Input: x.Input,
			IdempotencyKey: x.Key, Trigger: &trig})
		if err != nil {
			return Fired{}, err
		}
		return Fired{Job: sub.Job.ID, Owner: p.Username, Created: sub.Created, JobStatus: sub.Job.Status}, nil
	}
	if f.runs == nil {
		return Fired{}, fmt.Errorf("%w: workflows cannot run on this server", ErrRefused)
	}
	run, created, err := f.runs.Start(ctx, runRequest(x, p.Username))
	if err != nil {
		return Fired{}, err
	}
	return Fired{Run: run.ID, Owner: p.Username, Created: created, RunStatus: run.Status}, nil
}

// RunPreparer prepares runs without storing them; *runs.Engine implements it.
type RunPreparer interface {
	Prepare(ctx context.Context, r runs.Request) (runs.Prepared, error)
}

// Prepare is Fire for a workflow target that stores nothing: it checks the owner's rights now, as Fire does, and
// returns the run the firing starts, prepared (runs.Engine.Prepare), for the caller to store in a transaction of
// its own and report with runs.Prepared.Stored. Errors: Fire's, and runs.ErrNotPrepared when the run cannot be
// prepared (Fire it instead).
func (f *Firer) Prepare(ctx context.Context, x Firing) (runs.Prepared, error) {
	rp, ok := f.runs.(RunPreparer)
	if x.Workflow == "" || !ok {
		return runs.Prepared{}, runs.ErrNotPrepared
	}
	p, err := f.owner(ctx, x)
	if err != nil {
		return runs.Prepared{}, err
	}
	return rp.Prepare(ctx, runRequest(x, p.Username))
}

// owner checks x and returns its owner as the principal it is now, if it may start x's target.
func (f *Firer) owner(ctx context.Context, x Firing) (auth.Principal, error) {
	if err := x.Target.Validate(); err != nil {
		return auth.Principal{}, err
	}
	if x.TriggerID == "" || x.Trigger.Kind == "" {
		return auth.Principal{}, errors.New("trigger: fire: the trigger's kind and id are required")
	}
	p, err := f.owners.PrincipalOf(ctx, x.OwnerID)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, fmt.Errorf("%w: its owner no longer exists", ErrRefused)
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("trigger: owner of %s %s: %w", x.Trigger.Kind, x.Trigger.Name, err)
	}
	resource, name := api.ResourceJobs, x.Task
	if x.Workflow != "" {
		resource, name = api.ResourceRuns, x.Workflow
	}
	if !rbac.Allow(p.Grants, api.AccessWrite, resource, name) {
		return auth.Principal{}, fmt.Errorf("%w: its owner %s may not write %s of %q", ErrRefused, p.Username, resource, name)
	}
	return p, nil
}

// scopeOf is the idempotency scope of x's key: no user's id (those are UUIDs), so a key a user chose cannot
// answer for a firing.
func scopeOf(x Firing) string { return "trigger:" + string(x.Trigger.Kind) + ":" + x.TriggerID }

// runRequest is the run x starts, as owner.
func runRequest(x Firing, owner string) runs.Request {
	trig := x.Trigger
	// A firing of one of the workflow's own triggers takes its parameters from the trigger's binding, evaluated
	// over what fired it; the runs engine finds the trigger in the definition it starts.
	bind := &runs.Bind{Kind: x.Trigger.Kind, Object: x.Trigger.Name, Payload: x.Payload, ScheduledTime: x.Trigger.ScheduledTime}
	return runs.Request{Workflow: x.Workflow, Owner: owner, OwnerID: scopeOf(x), Parameters: x.Input,
		IdempotencyKey: x.Key, Trigger: &trig, Definition: x.Definition, Bind: bind}
}
