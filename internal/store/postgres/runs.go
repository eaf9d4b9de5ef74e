package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const (
	runCols = `id, workflow, owner, owner_id, idempotency_key, status, parameters, definition, steps, reason,
	create_time, start_time, completion_time, version, cancel_requested, trigger`
	// runListCols are runCols without the definition, which ListRuns leaves empty.
	runListCols = `id, workflow, owner, owner_id, idempotency_key, status, parameters, ''::text AS definition, steps,
	reason, create_time, start_time, completion_time, version, cancel_requested, trigger`
)

// CreateRun stores r with Version 1 (an empty Status becomes queued, a zero CreateTime now) and returns it as
// stored. With an IdempotencyKey its OwnerID already used, it stores nothing and returns the earlier run with
// created false. ErrConflict if the id is taken.
//
// The key is enforced by a unique index, the insert's ON CONFLICT arbiter: of two submissions with one key, in
// any replicas, the second waits for the first to commit and then inserts nothing.
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	if r.ID == "" {
		return store.Run{}, false, errors.New("postgres: create run: id is required")
	}
	args, err := s.runArgs(r)
	if err != nil {
		return store.Run{}, false, err
	}
	var stored store.Run
	created := true
	store.SetAuditTarget(ctx, r.ID)
	err = s.change(ctx, func(q dbtx) error {
		if r.IdempotencyKey == "" {
			var err error
			stored, err = scanRun(q.QueryRow(ctx, insertRun+` RETURNING `+runCols, args...))
			return err
		}
		for {
			run, err := scanRun(q.QueryRow(ctx, insertRunOnce, args...))
			if err == nil {
				stored = run
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// The key is taken by a committed run: a new statement's snapshot sees it. Runs are never deleted, so
			// it is there, unless the store is being emptied by hand; then insert again.
			p, err := scanRun(q.QueryRow(ctx, `SELECT `+runCols+` FROM runs
				WHERE owner_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''`, r.OwnerID, r.IdempotencyKey))
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			stored, created = p, false
			store.SetAuditTarget(ctx, p.ID)
			return nil
		}
	})
	if violated(err) == "runs_pkey" {
		return store.Run{}, false, conflictf("run %q already exists", r.ID)
	}
	if err != nil {
		return store.Run{}, false, wrap(err, "postgres: create run %q", r.ID)
	}
	return stored, created, nil
}

// CreateRunWithJobs is CreateRun and the jobs of r's first steps in one transaction: all of it or nothing. With
// maxQueued it holds the owner's queue lock (as CreateJobCapped does) from the count to the commit.
func (s *Store) CreateRunWithJobs(ctx context.Context, r store.Run, jobs []store.Job, maxQueued int) (store.Run, bool, error) {
	if r.ID == "" {
		return store.Run{}, false, errors.New("postgres: create run: id is required")
	}
	args, err := s.runArgs(r)
	if err != nil {
		return store.Run{}, false, err
	}
	jobArgs := make([][]any, len(jobs))
	for i, j := range jobs {
		if j.ID == "" {
			return store.Run{}, false, fmt.Errorf("postgres: create run %q: a job's id is required", r.ID)
		}
		if _, jobArgs[i], err = s.newJobRow(j); err != nil {
			return store.Run{}, false, fmt.Errorf("postgres: create run %q: %w", r.ID, err)
		}
	}
	var stored store.Run
	created := true
	store.SetAuditTarget(ctx, r.ID)
	pa := store.AuditFrom(ctx)
	audited := pa.Take()
	change := func(tx pgx.Tx) error {
		var err error
		if stored, created, err = insertRunWithJobs(ctx, tx, r, args, jobArgs, maxQueued); err != nil {
			return err
		}
		if !created {
			store.SetAuditTarget(ctx, stored.ID)
		}
		return s.auditIf(ctx, tx, audited, pa)
	}
	if s.dry != nil {
		err = pgx.BeginFunc(ctx, s.dry, change)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, change)
	}
	if audited {
		pa.Done(err == nil)
	}
	switch {
	case errors.Is(err, store.ErrQueueFull):
		return store.Run{}, false, err
	case violated(err) == "runs_pkey":
		return store.Run{}, false, conflictf("run %q already exists", r.ID)
	case violated(err) == "jobs_pkey":
		return store.Run{}, false, conflictf("a job of run %q already exists", r.ID)
	case err != nil:
		return store.Run{}, false, wrap(err, "postgres: create run %q", r.ID)
	}
	return stored, created, nil
}

// insertRunWithJobs inserts run r (args: runArgs) and its jobs (jobArgs: newJobRow's) in tx unless r's
// idempotency key is taken (then it returns that run, created false); an error wrapping ErrQueueFull if the jobs
// would take their owner past maxQueued (> 0).
func insertRunWithJobs(ctx context.Context, tx pgx.Tx, r store.Run, args []any, jobArgs [][]any, maxQueued int) (store.Run, bool, error) {
	if maxQueued > 0 && len(jobArgs) > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(queueLockClass), r.Owner); err != nil {
			return store.Run{}, false, err
		}
		var n int
		if err := tx.QueryRow(ctx, countQueuedOf, r.Owner).Scan(&n); err != nil {
			return store.Run{}, false, err
		}
		if n+len(jobArgs) > maxQueued {
			// The key's run, if there is one, answers first (as in SQLite): a retry is not refused for a full queue.
			if r.IdempotencyKey != "" {
				p, err := scanRun(tx.QueryRow(ctx, `SELECT `+runCols+` FROM runs
					WHERE owner_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''`, r.OwnerID, r.IdempotencyKey))
				if err == nil || !errors.Is(err, pgx.ErrNoRows) {
					return p, false, err
				}
			}
			return store.Run{}, false, fmt.Errorf("%w: owner %q has %d queued jobs, the most allowed is %d", store.ErrQueueFull, r.Owner, n, maxQueued)
		}
	}
	var stored store.Run
	for {
		if r.IdempotencyKey == "" {
			run, err := scanRun(tx.QueryRow(ctx, insertRun+` RETURNING `+runCols, args...))
			if err != nil {
				return store.Run{}, false, err
			}
			stored = run
			break
		}
		run, err := scanRun(tx.QueryRow(ctx, insertRunOnce, args...))
		if err == nil {
			stored = run
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Run{}, false, err
		}
		p, err := scanRun(tx.QueryRow(ctx, `SELECT `+runCols+` FROM runs
			WHERE owner_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''`, r.OwnerID, r.IdempotencyKey))
		if errors.Is(err, pgx.ErrNoRows) {
			continue // see CreateRun
		}
		if err != nil {
			return store.Run{}, false, err
		}
		return p, false, nil
	}
	for _, a := range jobArgs {
		if _, err := tx.Exec(ctx, createJob, a...); err != nil {
			return store.Run{}, false, err
		}
	}
	return stored, true, nil
}

// auditIf writes p's entry in tx when audited.
func (s *Store) auditIf(ctx context.Context, tx pgx.Tx, audited bool, p *store.PendingAudit) error {
	if !audited {
		return nil
	}
	return s.insertPendingAudit(ctx, tx, p)
}

// runArgs are the arguments of insertRun for r (an empty Status as queued).
func (s *Store) runArgs(r store.Run) ([]any, error) {
	if r.Status == "" {
		r.Status = api.RunQueued
	}
	def, err := store.EncodeJSON(r.Definition)
	if err != nil {
		return nil, fmt.Errorf("postgres: create run %q: encode definition: %w", r.ID, err)
	}
	steps, err := encodeSteps(r.Steps)
	if err != nil {
		return nil, fmt.Errorf("postgres: create run %q: %w", r.ID, err)
	}
	trigger, err := store.EncodePtr(r.Trigger)
	if err != nil {
		return nil, fmt.Errorf("postgres: create run %q: encode trigger: %w", r.ID, err)
	}
	return []any{r.ID, r.Workflow, r.Owner, r.OwnerID, r.IdempotencyKey, string(r.Status), nullText(r.Parameters),
		string(def), steps, r.Reason, storedTime(r.CreateTime, s.now()), r.StartTime, r.CompletionTime,
		nullText(trigger)}, nil
}

const (
	insertRun = `INSERT INTO runs (id, workflow, owner, owner_id, idempotency_key, status, parameters, definition,
		steps, reason, create_time, start_time, completion_time, trigger, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1)`
	// The conflict target names the partial unique index by its columns and predicate; RETURNING runs only for a
	// row inserted.
	insertRunOnce = insertRun + ` ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key <> '' DO NOTHING
		RETURNING ` + runCols
)

// GetRun returns a run; ErrNotFound if absent.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runCols+` FROM runs WHERE id = $1`, id))
	if missing(err) {
		return store.Run{}, notFoundf("run %q not found", id)
	}
	if err != nil {
		return store.Run{}, wrap(err, "postgres: get run %q", id)
	}
	return r, nil
}

// GetRunState returns a run without its Definition.
func (s *Store) GetRunState(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runListCols+` FROM runs WHERE id = $1`, id))
	if missing(err) {
		return store.Run{}, notFoundf("run %q not found", id)
	}
	if err != nil {
		return store.Run{}, wrap(err, "postgres: get run %q", id)
	}
	return r, nil
}

// ListRuns returns the runs matching f newest first (by CreateTime, then id), without their Definition, and how
// many match f without its Limit and Offset. Both come from one statement, so from one snapshot.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, int, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, t := range []string{f.Workflow, f.Owner} {
		if !textOK(t) {
			return []store.Run{}, 0, nil // no run holds such text
		}
	}
	if f.Workflow != "" {
		where = append(where, `workflow = `+arg(f.Workflow))
	}
	if f.Workflows != nil {
		// An empty array matches nothing, as an empty Workflows must. Names no run can have are left out.
		ws := []string{}
		for _, w := range f.Workflows {
			if textOK(w) {
				ws = append(ws, w)
			}
		}
		where = append(where, `workflow = ANY(`+arg(ws)+`)`)
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, s := range f.Status {
			st[i] = string(s)
		}
		where = append(where, `status = ANY(`+arg(st)+`)`)
	}
	if f.Owner != "" {
		where = append(where, `owner = `+arg(f.Owner))
	}
	return page(ctx, s.pool, "runs", "runs", runListCols, where, args, f.Limit, f.Offset,
		func(rows pgx.Rows, total *int) (store.Run, bool, error) {
			var r runRow
			if err := rows.Scan(append([]any{total}, r.dest()...)...); err != nil || r.id == nil {
				return store.Run{}, false, err
			}
			run, err := r.run()
			return run, err == nil, err
		})
}

// UpdateRun stores r's status, times, reason and steps if the run's version is still r.Version, and returns the
// run as stored with the next version; ErrConflict if another update came first, ErrNotFound if absent.
//
// It is one statement: of two replicas updating from one version, the second waits for the first's row lock,
// then finds the version changed (READ COMMITTED re-reads the row it waited for) and updates nothing.
func (s *Store) UpdateRun(ctx context.Context, r store.Run) (store.Run, error) {
	if !textOK(r.ID) {
		return store.Run{}, notFoundf("run %q not found", r.ID)
	}
	steps, err := encodeSteps(r.Steps)
	if err != nil {
		return store.Run{}, fmt.Errorf("postgres: update run %q: %w", r.ID, err)
	}
	var stored store.Run
	err = s.change(ctx, func(q dbtx) error {
		var err error
		stored, err = scanRun(q.QueryRow(ctx, `UPDATE runs
			SET status = $1, reason = $2, start_time = $3, completion_time = $4, steps = $5, cancel_requested = $8,
				version = version + 1
			WHERE id = $6 AND version = $7
			RETURNING `+runCols, string(r.Status), r.Reason, r.StartTime, r.CompletionTime, steps, r.ID, r.Version,
			r.CancelRequested))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// Runs are never deleted: what this later read sees is why.
		var version int64
		err = s.pool.QueryRow(ctx, `SELECT version FROM runs WHERE id = $1`, r.ID).Scan(&version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.Run{}, notFoundf("run %q not found", r.ID)
		case err != nil:
			return store.Run{}, wrap(err, "postgres: update run %q: get version", r.ID)
		}
		return store.Run{}, conflictf("run %q was changed: it is at version %d, not %d", r.ID, version, r.Version)
	}
	if err != nil {
		return store.Run{}, wrap(err, "postgres: update run %q", r.ID)
	}
	return stored, nil
}

// SetRunValue stores (replaces) one value of a run's step, sealed if it is sensitive; ErrNotFound if the run is
// absent.
func (s *Store) SetRunValue(ctx context.Context, v store.RunValue) error {
	if !textOK(v.Run) {
		return notFoundf("run %q not found", v.Run)
	}
	text, sealed, err := store.SealRunValue(s.cipher, v)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err = s.change(ctx, func(q dbtx) error {
		// The insert reads the run's row: no row, no insert, and the run is not found.
		tag, err := q.Exec(ctx, `INSERT INTO run_values (run, step, kind, name, value, value_enc, sensitive, update_time)
			SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM runs WHERE id = $1
			ON CONFLICT (run, step, kind, name) DO UPDATE SET value = excluded.value, value_enc = excluded.value_enc,
				sensitive = excluded.sensitive, update_time = excluded.update_time`,
			v.Run, v.Step, v.Kind, v.Name, text, nullBytes(sealed), v.Sensitive, s.now())
		return oneRow(tag, err, "run", v.Run)
	})
	return wrap(err, "postgres: set %s %q of run %q step %q", v.Kind, v.Name, v.Run, v.Step)
}

// RunValues returns every value of a run ordered by step, kind and name, opened; never nil.
func (s *Store) RunValues(ctx context.Context, run string) ([]store.RunValue, error) {
	if !textOK(run) {
		return []store.RunValue{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT run, step, kind, name, value, value_enc, sensitive FROM run_values
		WHERE run = $1 ORDER BY step, kind, name`, run)
	if err != nil {
		return nil, wrap(err, "postgres: values of run %q", run)
	}
	vs, err := collect(rows, s.scanRunValue)
	if err != nil {
		return nil, wrap(err, "postgres: values of run %q", run)
	}
	return vs, nil
}

func (s *Store) scanRunValue(row pgx.Row) (store.RunValue, error) {
	var v store.RunValue
	var text string
	var sealed []byte
	if err := row.Scan(&v.Run, &v.Step, &v.Kind, &v.Name, &text, &sealed, &v.Sensitive); err != nil {
		return store.RunValue{}, err
	}
	if err := store.OpenRunValue(s.cipher, &v, text, sealed); err != nil {
		return store.RunValue{}, err
	}
	return v, nil
}

// encodeSteps is the steps column: a JSON list, never null.
func encodeSteps(steps []api.StepRun) (string, error) {
	if steps == nil {
		steps = []api.StepRun{}
	}
	b, err := store.EncodeJSON(steps)
	if err != nil {
		return "", fmt.Errorf("encode steps: %w", err)
	}
	return string(b), nil
}

// runRow holds the columns of runCols as scanned. In a LEFT JOIN every column may be NULL, so all scan into
// pointers.
type runRow struct {
	id, workflow, owner, ownerID, key, status, params, def, steps, reason *string
	trigger                                                               *string
	created, started, completed                                           *time.Time
	version                                                               *int64
	cancel                                                                *bool
}

func (r *runRow) dest() []any {
	return []any{&r.id, &r.workflow, &r.owner, &r.ownerID, &r.key, &r.status, &r.params, &r.def, &r.steps, &r.reason,
		&r.created, &r.started, &r.completed, &r.version, &r.cancel, &r.trigger}
}

// run converts what dest scanned.
func (r *runRow) run() (store.Run, error) {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var run store.Run
	run.ID, run.Workflow, run.Owner, run.OwnerID = deref(r.id), deref(r.workflow), deref(r.owner), deref(r.ownerID)
	run.IdempotencyKey, run.Status, run.Reason = deref(r.key), api.RunStatus(deref(r.status)), deref(r.reason)
	if r.params != nil {
		run.Parameters = json.RawMessage(*r.params)
	}
	if r.created != nil {
		run.CreateTime = r.created.UTC()
	}
	run.StartTime, run.CompletionTime = utc(r.started), utc(r.completed)
	if r.version != nil {
		run.Version = *r.version
	}
	run.CancelRequested = r.cancel != nil && *r.cancel
	if err := store.DecodeJSON(textBytes(r.def), &run.Definition); err != nil {
		return store.Run{}, fmt.Errorf("run %q: decode definition: %w", run.ID, err)
	}
	if err := store.DecodeJSON(textBytes(r.steps), &run.Steps); err != nil {
		return store.Run{}, fmt.Errorf("run %q: decode steps: %w", run.ID, err)
	}
	if run.Steps == nil {
		run.Steps = []api.StepRun{}
	}
	if err := store.DecodeJSON(textBytes(r.trigger), &run.Trigger); err != nil {
		return store.Run{}, fmt.Errorf("run %q: decode trigger: %w", run.ID, err)
	}
	return run, nil
}

func scanRun(row pgx.Row) (store.Run, error) {
	var r runRow
	if err := row.Scan(r.dest()...); err != nil {
		return store.Run{}, err
	}
	return r.run()
}
