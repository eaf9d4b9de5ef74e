// Package jobs is the job engine: accept → queue → dispatch → watch → finish, with sync waiters, cancel,
// timeouts, a concurrency limit and crash recovery.
//
// It talks to the store and the executor only through interfaces, and persists every state change before acting
// on it: a job exists in the store before anything runs, and a job is marked finished before its waiters are told.
// It must never import a store or executor backend.
package jobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/store"
)

// ErrTaskNotFound: a submission names a task that does not exist. It wraps store.ErrNotFound.
var ErrTaskNotFound = fmt.Errorf("jobs: task not found: %w", store.ErrNotFound)

// ErrFinished: the job already ended, so it cannot be cancelled. It wraps store.ErrConflict.
var ErrFinished = fmt.Errorf("jobs: job already finished: %w", store.ErrConflict)

// ErrKeyReused: a submission's idempotency key is the submitter's key of a job of another task. It wraps
// store.ErrConflict.
var ErrKeyReused = fmt.Errorf("jobs: idempotency key already used for another task: %w", store.ErrConflict)

// QueueFullError refuses a submission whose owner already has Options.MaxQueuedPerOwner jobs queued. It wraps
// store.ErrQueueFull.
type QueueFullError struct {
	Owner string
	Max   int
	// RetryAfter is when trying again may succeed: a guess, since it depends on how fast queued jobs start.
	RetryAfter time.Duration
}

func (e *QueueFullError) Error() string {
	return fmt.Sprintf("%s already has %d jobs queued, the most this server allows: submit again once some have started", e.Owner, e.Max)
}

func (e *QueueFullError) Unwrap() error { return store.ErrQueueFull }

// queueFullRetry is QueueFullError.RetryAfter.
const queueFullRetry = 10 * time.Second

// Store is the slice of the store the engine needs.
type Store interface {
	GetRunner(ctx context.Context, name string) (api.Runner, error)
	store.Tasks
	store.Jobs
}

// Options tune the engine. The zero value works.
type Options struct {
	// MaxConcurrent bounds running jobs; 0 means 4 × GOMAXPROCS.
	MaxConcurrent int
	// StopGrace is how long a cancelled or timed-out job has between SIGTERM and SIGKILL; 0 means 5s.
	StopGrace time.Duration
	// ShutdownGrace is how long running jobs may go on finishing once Run's context ends, before they are
	// stopped and marked failed (reason "interrupted"); 0 means 10s.
	ShutdownGrace time.Duration
	// DefaultTimeout ends jobs of tasks without a timeout of their own that run longer (reason "timeout", as a
	// task's timeout does); 0 means no limit.
	DefaultTimeout time.Duration
	// MaxQueuedPerOwner bounds the queued jobs of one owner: a submission past it fails with *QueueFullError, except
	// one returning an earlier job by its idempotency key. The count is the store's, so it holds across servers
	// sharing it. 0 means no limit.
	MaxQueuedPerOwner int
	// StdoutLimit bounds the bytes of a job's log kept in Job.Stdout and scanned for a ^JSON result; 0 means 1 MiB.
	StdoutLimit int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer receives the engine's metrics; nil registers none.
	Registerer prometheus.Registerer
	// ServerID names this server in the leases of the jobs it runs; empty means a random id. Several servers
	// sharing a store must have different ids.
	ServerID string
	// LeaseTTL is how long a claim on a running job lasts without renewal (renewed every third of it); when it
	// runs out another server recovers the job. 0 means 30s.
	LeaseTTL time.Duration
	// Exclusive says no other process uses the store (SQLite): every job left running belongs to an earlier
	// process of this server and is recovered at once at start, without waiting for its lease to run out.
	Exclusive bool
	// Files keeps what multi-container jobs leave in their output and metadata directories; nil keeps nothing.
	Files *jobfiles.Store
	// StepEnv gives the job of a workflow step (Job.Run set) what it needs to talk back to the server (see
	// Step). An error fails the job before it starts. Nil: step jobs get nothing more.
	StepEnv func(ctx context.Context, job store.Job) (Step, error)
	// Finished, when set, is called with every job this engine finished, once it is final in the store (a
	// workflow run advances on it). It must not block.
	Finished func(job store.Job)
	// Images is the operator's image allowlist: Submit refuses a job whose runner names an image outside it, or
	// none. Nil or empty allows every image.
	Images *imagepolicy.Allowlist
}

// Step is what the job of a workflow step gets besides its task's.
type Step struct {
	// Env is more environment, NAME=value: the metadata API's URL, the step's resolved env.
	Env []string
	// Secrets are more secrets (environment variables and /etc/secret files, masked in the log): the step's token,
	// env values that read secrets.
	Secrets map[string]string
	// Masks are more values to mask in the job's log: the run's sensitive outputs, which its env may hold.
	Masks []string
	// Timeout, when positive, bounds the job when it is shorter than its task's: the step's own timeout.
	Timeout time.Duration
	// DiscardFiles: the job's output and metadata files are not kept (api.Step.DiscardFiles).
	DiscardFiles bool
}

// Request is one job submission.
type Request struct {
	Task  string
	Owner string
	// OwnerID is the submitting user's id; required with an IdempotencyKey, which is scoped by it.
	OwnerID string
	// Input is the request body (EXTRA_VARS); nil or empty when there was none.
	Input          []byte
	IdempotencyKey string
	// Inline, instead of Task, is the definition of a job that names no task (a workflow step's inline job).
	Inline *api.Task
	// Run and Step name the workflow run and step the job is an attempt of.
	Run, Step string
	// Trigger is what started the job when no one submitted it directly; stored with the job.
	Trigger *api.Trigger
	// InputFiles are put in the job's input directory before its first container starts (a Kratix pipeline's
	// object.yaml). Only a job of containers takes them: plain names, executor.MaxInputFiles bytes in all.
	InputFiles map[string][]byte
}

// Engine runs jobs. Create it with New, start it with Run; Submit, Await, Cancel and Done are safe for concurrent
// use and work before Run starts (jobs then wait in the queue).
type Engine struct {
	st      Store
	ex      executor.Executor
	logs    *joblog.Store
	opts    Options
	log     *slog.Logger
	metrics *metrics
	schemas schemaCache

	wake chan struct{} // a job was queued: one token wakes one idle worker; buffered MaxConcurrent
	// detached ends when a shutting-down engine leaves a durable executor's attempts running (executor.Durable):
	// watches of them end without finishing their jobs.
	detached context.Context
	detach   context.CancelFunc

	mu       sync.Mutex
	waiters  map[string]*waiter  // of jobs someone awaits; removed when the job is final
	attempts map[string]*attempt // jobs this engine is running
}

// New returns an engine over st and ex, keeping job logs in logs.
func New(st Store, ex executor.Executor, logs *joblog.Store, opts Options) *Engine {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 4 * runtime.GOMAXPROCS(0)
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	if opts.StdoutLimit <= 0 {
		opts.StdoutLimit = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 30 * time.Second
	}
	if opts.ServerID == "" {
		opts.ServerID = newServerID()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		st:       st,
		ex:       ex,
		logs:     logs,
		opts:     opts,
		log:      log,
		wake:     make(chan struct{}, opts.MaxConcurrent),
		waiters:  make(map[string]*waiter),
		attempts: make(map[string]*attempt),
	}
	e.detached, e.detach = context.WithCancel(context.Background())
	e.metrics = newMetrics(opts.Registerer, e.queueDepth)
	return e
}

// Submitted is an accepted submission.
type Submitted struct {
	store.Job
	// Created is false when an idempotency key the owner used before returned that earlier job.
	Created bool
	// Task is the task the job was accepted for, as it was then (callers need its sync settings).
	Task api.Task
}

// Submit validates r against its task and queues a job. With an idempotency key the same user (r.OwnerID) used
// before for this task, it returns that earlier job and Created false; used before for another task, ErrKeyReused.
// The caller decides whether the submitter may still see the earlier job. Errors: ErrTaskNotFound, *api.InvalidError for input that is not
// JSON or fails the task's schema (with the failing paths in Fields), an error wrapping imagepolicy.ErrNotAllowed
// when the task's runner names an image Options.Images refuses, *QueueFullError when the owner has
// Options.MaxQueuedPerOwner jobs queued.
func (e *Engine) Submit(ctx context.Context, r Request) (Submitted, error) {
	j, task, err := e.build(ctx, r)
	if err != nil {
		return Submitted{}, err
	}
	var job store.Job
	var created bool
	for range 5 {
		j.ID = newJobID(task.Name)
		job, created, err = e.st.CreateJobCapped(ctx, j, e.opts.MaxQueuedPerOwner)
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if errors.Is(err, store.ErrQueueFull) {
		return Submitted{}, &QueueFullError{Owner: r.Owner, Max: e.opts.MaxQueuedPerOwner, RetryAfter: queueFullRetry}
	}
	if err != nil {
		return Submitted{}, fmt.Errorf("submit: %w", err)
	}
	if !created && (job.Task != j.Task || job.Run != j.Run || job.Step != j.Step) {
		return Submitted{}, ErrKeyReused
	}
	if created {
		e.metrics.submitted.Inc()
		e.kick()
	}
	return Submitted{Job: job, Created: created, Task: task}, nil
}

// build checks r as Submit does and returns the job to store for it (without its id) and its task.
func (e *Engine) build(ctx context.Context, r Request) (store.Job, api.Task, error) {
	if r.IdempotencyKey != "" && r.OwnerID == "" {
		return store.Job{}, api.Task{}, errors.New("jobs: submit: an idempotency key needs the submitter's user id")
	}
	task, err := e.requested(ctx, r)
	if err != nil {
		return store.Job{}, api.Task{}, err
	}
	input := r.Input
	if len(bytes.TrimSpace(input)) == 0 {
		input = nil
	}
	runner, err := e.checkRunner(ctx, task, input)
	if err != nil {
		return store.Job{}, api.Task{}, err
	}
	if input != nil && !json.Valid(input) {
		var v json.RawMessage
		return store.Job{}, api.Task{}, api.Invalidf("input is not valid JSON: %v", json.Unmarshal(input, &v))
	}
	if err := e.schemas.validate(task, input); err != nil {
		return store.Job{}, api.Task{}, err
	}
	// Known now, not only when the job starts: an input that cannot be the job's EXTRA_VARS is a 400.
	if err := api.CheckJobInput(task, runner, input); err != nil {
		return store.Job{}, api.Task{}, err
	}
	if err := checkInputFiles(task, r.InputFiles); err != nil {
		return store.Job{}, api.Task{}, err
	}
	j := store.Job{
		Job: api.Job{
			Owner:      r.Owner,
			Task:       task.Name,
			Status:     api.JobQueued,
			CreateTime: e.opts.Now().UTC(),
			Run:        r.Run,
			Step:       r.Step,
			Trigger:    r.Trigger,
		},
		Input:          input,
		IdempotencyKey: r.IdempotencyKey,
		OwnerID:        r.OwnerID,
		Inline:         r.Inline,
		InputFiles:     r.InputFiles,
	}
	if r.Inline != nil {
		j.Task = ""
	}
	return j, task, nil
}

// requested is the task r asks to run: its inline definition, checked, or the stored task it names.
func (e *Engine) requested(ctx context.Context, r Request) (api.Task, error) {
	if r.Inline != nil {
		if err := r.Inline.Validate(); err != nil {
			return api.Task{}, err
		}
		return *r.Inline, nil
	}
	task, err := e.st.GetTask(ctx, r.Task)
	if errors.Is(err, store.ErrNotFound) {
		return api.Task{}, fmt.Errorf("task %q: %w", r.Task, ErrTaskNotFound)
	}
	if err != nil {
		return api.Task{}, fmt.Errorf("submit: %w", err)
	}
	return task, nil
}

// checkRunner loads the task's runner when a check needs it (an image allowlist is set, or there is input whose
// size counts against the runner's secrets) and refuses a job whose runner, or one of whose containers, names an
// image outside the allowlist: the runner may have been saved before the list changed. A runner that does not
// exist is left to fail the job when it starts (the zero Runner is returned).
func (e *Engine) checkRunner(ctx context.Context, task api.Task, input []byte) (api.Runner, error) {
	if len(task.Containers) > 0 && !e.opts.Images.Empty() {
		for _, c := range task.Containers {
			// A container without an image runs as a host process (process isolation modes) or not at all.
			if c.Image == "" {
				continue
			}
			if err := e.opts.Images.Check(c.Image); err != nil {
				return api.Runner{}, fmt.Errorf("submit: container %q: %w", c.Name, err)
			}
		}
	}
	if task.Runner == "" || (e.opts.Images.Empty() && input == nil) {
		return api.Runner{}, nil
	}
	runner, err := e.st.GetRunner(ctx, task.Runner)
	if errors.Is(err, store.ErrNotFound) {
		return api.Runner{}, nil
	}
	if err != nil {
		return api.Runner{}, fmt.Errorf("submit: %w", err)
	}
	if !e.opts.Images.Empty() && len(task.Containers) == 0 {
		if err := e.opts.Images.Check(runner.Image); err != nil {
			return api.Runner{}, fmt.Errorf("submit: runner %q: %w", runner.Name, err)
		}
	}
	return runner, nil
}

// kick wakes one idle worker without blocking. When every token is taken, enough workers are awake already.
func (e *Engine) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newServerID returns "<hostname>-<8 random alphanumerics>".
func newServerID() string {
	host, _ := os.Hostname()
	var b [8]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return host + "-" + string(b[:])
}

// lease is a claim for this server from now on.
func (e *Engine) lease() store.Lease {
	return store.Lease{Owner: e.opts.ServerID, Until: e.opts.Now().UTC().Add(e.opts.LeaseTTL)}
}

// newJobID returns "<task>-<5 random lowercase alphanumerics>", like Kriten's job names.
func newJobID(task string) string {
	var b [5]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return task + "-" + string(b[:])
}

func (e *Engine) queueDepth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := e.st.CountJobs(ctx, api.JobQueued)
	if err != nil {
		return 0
	}
	return float64(n)
}
