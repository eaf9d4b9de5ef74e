package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// Preparer is a job engine that hands out a job without storing it (*jobs.Engine does): a new run is then stored
// with its first steps' jobs in one transaction. A Jobs without it (a wrapper) stores the run, then advances it.
type Preparer interface {
	// Prepare checks r and returns its job, queued, with a new id, unstored.
	Prepare(ctx context.Context, r jobs.Request) (store.Job, error)
	// Created is told how many prepared jobs were stored.
	Created(n int)
	// MaxQueued is the cap on one owner's queued jobs to store them under (0: none).
	MaxQueued() int
}

// errAlone: the run cannot be stored started; it is stored alone (queued) and advanced, as a run always was.
var errAlone = errors.New("runs: store the run alone, then advance it")

// createStarted stores run (new, every step pending or carried over, no id yet; plan its definition's) with its first decisions applied
// — the steps ready at once running, their jobs created in the same transaction (store.Runs.CreateRunWithJobs) —
// so that a run starts with one write, where storing it, each step's job and the run again took one each. It
// returns errAlone when that cannot be done (a full queue, a decision that would cancel a job, a passing error
// while preparing a job: the old way reports or retries them).
func (e *Engine) createStarted(ctx context.Context, run store.Run, plan *workflow.Plan, p Preparer) (store.Run, bool, error) {
	var err error
	for range 5 {
		run.ID = newID(run.Workflow)
		e.plans.remember(run, plan)
		first, jobs, ferr := e.first(ctx, run, p)
		if ferr != nil {
			return store.Run{}, false, ferr
		}
		var stored store.Run
		var created bool
		stored, created, err = e.st.CreateRunWithJobs(ctx, first, jobs, p.MaxQueued())
		switch {
		case errors.Is(err, store.ErrConflict):
			continue // an id taken: new ones
		case errors.Is(err, store.ErrQueueFull):
			return store.Run{}, false, errAlone
		case err != nil:
			return store.Run{}, false, err
		}
		if created {
			e.created(p, stored, len(jobs))
		}
		return stored, created, nil
	}
	return store.Run{}, false, err
}

// created is told that a run started with n jobs of p was stored, as stored.
func (e *Engine) created(p Preparer, stored store.Run, n int) {
	p.Created(n)
	e.states.remember(stored)
	if stored.Status.Final() {
		e.log.Info("run ended", "run", stored.ID, "workflow", stored.Workflow, "status", stored.Status)
		e.notify(stored.ID)
	}
}

// first applies to run, in memory, the decisions an advance would take and store one after another until none
// changes anything, preparing the jobs it submits; it returns the run as decided and those jobs.
func (e *Engine) first(ctx context.Context, run store.Run, p Preparer) (store.Run, []store.Job, error) {
	run.Steps = slices.Clone(run.Steps) // apply changes them in place: keep the caller's for a retry
	var prepared []store.Job
	submit := func(sub workflow.Submit) (string, error) {
		req, err := stepRequest(run, sub)
		if err != nil {
			return "", err
		}
		j, err := p.Prepare(ctx, req)
		if err != nil {
			return "", err
		}
		prepared = append(prepared, j)
		return j.ID, nil
	}
	cancels := false
	for range maxConflicts {
		next, changed, err := e.apply(run, nil, false, submit, func(string) { cancels = true })
		if err != nil || cancels {
			return store.Run{}, nil, errAlone
		}
		if !changed {
			return run, prepared, nil
		}
		run = next
		if run.Status.Final() {
			return run, prepared, nil
		}
	}
	return store.Run{}, nil, fmt.Errorf("%w: run %s still changing after %d decisions", errAlone, run.Workflow, maxConflicts)
}
