package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const (
	// jobData are the columns of a job but its lease.
	jobData = `id, owner, task, status, create_time, start_time, completion_time, exit_code, reason, warnings,
	stdout, json_data, input, idempotency_key, handle, owner_id, run, step, inline, containers, metadata, trigger,
	input_files`
	jobCols = jobData + `, lease_owner, lease_until`
	// jobListCols are jobCols without a job's output, input, inline task and metadata, which ListJobs leaves
	// empty: a page of a thousand jobs of large logs would otherwise be read into memory whole.
	jobListCols = `id, owner, task, status, create_time, start_time, completion_time, exit_code, reason, warnings,
	''::bytea AS stdout, json_data, NULL::bytea AS input, idempotency_key, handle, owner_id, run, step,
	NULL::text AS inline, containers, NULL::text AS metadata, trigger, NULL::text AS input_files, lease_owner,
	lease_until`
)

// CreateJob stores j as queued (clearing its start and completion times, exit code, counters and lease; a zero
// CreateTime becomes now). With an IdempotencyKey the same OwnerID already used, it stores nothing and
// returns the earlier job with created false. ErrConflict if the id is taken, so the caller can retry with a new one.
//
// The key is enforced by a unique index, which the insert names as its ON CONFLICT arbiter: of two submissions
// with one key, in any replicas, the second waits for the first to commit and then inserts nothing. The insert
// publishes EventQueued for the row it inserts, if any, delivered when it commits.
func (s *Store) CreateJob(ctx context.Context, j store.Job) (store.Job, bool, error) {
	return s.CreateJobCapped(ctx, j, 0)
}

// CreateJobCapped is CreateJob refusing (ErrQueueFull) a job whose owner has maxQueued queued jobs already. With a
// cap, the count and the insert run in one transaction holding the owner's queue lock (see createJobCapped).
func (s *Store) CreateJobCapped(ctx context.Context, j store.Job, maxQueued int) (store.Job, bool, error) {
	if j.ID == "" {
		return store.Job{}, false, errors.New("postgres: create job: id is required")
	}
	j, args, err := s.newJobRow(j)
	if err != nil {
		return store.Job{}, false, err
	}
	store.SetAuditTarget(ctx, j.ID)
	if maxQueued > 0 {
		return s.createJobCapped(ctx, j, args, maxQueued)
	}
	var prev *store.Job
	err = s.change(ctx, func(q dbtx) error {
		if j.IdempotencyKey == "" {
			_, err := q.Exec(ctx, createJob, args...)
			return err
		}
		for {
			tag, err := q.Exec(ctx, createJobOnce, args...)
			if err != nil || tag.RowsAffected() == 1 {
				return err
			}
			// The key is taken by a committed job: a new statement's snapshot sees it. Jobs are never deleted, so
			// it is there, unless the store is being emptied by hand; then insert again.
			p, err := scanJob(q.QueryRow(ctx, lookupJobKey, j.OwnerID, j.IdempotencyKey))
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			prev = &p
			store.SetAuditTarget(ctx, p.ID)
			return nil
		}
	})
	switch {
	case err != nil:
		return store.Job{}, false, createJobError(j.ID, err)
	case prev != nil:
		return *prev, false, nil
	}
	return j, true, nil
}

// newJobRow is j as CreateJob stores it (queued, nothing run yet) and the arguments of createJob for it.
func (s *Store) newJobRow(j store.Job) (store.Job, []any, error) {
	j.Status = api.JobQueued
	j.StartTime, j.CompletionTime, j.ExitCode = nil, nil, nil
	j.Completed, j.Failed = 0, 0
	j.Lease = store.Lease{}
	j.Containers, j.Metadata = nil, nil
	j.CreateTime = storedTime(j.CreateTime, s.now())
	if len(j.Input) == 0 {
		j.Input = nil
	}
	if len(j.JSONData) == 0 {
		j.JSONData = nil
	}
	inline, err := store.EncodePtr(j.Inline)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("postgres: create job %q: encode inline task: %w", j.ID, err)
	}
	trigger, err := store.EncodePtr(j.Trigger)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("postgres: create job %q: encode trigger: %w", j.ID, err)
	}
	files, err := store.EncodeMap(j.InputFiles)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("postgres: create job %q: encode input files: %w", j.ID, err)
	}
	return j, []any{j.ID, j.Owner, j.Task, string(j.Status), j.CreateTime, j.Reason, nullStrings(j.Warnings),
		[]byte(j.Stdout), nullText(j.JSONData), nullBytes(j.Input), j.IdempotencyKey, j.Handle,
		eventPayload(store.EventQueued, j.ID), j.OwnerID, j.Run, j.Step, nullText(inline),
		nullText(trigger), nullText(files)}, nil
}

const (
	insertJob = `INSERT INTO jobs (id, owner, task, status, create_time, reason, warnings, stdout, json_data, input,
		idempotency_key, handle, owner_id, run, step, inline, trigger, input_files)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $16, $17, $18, $19)`
	// RETURNING runs for each row inserted, and none when ON CONFLICT skips it.
	notifyCreated = ` RETURNING pg_notify('` + eventChannel + `', $13)`
	createJob     = insertJob + notifyCreated
	// The conflict target names the partial unique index by its columns and predicate.
	createJobOnce = insertJob + ` ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key <> '' DO NOTHING` +
		notifyCreated
	lookupJobKey = `SELECT ` + jobCols + ` FROM jobs WHERE owner_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''`
	// The status term lets PostgreSQL use the partial index jobs_queued_by_owner.
	countQueuedOf = `SELECT count(*) FROM jobs WHERE owner = $1 AND status = 'queued'`
)

// queueLockClass is the first half of the two-part advisory lock key (a space apart from one-part keys such as
// catalogLock) that serializes the capped submissions of one owner; the second half is a hash of the owner.
const queueLockClass = 0x72756e71 // "runq"

// createJobCapped inserts j (args as CreateJob has them) unless its owner has maxQueued queued jobs. It holds the
// owner's queue lock until it commits: two replicas queuing for one owner at once count one after the other, so
// neither goes past the cap. An owner's idempotency key used before returns the earlier job before any count.
func (s *Store) createJobCapped(ctx context.Context, j store.Job, args []any, maxQueued int) (store.Job, bool, error) {
	var prev *store.Job
	pa := store.AuditFrom(ctx)
	audited := pa.Take()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(queueLockClass), j.Owner); err != nil {
			return err
		}
		if err := s.insertCapped(ctx, tx, j, args, maxQueued, &prev); err != nil || !audited {
			return err
		}
		return s.insertPendingAudit(ctx, tx, pa)
	})
	if audited {
		pa.Done(err == nil)
	}
	switch {
	case err != nil:
		return store.Job{}, false, createJobError(j.ID, err)
	case prev != nil:
		return *prev, false, nil
	}
	return j, true, nil
}

// insertCapped inserts j in tx, which holds its owner's queue lock, unless the owner has maxQueued queued jobs
// already or used j's idempotency key before (then *prev is that job).
func (s *Store) insertCapped(ctx context.Context, tx pgx.Tx, j store.Job, args []any, maxQueued int, prev **store.Job) error {
	for {
		if j.IdempotencyKey != "" {
			// Each statement sees what committed before it began: jobs of this owner queued under the lock too.
			p, err := scanJob(tx.QueryRow(ctx, lookupJobKey, j.OwnerID, j.IdempotencyKey))
			if err == nil {
				*prev = &p
				store.SetAuditTarget(ctx, p.ID)
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, countQueuedOf, j.Owner).Scan(&n); err != nil {
			return err
		}
		if n >= maxQueued {
			return fmt.Errorf("%w: owner %q has %d queued jobs, the most allowed", store.ErrQueueFull, j.Owner, n)
		}
		tag, err := tx.Exec(ctx, createJobOnce, args...)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		// The key was taken by a submission without a cap, which does not take the lock: look again.
	}
}

func createJobError(id string, err error) error {
	if errors.Is(err, store.ErrQueueFull) {
		return err
	}
	if violated(err) == "jobs_pkey" {
		return conflictf("job %q already exists", id)
	}
	return wrap(err, "postgres: create job %q", id)
}

// GetJob returns a job; ErrNotFound if absent.
func (s *Store) GetJob(ctx context.Context, id string) (store.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	if missing(err) {
		return store.Job{}, notFoundf("job %q not found", id)
	}
	if err != nil {
		return store.Job{}, wrap(err, "postgres: get job %q", id)
	}
	return j, nil
}

// ListJobs returns the jobs matching f newest first (by CreateTime, then id), without their Stdout and Input, and
// how many match f without its Limit and Offset. Both come from one statement, so from one snapshot. A negative Limit or Offset counts as
// zero.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, int, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, s := range f.Status {
			st[i] = string(s)
		}
		where = append(where, `status = ANY(`+arg(st)+`)`)
	}
	if f.Task != "" {
		if !textOK(f.Task) {
			return []store.Job{}, 0, nil // no job has such a task
		}
		// The task <> '' terms let PostgreSQL use the partial index jobs_by_task (it holds no job without a task).
		where = append(where, `task = `+arg(f.Task)+` AND task <> ''`)
	}
	if f.Run != "" {
		if !textOK(f.Run) {
			return []store.Job{}, 0, nil // no job has such a run
		}
		// The run <> '' term lets PostgreSQL use the partial index jobs_by_run.
		where = append(where, `run = `+arg(f.Run)+` AND run <> ''`)
	}
	if f.Tasks != nil {
		// An empty array matches nothing, as an empty Tasks must. Names no job can have are left out.
		tasks := []string{}
		for _, t := range f.Tasks {
			if textOK(t) {
				tasks = append(tasks, t)
			}
		}
		in := `task = ANY(` + arg(tasks) + `)`
		if !slices.Contains(tasks, "") {
			in += ` AND task <> ''`
		}
		where = append(where, in)
	}
	if f.Owner != "" {
		if !textOK(f.Owner) {
			return []store.Job{}, 0, nil // no job has such an owner
		}
		where = append(where, `owner = `+arg(f.Owner))
	}
	if !f.Since.IsZero() {
		where = append(where, `create_time >= `+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `create_time < `+arg(f.Until))
	}
	return page(ctx, s.pool, "jobs", "jobs", jobListCols, where, args, f.Limit, f.Offset,
		func(rows pgx.Rows, total *int) (store.Job, bool, error) {
			var id *string
			var j store.Job
			var r jobRow
			if err := rows.Scan(append([]any{total, &id}, r.dest(&j)[1:]...)...); err != nil || id == nil {
				return store.Job{}, false, err
			}
			j.ID = *id
			err := r.finish(&j)
			return j, err == nil, err
		})
}

// CountJobs counts jobs with the given status.
func (s *Store) CountJobs(ctx context.Context, status api.JobStatus) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE status = $1`, string(status)).Scan(&n); err != nil {
		return 0, wrap(err, "postgres: count %s jobs", status)
	}
	return n, nil
}

// nullStrings stores an empty list as NULL.
func nullStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

// counters are Kriten's completed and failed fields for a status.
func counters(s api.JobStatus) (completed, failed int) {
	switch s {
	case api.JobSucceeded:
		return 1, 0
	case api.JobFailed, api.JobCancelled:
		return 0, 1
	}
	return 0, 0
}

// jobRow holds the columns of jobCols that need converting after a scan. In a LEFT JOIN every column may be
// NULL, so the NOT NULL ones scan into pointers too.
type jobRow struct {
	owner, task, status, reason, key, handle, ownerID *string
	jsonData, leaseOwner, run, step                   *string
	inline, containers, metadata, trigger, files      *string
	created, leaseUntil                               *time.Time
	stdout                                            []byte
	exit                                              *int32
}

// dest returns the scan targets of jobCols, in order, filling j and r.
func (r *jobRow) dest(j *store.Job) []any {
	return []any{&j.ID, &r.owner, &r.task, &r.status, &r.created, &j.StartTime, &j.CompletionTime, &r.exit,
		&r.reason, &j.Warnings, &r.stdout, &r.jsonData, &j.Input, &r.key, &r.handle, &r.ownerID, &r.run, &r.step,
		&r.inline, &r.containers, &r.metadata, &r.trigger, &r.files, &r.leaseOwner, &r.leaseUntil}
}

// finish converts what dest scanned.
func (r *jobRow) finish(j *store.Job) error {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	j.Owner, j.Task, j.Status = deref(r.owner), deref(r.task), api.JobStatus(deref(r.status))
	j.Reason, j.IdempotencyKey, j.Handle, j.OwnerID = deref(r.reason), deref(r.key), deref(r.handle), deref(r.ownerID)
	j.Lease.Owner = deref(r.leaseOwner)
	j.Run, j.Step = deref(r.run), deref(r.step)
	if err := decodeJobJSON(j, r.inline, r.containers, r.metadata, r.trigger); err != nil {
		return err
	}
	if err := store.DecodeJSON(textBytes(r.files), &j.InputFiles); err != nil {
		return fmt.Errorf("job %q: decode input files: %w", j.ID, err)
	}
	if r.leaseUntil != nil {
		j.Lease.Until = r.leaseUntil.UTC()
	}
	j.Completed, j.Failed = counters(j.Status)
	if r.created != nil {
		j.CreateTime = r.created.UTC()
	}
	j.StartTime, j.CompletionTime = utc(j.StartTime), utc(j.CompletionTime)
	if r.exit != nil {
		code := int(*r.exit)
		j.ExitCode = &code
	}
	j.Stdout = string(r.stdout)
	if r.jsonData != nil {
		j.JSONData = json.RawMessage(*r.jsonData)
	}
	if len(j.Warnings) == 0 {
		j.Warnings = nil
	}
	return nil
}

// decodeJobJSON fills a job's inline task, container statuses, metadata and trigger from their columns.
func decodeJobJSON(j *store.Job, inline, containers, metadata, trigger *string) error {
	if err := store.DecodeJSON(textBytes(inline), &j.Inline); err != nil {
		return fmt.Errorf("job %q: decode inline task: %w", j.ID, err)
	}
	if err := store.DecodeJSON(textBytes(containers), &j.Containers); err != nil {
		return fmt.Errorf("job %q: decode containers: %w", j.ID, err)
	}
	if err := store.DecodeJSON(textBytes(metadata), &j.Metadata); err != nil {
		return fmt.Errorf("job %q: decode metadata: %w", j.ID, err)
	}
	if err := store.DecodeJSON(textBytes(trigger), &j.Trigger); err != nil {
		return fmt.Errorf("job %q: decode trigger: %w", j.ID, err)
	}
	return nil
}

func scanJob(row pgx.Row) (store.Job, error) {
	var j store.Job
	var r jobRow
	if err := row.Scan(r.dest(&j)...); err != nil {
		return store.Job{}, err
	}
	if err := r.finish(&j); err != nil {
		return store.Job{}, err
	}
	return j, nil
}
