package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const jobCols = `id, owner, task, status, create_time, start_time, completion_time, exit_code, reason, warnings,
	stdout, json_data, input, idempotency_key, handle, owner_id, lease_owner, lease_until, run, step, inline, containers,
	metadata, trigger, input_files`

// jobListCols are jobCols without a job's output, input, inline task and metadata, which ListJobs leaves empty: a
// page of a thousand jobs of large logs would otherwise be read into memory whole.
const jobListCols = `id, owner, task, status, create_time, start_time, completion_time, exit_code, reason, warnings,
	'' AS stdout, json_data, NULL AS input, idempotency_key, handle, owner_id, lease_owner, lease_until, run, step,
	NULL AS inline, containers, NULL AS metadata, trigger, NULL AS input_files`

// CreateJob stores j as queued (clearing its start and completion times, exit code, counters and lease; a zero
// CreateTime becomes now). With an IdempotencyKey the same OwnerID already used, it stores nothing and
// returns the earlier job with created false. ErrConflict if the id is taken, so the caller can retry with a new one.
func (s *Store) CreateJob(ctx context.Context, j store.Job) (store.Job, bool, error) {
	return s.CreateJobCapped(ctx, j, 0)
}

// CreateJobCapped is CreateJob refusing (ErrQueueFull) a job whose owner has maxQueued queued jobs already. The count
// and the insert run in one write transaction, which holds the database's write lock.
func (s *Store) CreateJobCapped(ctx context.Context, j store.Job, maxQueued int) (store.Job, bool, error) {
	if j.ID == "" {
		return store.Job{}, false, errors.New("sqlite: create job: id is required")
	}
	j, args, err := s.newJobRow(j)
	if err != nil {
		return store.Job{}, false, err
	}
	// With a key, look up and insert in one operation: its batch holds the write lock, so two submissions with
	// one key cannot both insert.
	var prev *store.Job
	store.SetAuditTarget(ctx, j.ID)
	err = s.write(ctx, func(tx *wtx) error {
		if j.IdempotencyKey != "" {
			p, err := scanJob(tx.queryRow(lookupJobKey, j.OwnerID, j.IdempotencyKey))
			if err == nil {
				prev = &p
				store.SetAuditTarget(ctx, p.ID)
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if maxQueued > 0 {
			var n int
			if err := tx.queryRow(countQueuedOf, j.Owner).Scan(&n); err != nil {
				return err
			}
			if n >= maxQueued {
				return fmt.Errorf("%w: owner %q has %d queued jobs, the most allowed", store.ErrQueueFull, j.Owner, n)
			}
		}
		_, err := tx.exec(insertJob, args...)
		return err
	}, insertJob, lookupJobKey, countQueuedOf)
	switch {
	case err != nil:
		return store.Job{}, false, createJobError(j.ID, err)
	case prev != nil:
		return *prev, false, nil
	}
	return j, true, nil
}

// newJobRow is j as CreateJob stores it (queued, nothing run yet) and the arguments of insertJob for it.
func (s *Store) newJobRow(j store.Job) (store.Job, []any, error) {
	j.Status = api.JobQueued
	j.StartTime, j.CompletionTime, j.ExitCode = nil, nil, nil
	j.Completed, j.Failed = 0, 0
	j.Lease = store.Lease{}
	j.Containers, j.Metadata = nil, nil
	if j.CreateTime.IsZero() {
		j.CreateTime = s.now()
	}
	j.CreateTime = fromNanos(toNanos(j.CreateTime))
	if len(j.Input) == 0 {
		j.Input = nil
	}
	if len(j.JSONData) == 0 {
		j.JSONData = nil
	}
	warnings, err := encodeWarnings(j.Warnings)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("sqlite: create job %q: %w", j.ID, err)
	}
	inline, err := store.EncodePtr(j.Inline)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("sqlite: create job %q: encode inline task: %w", j.ID, err)
	}
	trigger, err := store.EncodePtr(j.Trigger)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("sqlite: create job %q: encode trigger: %w", j.ID, err)
	}
	files, err := store.EncodeMap(j.InputFiles)
	if err != nil {
		return store.Job{}, nil, fmt.Errorf("sqlite: create job %q: encode input files: %w", j.ID, err)
	}
	return j, []any{j.ID, j.Owner, j.Task, string(j.Status), toNanos(j.CreateTime), j.Reason, warnings, j.Stdout,
		nullText(j.JSONData), nullBytes(j.Input), j.IdempotencyKey, j.Handle, j.OwnerID, j.Run, j.Step, nullText(inline),
		nullText(trigger), nullText(files)}, nil
}

const (
	insertJob = `INSERT INTO jobs (id, owner, task, status, create_time, reason, warnings, stdout, json_data, input,
		idempotency_key, handle, owner_id, run, step, inline, trigger, input_files)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// The idempotency_key != '' term lets SQLite use the partial unique index.
	lookupJobKey = `SELECT ` + jobCols + ` FROM jobs
		WHERE owner_id = ? AND idempotency_key = ? AND idempotency_key != ''`
	// The status term lets SQLite use the partial index jobs_queued_by_owner.
	countQueuedOf = `SELECT count(*) FROM jobs WHERE owner = ? AND status = 'queued'`
)

func createJobError(id string, err error) error {
	if errors.Is(err, store.ErrQueueFull) {
		return err
	}
	if isUnique(err) {
		return conflictf("job %q already exists", id)
	}
	return fmt.Errorf("sqlite: create job %q: %w", id, err)
}

// GetJob returns a job; ErrNotFound if absent.
func (s *Store) GetJob(ctx context.Context, id string) (store.Job, error) {
	return getOne(ctx, s.rs, scanJob, notFoundf("job %q not found", id), fmt.Sprintf("sqlite: get job %q", id),
		`SELECT `+jobCols+` FROM jobs WHERE id = ?`, id)
}

// ListJobs returns the jobs matching f newest first (by CreateTime, then id), without their Stdout and Input, and
// how many match f without its Limit and Offset. Both come from one snapshot. A negative Limit or Offset counts as
// zero.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, int, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		where = append(where, `status IN (?`+strings.Repeat(`, ?`, len(f.Status)-1)+`)`)
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	if f.Task != "" {
		// The task != '' terms let SQLite use the partial index jobs_by_task (it holds no job without a task).
		where = append(where, `task = ? AND task != ''`)
		args = append(args, f.Task)
	}
	if f.Run != "" {
		// The run != '' term lets SQLite use the partial index jobs_by_run.
		where = append(where, `run = ? AND run != ''`)
		args = append(args, f.Run)
	}
	if f.Tasks != nil {
		// One JSON argument keeps the statement text (and its prepared statement) the same for any number of tasks.
		b, err := json.Marshal(f.Tasks)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list jobs: %w", err)
		}
		in := `task IN (SELECT value FROM json_each(?))`
		if !slices.Contains(f.Tasks, "") {
			in += ` AND task != ''`
		}
		where = append(where, in)
		args = append(args, string(b))
	}
	if f.Owner != "" {
		where = append(where, `owner = ?`)
		args = append(args, f.Owner)
	}
	if !f.Since.IsZero() {
		where = append(where, `create_time >= ?`)
		args = append(args, clampedNanos(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `create_time < ?`)
		args = append(args, clampedNanos(f.Until))
	}
	return page(ctx, s, "list jobs", "jobs", jobListCols, where, args, f.Limit, f.Offset, scanJob)
}

// CountJobs counts jobs with the given status.
func (s *Store) CountJobs(ctx context.Context, status api.JobStatus) (int, error) {
	var n int
	if err := s.rs.queryRow(ctx, `SELECT count(*) FROM jobs WHERE status = ?`, string(status)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count %s jobs: %w", status, err)
	}
	return n, nil
}

func encodeWarnings(w []string) (any, error) {
	if len(w) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode warnings: %w", err)
	}
	return string(b), nil
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

func fromNullInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	i := int(n.Int64)
	return &i
}

func scanJob(row scanner) (store.Job, error) {
	var j store.Job
	var status string
	var created int64
	var started, completed, exit, leaseUntil sql.NullInt64
	var warnings, jsonData, inline, containers, metadata, trigger, files sql.NullString
	err := row.Scan(&j.ID, &j.Owner, &j.Task, &status, &created, &started, &completed, &exit, &j.Reason,
		&warnings, &j.Stdout, &jsonData, &j.Input, &j.IdempotencyKey, &j.Handle, &j.OwnerID, &j.Lease.Owner,
		&leaseUntil, &j.Run, &j.Step, &inline, &containers, &metadata, &trigger, &files)
	if err != nil {
		return store.Job{}, err
	}
	if err := decodeJobJSON(&j, inline, containers, metadata, trigger); err != nil {
		return store.Job{}, err
	}
	if err := store.DecodeJSON([]byte(files.String), &j.InputFiles); err != nil {
		return store.Job{}, fmt.Errorf("job %q: decode input files: %w", j.ID, err)
	}
	j.Status = api.JobStatus(status)
	j.Completed, j.Failed = counters(j.Status)
	j.CreateTime = fromNanos(created)
	j.StartTime = fromNullNanos(started)
	j.CompletionTime = fromNullNanos(completed)
	j.ExitCode = fromNullInt(exit)
	if leaseUntil.Valid {
		j.Lease.Until = fromNanos(leaseUntil.Int64)
	}
	if warnings.Valid {
		if err := json.Unmarshal([]byte(warnings.String), &j.Warnings); err != nil {
			return store.Job{}, fmt.Errorf("job %q: decode warnings: %w", j.ID, err)
		}
	}
	if jsonData.Valid {
		j.JSONData = json.RawMessage(jsonData.String)
	}
	return j, nil
}

// decodeJobJSON fills a job's inline task, container statuses, metadata and trigger from their columns.
func decodeJobJSON(j *store.Job, inline, containers, metadata, trigger sql.NullString) error {
	if err := store.DecodeJSON([]byte(inline.String), &j.Inline); err != nil {
		return fmt.Errorf("job %q: decode inline task: %w", j.ID, err)
	}
	if err := store.DecodeJSON([]byte(containers.String), &j.Containers); err != nil {
		return fmt.Errorf("job %q: decode containers: %w", j.ID, err)
	}
	if err := store.DecodeJSON([]byte(metadata.String), &j.Metadata); err != nil {
		return fmt.Errorf("job %q: decode metadata: %w", j.ID, err)
	}
	if err := store.DecodeJSON([]byte(trigger.String), &j.Trigger); err != nil {
		return fmt.Errorf("job %q: decode trigger: %w", j.ID, err)
	}
	return nil
}
