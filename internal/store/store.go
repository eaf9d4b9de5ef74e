// Package store declares runplane's persistence: one narrow interface per aggregate, and the sentinel errors every
// backend returns. Backends live in sub-packages (sqlite, later postgres) and all pass storetest.Run.
//
// Stored runners hold their token and secret values in plaintext at this boundary; backends encrypt them at rest
// with the secret.Cipher they are given. This package must never import a backend.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/runplane/runplane/api"
)

// Sentinel errors. Backends wrap them with detail; callers test with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the name is taken, the object is in use or built in, or a state transition is no longer possible.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid: the object refers to something that does not exist or may not be referred to (a group of another
	// provider, say). The API answers it with 400.
	ErrInvalid = errors.New("store: invalid reference")
)

// Runners stores runners by name.
type Runners interface {
	// CreateRunner stores a new runner; ErrConflict if the name is taken.
	CreateRunner(ctx context.Context, r api.Runner) error
	// GetRunner returns the runner with its token and secrets decrypted; ErrNotFound if absent.
	GetRunner(ctx context.Context, name string) (api.Runner, error)
	// ListRunners returns every runner ordered by name, decrypted; never nil.
	ListRunners(ctx context.Context) ([]api.Runner, error)
	// UpdateRunner replaces the runner named r.Name; ErrNotFound if absent.
	UpdateRunner(ctx context.Context, r api.Runner) error
	// DeleteRunner removes a runner; ErrNotFound if absent, ErrConflict (naming the tasks) while a task uses it.
	DeleteRunner(ctx context.Context, name string) error
}

// Tasks stores tasks by name.
type Tasks interface {
	// CreateTask stores a new task; ErrConflict if the name is taken. The caller checks that the runner exists.
	CreateTask(ctx context.Context, t api.Task) error
	// GetTask returns a task; ErrNotFound if absent.
	GetTask(ctx context.Context, name string) (api.Task, error)
	// ListTasks returns every task ordered by name.
	ListTasks(ctx context.Context) ([]api.Task, error)
	// UpdateTask replaces the task named t.Name; ErrNotFound if absent.
	UpdateTask(ctx context.Context, t api.Task) error
	// DeleteTask removes a task; ErrNotFound if absent. Its jobs stay.
	DeleteTask(ctx context.Context, name string) error
}

// Job is a job as stored: the API view plus what the engine needs.
type Job struct {
	api.Job
	// Input is the request body, passed to the job as EXTRA_VARS; nil when the body was empty.
	Input []byte
	// IdempotencyKey, when set, makes CreateJob return the earlier job of the same owner and key.
	IdempotencyKey string
	// Handle is the executor's handle of the running attempt; empty before Start returned.
	Handle string
}

// Finish is how a job ended.
type Finish struct {
	Status   api.JobStatus // succeeded, failed or cancelled
	ExitCode *int
	Reason   string
	Warnings []string
	Stdout   string
	JSONData []byte
	Time     time.Time
}

// JobFilter selects jobs for ListJobs. Zero values select everything.
type JobFilter struct {
	Status []api.JobStatus
	Task   string
	// Tasks, when not nil, keeps only jobs of these tasks (none when empty): what a caller may read.
	Tasks  []string
	Limit  int // 0: no limit
	Offset int
}

// Jobs stores jobs and is the engine's queue.
//
// Every method is atomic: in particular ClaimJob hands a queued job to exactly one caller, even across
// processes sharing the store.
type Jobs interface {
	// CreateJob stores j as queued: status, start/completion times, exit code and counters are reset, and a zero
	// CreateTime becomes now. If j.IdempotencyKey is set and the owner already has a job with that key, it stores
	// nothing and returns that job with created false. ErrConflict if the id is taken (callers pick a new id).
	CreateJob(ctx context.Context, j Job) (stored Job, created bool, err error)
	// GetJob returns a job; ErrNotFound if absent.
	GetJob(ctx context.Context, id string) (Job, error)
	// ListJobs returns jobs newest first (by CreateTime, then id) and the number matching the filter
	// without Limit/Offset.
	ListJobs(ctx context.Context, f JobFilter) (jobs []Job, total int, err error)
	// ClaimJob moves the oldest queued job to running with StartTime now and returns it; ErrNotFound if none is queued.
	ClaimJob(ctx context.Context, now time.Time) (Job, error)
	// SetJobHandle records the executor handle of a running job; ErrConflict if the job is not running,
	// ErrNotFound if absent.
	SetJobHandle(ctx context.Context, id, handle string) error
	// FinishJob moves a queued or running job to its final state, setting Completed/Failed counters from the
	// status; warnings replace any earlier ones and a zero Time becomes now. ErrConflict if the job already ended,
	// ErrNotFound if absent; an error if f.Status is not final.
	FinishJob(ctx context.Context, id string, f Finish) (Job, error)
	// CountJobs counts jobs with the given status.
	CountJobs(ctx context.Context, status api.JobStatus) (int, error)
}

// Store is everything a backend provides.
type Store interface {
	Runners
	Tasks
	Jobs
	Users
	Groups
	Roles
	RoleBindings
	Access
	APITokens
	Audit
	// Close releases the backend's resources.
	Close() error
}
