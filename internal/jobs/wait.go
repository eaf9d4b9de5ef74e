package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// waiter is what the callers waiting for one job share: done is closed when the job is final. When the engine
// itself made the job final, job holds it as the store returned it (final is set before done is closed), so a
// waiter need not read it back.
type waiter struct {
	done  chan struct{}
	job   store.Job
	final bool
}

// signal returns the waiter of job id. The caller must check the store after taking it.
func (e *Engine) signal(id string) *waiter {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, ok := e.waiters[id]
	if !ok {
		w = &waiter{done: make(chan struct{})}
		e.waiters[id] = w
	}
	return w
}

// notify wakes everyone waiting on job id.
func (e *Engine) notify(id string) { e.notifyFinal(id, nil) }

// notifyFinal wakes everyone waiting on job id, handing them job when it is the final state the store returned
// (FinishJob's job reads back as GetJob's: storetest checks it); nil when this engine does not have it.
func (e *Engine) notifyFinal(id string, job *store.Job) {
	e.mu.Lock()
	w, ok := e.waiters[id]
	delete(e.waiters, id)
	e.mu.Unlock()
	if ok {
		if job != nil {
			w.job, w.final = *job, true
		}
		close(w.done)
	}
}

// Await returns job id as soon as it is final, or its current state once max has passed or ctx ended.
// It is woken by the job's completion, never by polling; a job this engine finished is not read back.
// Errors: store.ErrNotFound.
func (e *Engine) Await(ctx context.Context, id string, max time.Duration) (store.Job, error) {
	w := e.signal(id)
	job, err := e.st.GetJob(ctx, id)
	if err != nil || job.Status.Final() || max <= 0 {
		return job, err
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-w.done:
		if w.final {
			return w.job, nil
		}
	case <-t.C:
	case <-ctx.Done():
	}
	return e.st.GetJob(context.WithoutCancel(ctx), id)
}

// Done returns a channel closed when job id is final. Errors: store.ErrNotFound.
func (e *Engine) Done(ctx context.Context, id string) (<-chan struct{}, error) {
	w := e.signal(id)
	job, err := e.st.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Status.Final() {
		closed := make(chan struct{})
		close(closed)
		return closed, nil
	}
	return w.done, nil
}

// Cancel ends a queued or running job with status cancelled and returns it once it is final.
// Errors: store.ErrNotFound, ErrFinished.
func (e *Engine) Cancel(ctx context.Context, id string) (store.Job, error) {
	e.mu.Lock()
	a := e.attempts[id]
	e.mu.Unlock()
	if a != nil {
		a.stop(errCancelled)
		select {
		case <-a.done:
		case <-ctx.Done():
			return store.Job{}, ctx.Err()
		}
		return e.st.GetJob(ctx, id)
	}
	job, err := e.st.FinishJob(ctx, id, store.Finish{
		Status: api.JobCancelled,
		Reason: api.ReasonCancelled,
		Time:   e.opts.Now().UTC(),
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Job{}, fmt.Errorf("job %q: %w", id, ErrFinished)
	}
	if err != nil {
		return store.Job{}, err
	}
	e.metrics.observe(job)
	e.notifyFinal(id, &job)
	e.ended(job) // after the waiters: the log line is not theirs to wait for
	return job, nil
}

// Mask masks values in the rest of the log of job id, if this engine runs it: a secret the job made known while
// it runs (a workflow step marking one of its outputs sensitive). It reports whether the job runs here; what the
// job wrote before is not changed.
func (e *Engine) Mask(id string, values ...string) bool {
	e.mu.Lock()
	at := e.attempts[id]
	e.mu.Unlock()
	if at == nil {
		return false
	}
	m := at.masked.Load()
	if m == nil {
		return false
	}
	m.Add(values...)
	return true
}
