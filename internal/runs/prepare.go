package runs

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/internal/store"
)

// ErrNotPrepared: the run cannot be prepared to be stored in one write with its first steps' jobs (a job engine
// that does not prepare jobs, a full queue, a first decision that would cancel a job, a passing error while
// preparing one): Start it instead, which stores it and advances it the way it always could.
var ErrNotPrepared = errors.New("runs: the run cannot be prepared to store in one write")

// Prepared is a new run, decided as far as its first steps go, with their jobs (queued): not stored. Whoever
// stores it — with more, in one transaction: store.CloudEvents.CreateDispatchedEvent stores an event with the runs
// it starts — tells the engine what was stored with Stored.
type Prepared struct {
	store.RunWithJobs
	// MaxQueued is the cap on the owner's queued jobs to store the jobs under (0: none).
	MaxQueued int
	stored    func(run store.Run, created bool)
}

// Stored tells the engine that p was stored as run (created false: its idempotency key's earlier run stood for
// it, and p's jobs were not stored): the job engine looks at its queue, and the run's state is remembered.
func (p Prepared) Stored(run store.Run, created bool) {
	if p.stored != nil && created {
		p.stored(run, created)
	}
}

// Prepare checks r as Start does and returns its run as Start would store it — its first decisions applied, the
// jobs of the steps ready at once prepared — without storing anything. Errors: Start's, and ErrNotPrepared.
func (e *Engine) Prepare(ctx context.Context, r Request) (Prepared, error) {
	p, ok := e.jobs.(Preparer)
	if !ok {
		return Prepared{}, ErrNotPrepared
	}
	w, err := e.workflowOf(ctx, r)
	if err != nil {
		return Prepared{}, err
	}
	plan, run, err := e.newRun(w, r, nil)
	if err != nil {
		return Prepared{}, err
	}
	run.ID = newID(run.Workflow)
	e.plans.remember(run, plan)
	first, jobs, err := e.first(ctx, run, p)
	if errors.Is(err, errAlone) {
		return Prepared{}, fmt.Errorf("%w: %w", ErrNotPrepared, err)
	}
	if err != nil {
		return Prepared{}, err
	}
	n := len(jobs)
	return Prepared{RunWithJobs: store.RunWithJobs{Run: first, Jobs: jobs}, MaxQueued: p.MaxQueued(),
		stored: func(run store.Run, _ bool) { e.created(p, run, n) }}, nil
}
