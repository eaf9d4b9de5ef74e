// Package store declares runplane's persistence: one narrow interface per aggregate, and the sentinel errors every
// backend returns. Backends live in sub-packages (sqlite, later postgres) and all pass storetest.Run.
//
// Stored runners hold their token and secret values, and runs their sensitive values (RunValue), in plaintext at
// this boundary; backends encrypt them at rest with the secret.Cipher they are given. This package must never import a backend.
package store

import (
	"context"
	"errors"
	"fmt"
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
	// ErrUnavailable: the store cannot be reached right now (a database restarting, a network failure); the same
	// call may succeed later. The API answers it with 503 and Retry-After.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrQueueFull: the owner already has as many queued jobs as CreateJobCapped allows. The API answers it with 429
	// and Retry-After.
	ErrQueueFull = errors.New("store: too many queued jobs")
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
	// OwnerID is the id of the user who submitted the job, when a user did. Idempotency keys are scoped by it,
	// not by Owner: a name can belong to a deleted user and its successor, or to a local and a directory user.
	OwnerID string
	// IdempotencyKey, when set, makes CreateJob return the earlier job of the same OwnerID and key, whatever its
	// task: the caller compares tasks.
	IdempotencyKey string
	// Handle is the executor's handle of the running attempt; empty before Start returned.
	Handle string
	// Lease says which server runs the job and until when it has promised to renew that claim; zero unless the
	// job is running.
	Lease Lease
	// Inline is the job's definition when it names no task: a workflow step's inline job, as an anonymous task
	// (Name is the step's). Nil for a task's job.
	Inline *api.Task
	// InputFiles are written into the job's input directory before its first container starts (a Kratix
	// pipeline's object.yaml), by name. Only a job of containers has them. ListJobs and FinishJob leave them out.
	InputFiles map[string][]byte
}

// Lease is a server's claim on a running job. A server renews the leases of the jobs it runs; a job whose lease
// ran out belongs to a server that stopped (crashed, lost its database connection) and is recovered by another.
type Lease struct {
	Owner string
	Until time.Time
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
	// Containers and Metadata are how a multi-container job's containers ran and what they wrote to the metadata
	// directory; nil for others.
	Containers []api.ContainerStatus
	Metadata   *api.JobMetadata
}

// JobFilter selects jobs for ListJobs. Zero values select everything; the conditions combine (AND).
type JobFilter struct {
	Status []api.JobStatus // any of these
	Task   string
	// Run keeps the jobs of this workflow run.
	Run string
	// Tasks, when not nil, keeps only jobs of these tasks (none when empty): what a caller may read.
	Tasks []string
	// Owner keeps the jobs of the user of this name.
	Owner string
	// Since and Until keep jobs created at or after Since and before Until; a zero time is no bound.
	Since, Until time.Time
	Limit        int // 0: no limit
	Offset       int
}

// Jobs stores jobs and is the engine's queue.
//
// Every method is atomic: in particular ClaimJob hands a queued job to exactly one caller, even across
// processes sharing the store.
type Jobs interface {
	// CreateJob stores j as queued: status, start/completion times, exit code, counters, Containers and Metadata
	// are reset, and a zero CreateTime becomes now. Inline, Run and Step are kept. If j.IdempotencyKey is set and a job with the same OwnerID and key exists, it stores
	// nothing and returns that job with created false. ErrConflict if the id is taken (callers pick a new id).
	CreateJob(ctx context.Context, j Job) (stored Job, created bool, err error)
	// CreateJobCapped is CreateJob that also refuses, with an error wrapping ErrQueueFull, a job whose owner already
	// has maxQueued jobs queued; maxQueued <= 0 is no cap. Counting and inserting are one atomic step, even across
	// processes sharing the store. A job with an idempotency key the owner used before is never refused: the earlier
	// job is returned (created false) however many are queued.
	CreateJobCapped(ctx context.Context, j Job, maxQueued int) (stored Job, created bool, err error)
	// GetJob returns a job; ErrNotFound if absent.
	GetJob(ctx context.Context, id string) (Job, error)
	// ListJobs returns jobs newest first (by CreateTime, then id) and the number matching the filter
	// without Limit/Offset. Listed jobs carry no Stdout, Input, Inline or Metadata (GetJob has them): a list never
	// reads logs. They do carry Run, Step and Containers.
	ListJobs(ctx context.Context, f JobFilter) (jobs []Job, total int, err error)
	// ClaimJob moves the oldest queued job to running with StartTime now and lease l, and returns it; ErrNotFound
	// if none is queued.
	ClaimJob(ctx context.Context, now time.Time, l Lease) (Job, error)
	// RenewLeases moves the lease of every running job l.Owner holds to l.Until and returns how many it renewed.
	RenewLeases(ctx context.Context, l Lease) (int, error)
	// ClaimExpired hands one running job whose lease ended before now (or that has no lease) to l and returns it
	// as it was before (its old lease tells whose it was); ErrNotFound if there is none. Like ClaimJob, it hands a
	// job to exactly one caller.
	ClaimExpired(ctx context.Context, now time.Time, l Lease) (Job, error)
	// SetJobHandle records the executor handle of a running job; ErrConflict if the job is not running,
	// ErrNotFound if absent.
	SetJobHandle(ctx context.Context, id, handle string) error
	// FinishJob moves a queued or running job to its final state, setting Completed/Failed counters from the
	// status and Containers and Metadata from f; warnings replace any earlier ones and a zero Time becomes now. ErrConflict if the job already ended,
	// ErrNotFound if absent; an error if f.Status is not final.
	FinishJob(ctx context.Context, id string, f Finish) (Job, error)
	// CountJobs counts jobs with the given status.
	CountJobs(ctx context.Context, status api.JobStatus) (int, error)
}

// JobEvent is something a server did to a job that other servers sharing the store may need to act on.
type JobEvent struct {
	Kind JobEventKind
	// ID is the job; empty for EventResync.
	ID string
}

// JobEventKind says what happened.
type JobEventKind int

const (
	// EventQueued: a job was queued; idle servers should claim.
	EventQueued JobEventKind = iota + 1
	// EventFinished: job ID reached a final state; its waiters should look, and a server still running it
	// should stop it (it was cancelled).
	EventFinished
	// EventResync: events may have been missed (the connection to the store was lost and is back); treat every
	// job of interest as possibly changed.
	EventResync
)

// Events is implemented by stores that several servers share. Each server listens, so that a job queued on one
// server is claimed by an idle other at once, a synchronous request answered by one server sees a job finished by
// another at once, and a cancel reaches the server running the job. Stores that only one process uses do not
// implement it.
type Events interface {
	// ListenJobs calls fn, from one goroutine, for every JobEvent of every server (this one's included) until ctx
	// ends, then returns nil. CreateJob publishes EventQueued and FinishJob EventFinished, when they commit. fn is
	// called with EventResync first, as soon as ListenJobs listens (so the caller knows it does, and looks at what
	// happened before), and again each time it listens again after losing the connection, which it re-establishes
	// with backoff. It returns an error only when it cannot listen at all at the start.
	ListenJobs(ctx context.Context, fn func(JobEvent)) error
}

// Store is everything a backend provides.
type Store interface {
	Runners
	Tasks
	Jobs
	Workflows
	Runs
	CronJobs
	Users
	Groups
	Roles
	RoleBindings
	Access
	Sessions
	APITokens
	Webhooks
	Audit
	EventSinks
	Outbox
	CloudEvents
	EventRules
	StateStores
	Destinations
	Promises
	CompositionDefinitions
	Compositions
	// Close releases the backend's resources.
	Close() error
}

// Count words n things for a conflict message: "1 task", "3 tasks". Conflicts count what is in the way instead of
// naming it: the caller may not be allowed to read those objects.
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
