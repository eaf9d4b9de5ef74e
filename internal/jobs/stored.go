package jobs

import (
	"context"

	"github.com/runplane/runplane/internal/store"
)

// Prepare checks r as Submit does and returns the job Submit would store for it — queued, with a new id —
// without storing it: for a caller that stores it with other rows in one transaction (a new run and its first
// steps' jobs, store.Runs.CreateRunWithJobs, under the cap MaxQueued says). Once it is stored the caller calls
// Created. Errors as Submit's, but for those of storing.
func (e *Engine) Prepare(ctx context.Context, r Request) (store.Job, error) {
	j, task, err := e.build(ctx, r)
	if err != nil {
		return store.Job{}, err
	}
	j.ID = newJobID(task.Name)
	return j, nil
}

// Created tells the engine that n jobs from Prepare were stored: they are counted as submitted and the queue is
// looked at now.
func (e *Engine) Created(n int) {
	if n <= 0 {
		return
	}
	e.metrics.submitted.Add(float64(n))
	for range n {
		e.kick()
	}
}

// MaxQueued is the most jobs one owner may have queued (Options.MaxQueuedPerOwner; 0: no limit), which a caller
// storing jobs from Prepare applies.
func (e *Engine) MaxQueued() int { return e.opts.MaxQueuedPerOwner }
