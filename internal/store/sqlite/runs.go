package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const runCols = `id, workflow, owner, owner_id, idempotency_key, status, parameters, definition, steps, reason,
	create_time, start_time, completion_time, version, cancel_requested, trigger`

// runListCols are runCols without the definition, which ListRuns leaves empty.
const runListCols = `id, workflow, owner, owner_id, idempotency_key, status, parameters, '' AS definition, steps,
	reason, create_time, start_time, completion_time, version, cancel_requested, trigger`

// CreateRun stores r with Version 1 (an empty Status becomes queued, a zero CreateTime now) and returns it as
// stored. With an IdempotencyKey its OwnerID already used, it stores nothing and returns the earlier run with
// created false. ErrConflict if the id is taken.
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	if r.ID == "" {
		return store.Run{}, false, errors.New("sqlite: create run: id is required")
	}
	args, err := s.runArgs(r)
	if err != nil {
		return store.Run{}, false, err
	}
	var stored store.Run
	created := true
	store.SetAuditTarget(ctx, r.ID)
	err = s.write(ctx, func(tx *wtx) error {
		if r.IdempotencyKey != "" {
			p, err := scanRun(tx.queryRow(lookupRunKey, r.OwnerID, r.IdempotencyKey))
			if err == nil {
				stored, created = p, false
				store.SetAuditTarget(ctx, p.ID)
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var err error
		stored, err = scanRun(tx.queryRow(insertRun, args...))
		return err
	}, insertRun, lookupRunKey)
	if isUnique(err) {
		return store.Run{}, false, conflictf("run %q already exists", r.ID)
	}
	if err != nil {
		return store.Run{}, false, fmt.Errorf("sqlite: create run %q: %w", r.ID, err)
	}
	return stored, created, nil
}

// CreateRunWithJobs is CreateRun and the jobs of r's first steps in one write operation (one savepoint of a batch
// transaction): all of it or nothing.
func (s *Store) CreateRunWithJobs(ctx context.Context, r store.Run, jobs []store.Job, maxQueued int) (store.Run, bool, error) {
	n, err := s.newRunWithJobs(r, jobs)
	if err != nil {
		return store.Run{}, false, err
	}
	var stored store.Run
	created := true
	store.SetAuditTarget(ctx, r.ID)
	err = s.write(ctx, func(tx *wtx) error {
		var err error
		stored, created, err = tx.insertRunWithJobs(n, maxQueued)
		if err == nil && !created {
			store.SetAuditTarget(ctx, stored.ID)
		}
		return err
	}, insertRunOnly, lookupRunKey, insertJob, countQueuedOf)
	if err != nil {
		return store.Run{}, false, n.failed(err)
	}
	return stored, created, nil
}

// newRun is a run and its first jobs as the arguments of their inserts.
type newRun struct {
	run     store.Run
	args    []any
	jobs    []store.Job
	jobArgs [][]any
	job     string // the job being inserted, for a conflict's message
}

func (s *Store) newRunWithJobs(r store.Run, jobs []store.Job) (*newRun, error) {
	if r.ID == "" {
		return nil, errors.New("sqlite: create run: id is required")
	}
	r.CreateTime = storedTime(r.CreateTime, s.now())
	args, err := s.runArgs(r)
	if err != nil {
		return nil, err
	}
	n := &newRun{run: r, args: args, jobs: jobs, jobArgs: make([][]any, len(jobs))}
	for i, j := range jobs {
		if j.ID == "" {
			return nil, fmt.Errorf("sqlite: create run %q: a job's id is required", r.ID)
		}
		if _, n.jobArgs[i], err = s.newJobRow(j); err != nil {
			return nil, fmt.Errorf("sqlite: create run %q: %w", r.ID, err)
		}
	}
	return n, nil
}

// insertRunWithJobs inserts n's run and jobs unless its idempotency key is taken (then it returns that run,
// created false); an error wrapping ErrQueueFull if the jobs would take their owner past maxQueued (> 0).
//
// The insert comes first and the key is looked up only when it conflicts (a run that started with the key is
// rare; its look-up, on every insert, was a third of this operation's statements' cost): the outcome is that of
// a look-up first, also when the queue is full — the key's run answers before the cap refuses.
func (t *wtx) insertRunWithJobs(n *newRun, maxQueued int) (store.Run, bool, error) {
	r := n.run
	if maxQueued > 0 && len(n.jobs) > 0 {
		var q int
		if err := t.queryRow(countQueuedOf, r.Owner).Scan(&q); err != nil {
			return store.Run{}, false, err
		}
		if q+len(n.jobs) > maxQueued {
			if p, ok, err := t.runOfKey(r); ok || err != nil {
				return p, false, err
			}
			return store.Run{}, false, fmt.Errorf("%w: owner %q has %d queued jobs, the most allowed is %d", store.ErrQueueFull, r.Owner, q, maxQueued)
		}
	}
	// Inserted, the run is what scanRun would read back, built here: not decoded again.
	res, err := t.exec(insertRunOnly, n.args...)
	if err != nil {
		return store.Run{}, false, err
	}
	if inserted, err := res.RowsAffected(); err != nil || inserted == 0 {
		if err != nil {
			return store.Run{}, false, err
		}
		p, ok, err := t.runOfKey(r)
		if !ok && err == nil {
			err = fmt.Errorf("sqlite: run %q: its idempotency key conflicts, yet no run has it", r.ID)
		}
		return p, false, err
	}
	stored := asInserted(r)
	for i, a := range n.jobArgs {
		n.job = n.jobs[i].ID
		if _, err := t.exec(insertJob, a...); err != nil {
			return store.Run{}, false, err
		}
	}
	return stored, true, nil
}

// runOfKey returns the run stored with r's idempotency key; false if there is none (or r has no key).
func (t *wtx) runOfKey(r store.Run) (store.Run, bool, error) {
	if r.IdempotencyKey == "" {
		return store.Run{}, false, nil
	}
	p, err := scanRun(t.queryRow(lookupRunKey, r.OwnerID, r.IdempotencyKey))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, false, nil
	}
	return p, err == nil, err
}

// asInserted is r as insertRun stores it and scanRun reads it: version 1, an empty status queued, no parameters
// when empty, times in UTC at the nanosecond, never nil steps (a copy), no cancel request.
func asInserted(r store.Run) store.Run {
	if r.Status == "" {
		r.Status = api.RunQueued
	}
	if len(r.Parameters) == 0 {
		r.Parameters = nil
	}
	r.CreateTime = fromNanos(toNanos(r.CreateTime))
	r.StartTime, r.CompletionTime = fromNullNanos(nullNanos(r.StartTime)), fromNullNanos(nullNanos(r.CompletionTime))
	r.Steps = append([]api.StepRun{}, r.Steps...)
	r.Version, r.CancelRequested = 1, false
	return r
}

// failed is the error of storing n that failed with err.
func (n *newRun) failed(err error) error {
	switch {
	case errors.Is(err, store.ErrQueueFull), errors.Is(err, store.ErrRulesChanged):
		return err
	case isUnique(err) && n.job != "":
		return conflictf("job %q already exists", n.job)
	case isUnique(err):
		return conflictf("run %q already exists", n.run.ID)
	}
	return fmt.Errorf("sqlite: create run %q: %w", n.run.ID, err)
}

// runArgs are the arguments of insertRun for r (an empty Status as queued).
func (s *Store) runArgs(r store.Run) ([]any, error) {
	if r.Status == "" {
		r.Status = api.RunQueued
	}
	def, err := store.EncodeJSON(r.Definition)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create run %q: encode definition: %w", r.ID, err)
	}
	steps, err := encodeSteps(r.Steps)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create run %q: %w", r.ID, err)
	}
	trigger, err := store.EncodePtr(r.Trigger)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create run %q: encode trigger: %w", r.ID, err)
	}
	return []any{r.ID, r.Workflow, r.Owner, r.OwnerID, r.IdempotencyKey, string(r.Status), nullText(r.Parameters),
		string(def), steps, r.Reason, toNanos(storedTime(r.CreateTime, s.now())), nullNanos(r.StartTime),
		nullNanos(r.CompletionTime), nullText(trigger)}, nil
}

// GetRun returns a run; ErrNotFound if absent.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	return getOne(ctx, s.rs, scanRun, notFoundf("run %q not found", id), fmt.Sprintf("sqlite: get run %q", id),
		`SELECT `+runCols+` FROM runs WHERE id = ?`, id)
}

// GetRunState returns a run without its Definition.
func (s *Store) GetRunState(ctx context.Context, id string) (store.Run, error) {
	return getOne(ctx, s.rs, scanRun, notFoundf("run %q not found", id), fmt.Sprintf("sqlite: get run %q", id),
		`SELECT `+runListCols+` FROM runs WHERE id = ?`, id)
}

// ListRuns returns the runs matching f newest first (by CreateTime, then id), without their Definition, and how
// many match f without its Limit and Offset, from one snapshot.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, int, error) {
	var where []string
	var args []any
	if f.Workflow != "" {
		where = append(where, `workflow = ?`)
		args = append(args, f.Workflow)
	}
	if f.Workflows != nil {
		b, err := json.Marshal(f.Workflows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list runs: %w", err)
		}
		where = append(where, `workflow IN (SELECT value FROM json_each(?))`)
		args = append(args, string(b))
	}
	if len(f.Status) > 0 {
		where = append(where, `status IN (?`+strings.Repeat(`, ?`, len(f.Status)-1)+`)`)
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	if f.Owner != "" {
		where = append(where, `owner = ?`)
		args = append(args, f.Owner)
	}
	return page(ctx, s, "list runs", "runs", runListCols, where, args, f.Limit, f.Offset, scanRun)
}

// UpdateRun stores r's status, times, reason and steps if the run's version is still r.Version, and returns the
// run as stored with the next version; ErrConflict if another update came first, ErrNotFound if absent. The test
// of the version and the change are one statement in a write transaction, which holds the database's write lock.
func (s *Store) UpdateRun(ctx context.Context, r store.Run) (store.Run, error) {
	steps, err := encodeSteps(r.Steps)
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlite: update run %q: %w", r.ID, err)
	}
	var stored store.Run
	err = s.write(ctx, func(tx *wtx) error {
		var err error
		stored, err = scanRun(tx.queryRow(updateRun, string(r.Status), r.Reason, nullNanos(r.StartTime),
			nullNanos(r.CompletionTime), steps, r.CancelRequested, r.ID, r.Version))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var version int64
		err = tx.queryRow(runVersion, r.ID).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("run %q not found", r.ID)
		}
		if err != nil {
			return err
		}
		return conflictf("run %q was changed: it is at version %d, not %d", r.ID, version, r.Version)
	}, updateRun, runVersion)
	if err != nil {
		return store.Run{}, wrap(err, "sqlite: update run %q", r.ID)
	}
	return stored, nil
}

// SetRunValue stores (replaces) one value of a run's step, sealed if it is sensitive; ErrNotFound if the run is
// absent.
func (s *Store) SetRunValue(ctx context.Context, v store.RunValue) error {
	text, sealed, err := store.SealRunValue(s.cipher, v)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(setRunValue, v.Step, v.Kind, v.Name, text, nullBytes(sealed), v.Sensitive, now, v.Run)
		return oneRow(res, err, "run", v.Run)
	}, setRunValue)
	return wrap(err, "sqlite: set %s %q of run %q step %q", v.Kind, v.Name, v.Run, v.Step)
}

// RunValues returns every value of a run ordered by step, kind and name, opened; never nil.
func (s *Store) RunValues(ctx context.Context, run string) ([]store.RunValue, error) {
	return listAll(ctx, s.rs, s.scanRunValue, fmt.Sprintf("sqlite: values of run %q", run),
		`SELECT run, step, kind, name, value, value_enc, sensitive FROM run_values WHERE run = ?
		ORDER BY step, kind, name`, run)
}

const (
	insertRun = `INSERT INTO runs (id, workflow, owner, owner_id, idempotency_key, status, parameters, definition, steps,
		reason, create_time, start_time, completion_time, trigger, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
		RETURNING ` + runCols
	// A run whose idempotency key is taken is not inserted (no row affected); an id taken is still an error.
	insertRunOnly = `INSERT INTO runs (id, workflow, owner, owner_id, idempotency_key, status, parameters, definition,
		steps, reason, create_time, start_time, completion_time, trigger, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
		ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key != '' DO NOTHING`
	// The idempotency_key != '' term lets SQLite use the partial unique index.
	lookupRunKey = `SELECT ` + runCols + ` FROM runs
		WHERE owner_id = ? AND idempotency_key = ? AND idempotency_key != ''`
	updateRun = `UPDATE runs SET status = ?, reason = ?, start_time = ?, completion_time = ?, steps = ?,
			cancel_requested = ?, version = version + 1
		WHERE id = ? AND version = ?
		RETURNING ` + runCols
	runVersion = `SELECT version FROM runs WHERE id = ?`
	// The insert reads the run's row: no row, no insert, and the run is not found.
	setRunValue = `INSERT INTO run_values (run, step, kind, name, value, value_enc, sensitive, update_time)
		SELECT id, ?, ?, ?, ?, ?, ?, ? FROM runs WHERE id = ?
		ON CONFLICT (run, step, kind, name) DO UPDATE SET value = excluded.value, value_enc = excluded.value_enc,
			sensitive = excluded.sensitive, update_time = excluded.update_time`
)

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

func scanRun(row scanner) (store.Run, error) {
	var r store.Run
	var status, def, steps string
	var params, trigger sql.NullString
	var created int64
	var started, completed sql.NullInt64
	err := row.Scan(&r.ID, &r.Workflow, &r.Owner, &r.OwnerID, &r.IdempotencyKey, &status, &params, &def, &steps,
		&r.Reason, &created, &started, &completed, &r.Version, &r.CancelRequested, &trigger)
	if err != nil {
		return store.Run{}, err
	}
	r.Status = api.RunStatus(status)
	if params.Valid {
		r.Parameters = json.RawMessage(params.String)
	}
	r.CreateTime, r.StartTime, r.CompletionTime = fromNanos(created), fromNullNanos(started), fromNullNanos(completed)
	if err := store.DecodeJSON([]byte(def), &r.Definition); err != nil {
		return store.Run{}, fmt.Errorf("run %q: decode definition: %w", r.ID, err)
	}
	if err := store.DecodeJSON([]byte(steps), &r.Steps); err != nil {
		return store.Run{}, fmt.Errorf("run %q: decode steps: %w", r.ID, err)
	}
	if r.Steps == nil {
		r.Steps = []api.StepRun{}
	}
	if err := store.DecodeJSON([]byte(trigger.String), &r.Trigger); err != nil {
		return store.Run{}, fmt.Errorf("run %q: decode trigger: %w", r.ID, err)
	}
	return r, nil
}

func (s *Store) scanRunValue(row scanner) (store.RunValue, error) {
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
