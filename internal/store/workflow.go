package store

import (
	"context"
	"encoding/json"

	"github.com/runplane/runplane/api"
)

// Workflows stores workflow definitions by name.
type Workflows interface {
	// CreateWorkflow stores a new workflow; ErrConflict if the name is taken. The caller validates it.
	CreateWorkflow(ctx context.Context, w api.Workflow) error
	// GetWorkflow returns a workflow; ErrNotFound if absent.
	GetWorkflow(ctx context.Context, name string) (api.Workflow, error)
	// ListWorkflows returns every workflow ordered by name; never nil.
	ListWorkflows(ctx context.Context) ([]api.Workflow, error)
	// UpdateWorkflow replaces the workflow named w.Name; ErrNotFound if absent. Runs already started keep the
	// definition they started with.
	//
	// A definition is stored as JSON: raw JSON inside it (parameters, a step's input or spec) reads back compacted.
	// Every write records the audit entry pending in ctx (WithAudit) in its transaction.
	UpdateWorkflow(ctx context.Context, w api.Workflow) error
	// DeleteWorkflow removes a workflow; ErrNotFound if absent. Its runs stay.
	DeleteWorkflow(ctx context.Context, name string) error
}

// Run is a workflow run as stored: the API view plus what the advancer needs.
type Run struct {
	api.Run
	// Definition is the workflow as it was when the run was created: the run follows it to the end.
	Definition api.Workflow
	// OwnerID scopes IdempotencyKey, as for jobs.
	OwnerID        string
	IdempotencyKey string
	// Version is the stored row's version: UpdateRun stores only over the version it was read at.
	Version int64
	// CancelRequested: someone asked the run to end cancelled (UpdateRun stores it); the advancer cancels its
	// running steps and ends it.
	CancelRequested bool
}

// RunFilter selects runs for ListRuns; zero values select everything and the conditions combine (AND).
type RunFilter struct {
	Workflow string
	// Workflows, when not nil, keeps only runs of these workflows (none when empty): what a caller may read.
	Workflows []string
	Status    []api.RunStatus // any of these
	Owner     string
	Limit     int // 0: no limit
	Offset    int
}

// RunValue is a value a running step set through the metadata API: an output (Kind "output") or a piece of
// state (Kind "state"), for the step of the run.
type RunValue struct {
	Run, Step, Kind, Name string
	Value                 json.RawMessage
	// Sensitive values are sealed at rest and read as api.Mask in API answers and masked in logs.
	Sensitive bool
}

// Runs stores workflow runs. Advancing a run is read → decide → UpdateRun; a conflict means another server
// advanced it first, and the caller reads it again.
type Runs interface {
	// CreateRun stores r with Version 1 and returns it; an empty Status becomes queued and a zero CreateTime now.
	// If r.IdempotencyKey is set and a run of the same OwnerID and key exists, it stores nothing and returns that
	// run with created false (whatever its workflow: the caller compares). ErrConflict if the id is taken. Like
	// CreateJob it records the audit entry pending in ctx, naming the run (the earlier one for a replayed key).
	CreateRun(ctx context.Context, r Run) (stored Run, created bool, err error)
	// CreateRunWithJobs is CreateRun that also creates jobs — the jobs of r's first steps, which r's steps name —
	// in the same transaction: the run and all its jobs, or nothing. Each job is stored as CreateJob stores one
	// (queued); their idempotency keys are not looked up (they are the new run's). If r's idempotency key is
	// taken it stores nothing, no job either, and returns that run with created false. With maxQueued > 0 it
	// stores nothing and returns an error wrapping ErrQueueFull when the jobs' owner (r.Owner) has so many queued
	// jobs that these would take it past maxQueued. ErrConflict if the run's id or a job's is taken.
	CreateRunWithJobs(ctx context.Context, r Run, jobs []Job, maxQueued int) (stored Run, created bool, err error)
	// GetRun returns a run; ErrNotFound if absent.
	GetRun(ctx context.Context, id string) (Run, error)
	// GetRunState is GetRun without the run's Definition (left empty), which CreateRun fixed for good: for an
	// advancer that holds it already, it spares decoding it again. ErrNotFound if absent.
	GetRunState(ctx context.Context, id string) (Run, error)
	// ListRuns returns runs newest first (by CreateTime, then id) and how many match without Limit/Offset; never
	// nil. Listed runs carry no Definition (GetRun has it). Filtering by Status reads an index: the advancer
	// lists the live runs (queued, running) when it starts.
	ListRuns(ctx context.Context, f RunFilter) (runs []Run, total int, err error)
	// UpdateRun replaces the run r.ID if its stored Version is still r.Version, and returns it with the next
	// version; ErrConflict if it is not (reload and decide again), ErrNotFound if absent. It stores what advancing
	// changes — Status, StartTime, CompletionTime, Reason and Steps — and returns the whole run as stored; the rest
	// (workflow, owner, parameters, definition, key, create time) is fixed by CreateRun. Of several callers
	// updating from one version, in any processes sharing the store, exactly one succeeds.
	UpdateRun(ctx context.Context, r Run) (Run, error)
	// SetRunValue stores (replaces) one value of a run's step; ErrNotFound if the run is absent. A Sensitive value
	// is sealed with the store's cipher, bound to its run, step, kind and name (RunValueBinding).
	SetRunValue(ctx context.Context, v RunValue) error
	// RunValues returns every value of a run, ordered by step, kind and name, unsealed; never nil.
	RunValues(ctx context.Context, run string) ([]RunValue, error)
}
