package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// signal returns the channel closed when job id is final. The caller must check the store after taking it.
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

// notify wakes everyone waiting on job id.
func (e *Engine) notify(id string) {
	e.mu.Lock()
	ch, ok := e.waiters[id]
	delete(e.waiters, id)
	e.mu.Unlock()
	if ok {
		close(ch)
	}
}

// Await returns job id as soon as it is final, or its current state once max has passed or ctx ended.
// It is woken by the job's completion, never by polling. Errors: store.ErrNotFound.
func (e *Engine) Await(ctx context.Context, id string, max time.Duration) (store.Job, error) {
	ch := e.signal(id)
	job, err := e.st.GetJob(ctx, id)
	if err != nil || job.Status.Final() || max <= 0 {
		return job, err
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
	return e.st.GetJob(context.WithoutCancel(ctx), id)
}

// Done returns a channel closed when job id is final. Errors: store.ErrNotFound.
func (e *Engine) Done(ctx context.Context, id string) (<-chan struct{}, error) {
	ch := e.signal(id)
	job, err := e.st.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Status.Final() {
		closed := make(chan struct{})
		close(closed)
		return closed, nil
	}
	return ch, nil
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
	e.ended(job)
	e.notify(id)
	return job, nil
}
