package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/result"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
)

// Causes of an attempt's end that the engine decided on; they become the job's reason.
var (
	errCancelled   = errors.New(api.ReasonCancelled)
	errTimeout     = errors.New(api.ReasonTimeout)
	errInterrupted = errors.New("interrupted: server shutting down")
)

// attempt is a job this engine is running.
type attempt struct {
	stop context.CancelCauseFunc // ends the attempt with a cause
	done chan struct{}           // closed once the job is finished in the store
	// masked masks the attempt's log on its way to the log store, once it is being copied there.
	masked atomic.Pointer[secret.MaskWriter]
}

// Run recovers jobs an earlier process left running, then runs queued jobs until ctx ends. On return, every
// attempt it started has ended: running jobs get ShutdownGrace to finish, then are stopped.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	// Attempts outlive ctx by ShutdownGrace, so they run under their own context.
	attemptCtx, stopAttempts := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopAttempts(nil)

	if e.opts.Exclusive {
		// Every job left running is an earlier process's: recover them all before taking new work.
		// "Now" is the end of time, so every running job counts as expired; the lease taken on them must end later
		// still, or a job re-attached here would count as expired again. The first renewal brings it back.
		end := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		l := store.Lease{Owner: e.opts.ServerID, Until: end.AddDate(0, 11, 30)}
		if err := e.recoverExpired(ctx, attemptCtx, &wg, end, func() store.Lease { return l }); err != nil {
			return fmt.Errorf("recover running jobs: %w", err)
		}
	}
	if ev, ok := e.st.(store.Events); ok {
		listening := make(chan error, 1)
		wg.Go(func() { e.listen(ctx, ev, listening) })
		if err := <-listening; err != nil {
			return fmt.Errorf("listen for job events: %w", err)
		}
	}
	wg.Go(func() { e.keepLeases(ctx, attemptCtx, &wg) })
	// One worker per concurrency slot: each claims a job, runs it, and claims the next. Concurrent claims share
	// the store's write transactions, and an idle worker costs nothing.
	for range e.opts.MaxConcurrent {
		wg.Go(func() { e.work(ctx, attemptCtx) })
	}
	<-ctx.Done()

	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	if d, ok := e.ex.(executor.Durable); ok && d.Durable() {
		// The attempts go on without this server: the next one (or another replica) re-attaches to them.
		e.detach()
		<-drained
		e.releaseLeases()
		return nil
	}
	select {
	case <-drained:
	case <-time.After(e.opts.ShutdownGrace):
		e.log.Info("stopping running jobs", "after", e.opts.ShutdownGrace)
		stopAttempts(errInterrupted)
		<-drained
	}
	return nil
}

// work claims and runs queued jobs one at a time until ctx ends.
func (e *Engine) work(ctx, attemptCtx context.Context) {
	for ctx.Err() == nil {
		job, err := e.st.ClaimJob(ctx, e.opts.Now().UTC(), e.lease())
		switch {
		case err == nil:
			e.execute(job, e.track(attemptCtx, job.ID))
			continue
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrNotFound):
			select {
			case <-e.wake:
			case <-ctx.Done():
			}
		default:
			e.log.Error("claim job", "err", err)
			// A failing store is retried after a pause, not in a hot loop.
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
}

// track registers a running attempt so Cancel can reach it.
func (e *Engine) track(parent context.Context, id string) (a *attemptRun) {
	ctx, stop := context.WithCancelCause(parent)
	at := &attempt{stop: stop, done: make(chan struct{})}
	e.mu.Lock()
	e.attempts[id] = at
	e.mu.Unlock()
	e.metrics.running.Inc()
	return &attemptRun{ctx: ctx, attempt: at}
}

type attemptRun struct {
	ctx context.Context
	*attempt
}

// execute starts a claimed job and watches it to the end.
func (e *Engine) execute(job store.Job, a *attemptRun) {
	ctx := a.ctx
	// startFailed is how the job ends when it could not start: as it was stopped (cancelled, timed out, server
	// stopping) if it was, whatever the step that noticed; else failed, naming err.
	startFailed := func(err error) store.Finish {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return store.Finish{Status: statusFor(cause), Reason: cause.Error()}
		}
		return store.Finish{Status: api.JobFailed, Reason: "start: " + err.Error()}
	}
	var task api.Task
	err := e.patient(ctx, func() (err error) { task, err = e.taskOf(ctx, job); return err })
	if errors.Is(err, store.ErrNotFound) {
		e.finish(job, store.Finish{Status: api.JobFailed, Reason: api.ReasonTaskDeleted}, a.attempt)
		return
	}
	var runner api.Runner
	if err == nil && task.Runner != "" {
		err = e.patient(ctx, func() (err error) { runner, err = e.st.GetRunner(ctx, task.Runner); return err })
		if errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("runner %q does not exist", task.Runner)
		}
	}
	if err != nil {
		e.finish(job, startFailed(err), a.attempt)
		return
	}
	out, err := e.logs.Create(job.ID)
	if err != nil {
		e.finish(job, startFailed(err), a.attempt)
		return
	}
	defer out.Release()
	// The job writes into a pipe that a goroutine copies into the live log: no file is created for a short job.
	pr, pw, err := os.Pipe()
	if err != nil {
		e.finish(job, startFailed(err), a.attempt)
		return
	}
	spec, masks, err := e.prepare(ctx, job, task, runner, pw)
	if err != nil {
		pr.Close()
		pw.Close()
		e.finish(job, startFailed(err), a.attempt)
		return
	}
	copied := make(chan struct{})
	masked := secret.NewMaskWriter(out, masks)
	a.masked.Store(masked)
	go func() {
		defer close(copied)
		defer pr.Close()
		io.Copy(masked, pr)
		masked.Close()
	}()
	if spec.Timeout > 0 {
		t := time.AfterFunc(spec.Timeout, func() { a.stop(errTimeout) })
		defer t.Stop()
	}
	h, err := e.ex.Start(ctx, spec)
	pw.Close() // the job holds its own copy
	if err != nil {
		<-copied
		reason := "start: " + err.Error()
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			reason = cause.Error()
		}
		fmt.Fprintf(out, "runplane: %s\n", reason)
		e.finish(job, store.Finish{Status: statusFor(context.Cause(ctx)), Reason: reason, Stdout: e.stdout(out).Stdout}, a.attempt)
		return
	}
	hctx := context.WithoutCancel(ctx)
	if err := e.patient(hctx, func() error { return e.st.SetJobHandle(hctx, job.ID, string(h)) }); err != nil {
		// Cancelled (or otherwise finished) between claim and start: the process must not live on.
		e.log.Info("job ended before it started; stopping it", "job", job.ID, "err", err)
		a.stop(errCancelled)
	} else {
		e.started(job, runner.Name)
	}
	e.watch(job, h, out, spec.Keep != "", func() {
		select {
		case <-copied:
		case <-time.After(outputGrace):
			e.log.Warn("job left processes holding its output open; the log ends here", "job", job.ID)
		}
	}, a)
}

// taskOf is what job runs: its inline definition (a workflow step's), else its task as stored now.
func (e *Engine) taskOf(ctx context.Context, job store.Job) (api.Task, error) {
	if job.Inline != nil {
		return *job.Inline, nil
	}
	return e.st.GetTask(ctx, job.Task)
}

// outputGrace is how long the engine waits, after a job's process ended, for processes it left behind to close
// its output.
const outputGrace = 2 * time.Second

// watch waits for an attempt to end, stopping it when its context ends, and finishes the job. drain returns once
// the attempt's output has all reached out. kept says the attempt keeps files (executor.Spec.Keep).
func (e *Engine) watch(job store.Job, h executor.Handle, out *joblog.Writer, kept bool, drain func(), a *attemptRun) {
	stopper := context.AfterFunc(a.ctx, func() {
		if err := e.ex.Stop(context.Background(), h, e.opts.StopGrace); err != nil {
			e.log.Error("stop job", "job", job.ID, "err", err)
		}
	})
	defer stopper()
	res, err := e.ex.Wait(e.detached, h)
	if err != nil && e.detached.Err() != nil {
		// Its output is not drained either: the next server gets it all again (executor.OutputReplayer).
		e.log.Info("server shutting down; the job runs on and is re-attached by the next server", "job", job.ID)
		return
	}
	drain()
	if err != nil {
		e.finish(job, store.Finish{Status: api.JobFailed, Reason: "wait: " + err.Error()}, a.attempt)
		return
	}
	f := e.stdout(out)
	f.Status, f.ExitCode, f.Warnings = api.JobSucceeded, &res.ExitCode, append(res.Warnings, f.Warnings...)
	f.Containers = res.Containers
	if res.ExitCode != 0 {
		f.Status = api.JobFailed
		f.Reason = res.Reason
		if f.Reason == "" {
			f.Reason = fmt.Sprintf("exit code %d", res.ExitCode)
		}
	}
	if kept && e.opts.Files != nil {
		md, err := e.opts.Files.Metadata(job.ID)
		f.Metadata = md
		if err != nil && f.Status == api.JobSucceeded {
			// What the containers reported cannot be read: the job did not do what it had to.
			f.Status, f.Reason = api.JobFailed, err.Error()
		}
	}
	if cause := context.Cause(a.ctx); a.ctx.Err() != nil && cause != nil {
		f.Status, f.Reason = statusFor(cause), cause.Error()
	}
	e.finish(job, f, a.attempt)
}

// stdout ends the job's log and reads its head into a Finish, with its ^JSON result. A log longer than StdoutLimit
// is spilled to its file first, so that nothing of it is lost when the live log is released.
func (e *Engine) stdout(out *joblog.Writer) store.Finish {
	var f store.Finish
	if cut, dropped := out.End(); cut > 0 {
		// The job ran on: like Kubernetes and GitLab, the server caps what it keeps, not what the job may print.
		f.Warnings = append(f.Warnings, fmt.Sprintf("log cut at %d bytes (the server's max log size): %d bytes of output dropped", cut, dropped))
	}
	size := out.Size()
	if size > e.opts.StdoutLimit {
		out.Spill() // a failure is reported through out.Err below
		f.Warnings = append(f.Warnings, fmt.Sprintf("stdout cut at %d of %d bytes; the job's log has all of it", e.opts.StdoutLimit, size))
	}
	if err := out.Err(); err != nil {
		// The log stayed in memory: what fits in stdout is kept with the job, the rest is lost.
		e.log.Error("save job log", "err", err)
		f.Warnings = append(f.Warnings, "the log could not be written to disk; only stdout was kept")
	}
	b := make([]byte, min(size, e.opts.StdoutLimit))
	n, _ := out.ReadAt(b, 0)
	b = b[:n]
	f.Stdout = string(b)
	if data, ok := result.Extract(b); ok {
		f.JSONData = data
	}
	return f
}

func statusFor(cause error) api.JobStatus {
	if errors.Is(cause, errCancelled) {
		return api.JobCancelled
	}
	return api.JobFailed
}

// unavailablePatience is how long the engine keeps retrying a store that is unavailable (a database restarting)
// before giving up on a call: a short outage must not fail, cancel or lose a job.
const unavailablePatience = 2 * time.Minute

// patient runs call, and again with backoff (100 ms doubling to 2 s) while it fails with store.ErrUnavailable,
// for up to unavailablePatience or until ctx ends; it returns the last error.
func (e *Engine) patient(ctx context.Context, call func() error) error {
	wait, deadline := 100*time.Millisecond, time.Now().Add(unavailablePatience)
	for {
		err := call()
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// finish persists how a job ended, then tells its waiters. a is nil for jobs this engine never ran.
func (e *Engine) finish(job store.Job, f store.Finish, a *attempt) {
	f.Time = e.opts.Now().UTC()
	ctx, cancel := context.WithTimeout(context.Background(), unavailablePatience+30*time.Second)
	defer cancel()
	var done store.Job
	err := e.patient(ctx, func() (err error) { done, err = e.st.FinishJob(ctx, job.ID, f); return err })
	var final *store.Job
	switch {
	case errors.Is(err, store.ErrConflict):
		// Someone (a cancel of a not-yet-started job) finished it first; that outcome stands.
	case err != nil:
		e.log.Error("finish job", "job", job.ID, "err", err)
	default:
		if done.OwnerID == "" {
			done.OwnerID = job.OwnerID // FinishJob does not return it; waiters get the job whole
		}
		e.metrics.observe(done)
		final = &done
	}
	if a != nil {
		e.mu.Lock()
		delete(e.attempts, job.ID)
		e.mu.Unlock()
		e.metrics.running.Dec()
		close(a.done)
	}
	e.notifyFinal(job.ID, final)
	if final != nil {
		// After the waiters: a synchronous caller's answer does not wait for the log line.
		e.ended(done)
	}
}

// releaseLeases lets the jobs this server leaves running be recovered at once, by any server, instead of when
// their leases run out.
func (e *Engine) releaseLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.st.RenewLeases(ctx, store.Lease{Owner: e.opts.ServerID, Until: e.opts.Now().UTC()}); err != nil {
		e.log.Warn("release job leases", "err", err)
	}
}

// keepLeases renews the leases of the jobs this server runs every third of LeaseTTL, and recovers jobs whose
// lease ran out (their server stopped), until ctx ends.
func (e *Engine) keepLeases(ctx, attemptCtx context.Context, wg *sync.WaitGroup) {
	tick := time.NewTicker(e.opts.LeaseTTL / 3)
	defer tick.Stop()
	for {
		if _, err := e.st.RenewLeases(ctx, e.lease()); err != nil && ctx.Err() == nil {
			e.log.Warn("renew job leases", "err", err)
		}
		if err := e.recoverExpired(ctx, attemptCtx, wg, e.opts.Now().UTC(), e.lease); err != nil && ctx.Err() == nil {
			e.log.Warn("recover jobs of stopped servers", "err", err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// recoverExpired claims, with leases from lease, every running job whose lease ended before now and settles it:
// re-attached where the executor can, else failed as orphaned.
func (e *Engine) recoverExpired(ctx, attemptCtx context.Context, wg *sync.WaitGroup, now time.Time, lease func() store.Lease) error {
	for ctx.Err() == nil {
		job, err := e.st.ClaimExpired(ctx, now, lease())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		e.adopt(ctx, attemptCtx, wg, job)
	}
	return nil
}

// adopt takes over a job another process (or an earlier one of this server) was running.
func (e *Engine) adopt(ctx, attemptCtx context.Context, wg *sync.WaitGroup, job store.Job) {
	if f, ok := e.ex.(executor.Finder); ok && job.Handle == "" {
		// Started, perhaps, by a server that stopped before it could record the handle.
		if h, err := f.Find(ctx, job.ID); err == nil {
			job.Handle = string(h)
			if err := e.st.SetJobHandle(ctx, job.ID, job.Handle); err != nil {
				e.log.Warn("record the handle of a found job", "job", job.ID, "err", err)
			}
		}
	}
	if job.Handle != "" {
		if r, ok := e.ex.(executor.OutputReplayer); ok && r.ReplaysOutput() {
			// The executor writes the attempt's whole output again: the log starts over.
			if err := e.logs.Remove(job.ID); err != nil {
				e.log.Warn("start the log of a re-attached job over", "job", job.ID, "err", err)
			}
		}
		if out, err := e.logs.Create(job.ID); err == nil {
			h := executor.Handle(job.Handle)
			masked := secret.NewMaskWriter(out, e.secretsOf(ctx, job))
			if err := e.ex.Recover(ctx, h, masked); err == nil {
				a := e.track(attemptCtx, job.ID)
				a.masked.Store(masked)
				stopTimer, kept := e.armTimeout(ctx, job, a)
				wg.Go(func() {
					defer out.Release()
					defer stopTimer()
					e.watch(job, h, out, kept, func() { masked.Close() }, a)
				})
				e.log.Info("re-attached job", "job", job.ID, "from", job.Lease.Owner)
				return
			}
			out.Release()
		}
	}
	e.log.Warn("job orphaned by a stopped server", "job", job.ID, "server", job.Lease.Owner)
	e.finish(job, store.Finish{Status: api.JobFailed, Reason: api.ReasonOrphaned}, nil)
}

// armTimeout ends a re-attached job when its timeout (its task's, else the default, or its workflow step's when
// shorter) runs out, counted from when it started: a restart does not give it more time. It returns a function
// that disarms it, and whether the job keeps files (it has containers).
func (e *Engine) armTimeout(ctx context.Context, job store.Job, a *attemptRun) (stop func(), kept bool) {
	task, err := e.taskOf(ctx, job)
	if err != nil {
		task = api.Task{} // deleted meanwhile: the default applies
	}
	kept = len(task.Containers) > 0
	d := e.timeout(task)
	if job.Run != "" && e.opts.StepEnv != nil {
		if step, err := e.opts.StepEnv(ctx, job); err == nil {
			d = shorter(d, step.Timeout)
			kept = kept && !step.DiscardFiles
		}
	}
	if d <= 0 || job.StartTime == nil {
		return func() {}, kept
	}
	left := max(0, d-e.opts.Now().Sub(*job.StartTime))
	t := time.AfterFunc(left, func() { a.stop(errTimeout) })
	return func() { t.Stop() }, kept
}

// listen acts on what other servers sharing the store do: a job queued wakes a worker, a job finished wakes its
// waiters here and stops it if this server still runs it (it was cancelled, or taken over), and after missed
// events everything is looked at again. It reports on started whether it could listen at all.
func (e *Engine) listen(ctx context.Context, ev store.Events, started chan<- error) {
	var once sync.Once
	ready := func() { once.Do(func() { started <- nil }) }
	err := ev.ListenJobs(ctx, func(x store.JobEvent) {
		ready()
		switch x.Kind {
		case store.EventQueued:
			e.kick()
		case store.EventFinished:
			e.finishedElsewhere(x.ID)
		case store.EventResync:
			e.resync(ctx)
		}
	})
	once.Do(func() { started <- err })
	if err != nil && ctx.Err() == nil {
		e.log.Error("job events", "err", err)
	}
}

// finishedElsewhere handles a job that reached its final state: its waiters here look, and if this server still
// runs it, it is stopped (the final state stands; stopping tells the process).
func (e *Engine) finishedElsewhere(id string) {
	e.mu.Lock()
	a := e.attempts[id]
	e.mu.Unlock()
	if a != nil {
		a.stop(errCancelled)
	}
	e.notify(id)
}

// resync looks again at everything events would have told: queued jobs, awaited jobs, jobs this server runs.
func (e *Engine) resync(ctx context.Context) {
	for range e.opts.MaxConcurrent {
		e.kick()
	}
	e.mu.Lock()
	ids := make([]string, 0, len(e.waiters)+len(e.attempts))
	for id := range e.waiters {
		ids = append(ids, id)
	}
	for id := range e.attempts {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	for _, id := range ids {
		if j, err := e.st.GetJob(ctx, id); err == nil && j.Status.Final() {
			e.finishedElsewhere(id)
		}
	}
}

// secretValues are the values masked in a job's log: the runner's secrets, token and image pull credentials.
func secretValues(r api.Runner) []string {
	v := make([]string, 0, len(r.Secret)+1)
	for _, s := range r.Secret {
		v = append(v, s)
	}
	if r.Token != "" {
		v = append(v, r.Token)
	}
	return append(v, api.PullSecretValues(r.ImagePullSecret)...)
}

// values are m's values.
func values(m map[string]string) []string {
	v := make([]string, 0, len(m))
	for _, s := range m {
		v = append(v, s)
	}
	return v
}

// secretsOf is secretValues for the runner of job's task, or none when either is gone.
func (e *Engine) secretsOf(ctx context.Context, job store.Job) []string {
	t, err := e.taskOf(ctx, job)
	if err != nil || t.Runner == "" {
		return nil
	}
	r, err := e.st.GetRunner(ctx, t.Runner)
	if err != nil {
		return nil
	}
	return secretValues(r)
}
