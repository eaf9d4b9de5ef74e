package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// ClaimJob moves the oldest queued job (by CreateTime, then id) to running with StartTime now and lease l, and
// returns it; ErrNotFound if none is queued.
//
// It is one statement: the subquery locks the first queued row no other transaction holds (SKIP LOCKED) and the
// update moves it on. A row another claimer took meanwhile is either locked, so skipped, or no longer queued once
// its lock is released, so passed over: every replica gets a different job, and none waits for another.
func (s *Store) ClaimJob(ctx context.Context, now time.Time, l store.Lease) (store.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, claimJob, stored(now), l.Owner, leaseUntil(l.Until)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, notFoundf("no job is queued")
	}
	if err != nil {
		return store.Job{}, wrap(err, "postgres: claim job")
	}
	return j, nil
}

// RenewLeases moves the lease of every running job l.Owner holds to l.Until and returns how many it renewed. An
// empty owner holds nothing: jobs without a lease stay without one.
func (s *Store) RenewLeases(ctx context.Context, l store.Lease) (int, error) {
	if l.Owner == "" || !textOK(l.Owner) {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, renewLeases, leaseUntil(l.Until), l.Owner)
	if err != nil {
		return 0, wrap(err, "postgres: renew leases of %q", l.Owner)
	}
	return int(tag.RowsAffected()), nil
}

// ClaimExpired gives one running job whose lease ended before now, or that has none (it was running before leases
// were kept), the lease l, and returns the job as it was before, with its old lease; ErrNotFound if there is none.
//
// It is one statement, exactly-once as ClaimJob is: the CTE locks an expired row no other transaction holds
// (SKIP LOCKED). A row another claimer took meanwhile is either still locked, so skipped, or rechecked in its
// committed version when locked, and passed over since its new lease has not ended.
func (s *Store) ClaimExpired(ctx context.Context, now time.Time, l store.Lease) (store.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, claimExpired, stored(now), l.Owner, leaseUntil(l.Until)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, notFoundf("no running job has an expired lease")
	}
	if err != nil {
		return store.Job{}, wrap(err, "postgres: claim expired job")
	}
	return j, nil
}

// leaseUntil stores a lease's end; the zero time, no lease, is NULL.
func leaseUntil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = stored(t)
	return &t
}

// SetJobHandle records the executor handle of a running job; ErrConflict if the job is not running, ErrNotFound
// if absent.
//
// One statement decides and tells why: it locks the row whatever its status, changes the handle only if the job
// is running, and returns the status it saw.
func (s *Store) SetJobHandle(ctx context.Context, id, handle string) error {
	if !textOK(id) {
		return notFoundf("job %q not found", id)
	}
	var status string
	err := s.pool.QueryRow(ctx, setJobHandle, handle, id).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return notFoundf("job %q not found", id)
	case err != nil:
		return wrap(err, "postgres: set handle of job %q", id)
	case status != string(api.JobRunning):
		return conflictf("job %q is %s, not running", id, status)
	}
	return nil
}

// FinishJob moves a queued or running job to the final status f.Status, setting CompletionTime (f.Time, or now
// when zero), the counters, exit code, reason, warnings, stdout and json_data from f — replacing any earlier
// warnings — and clearing its lease. ErrConflict if the job already ended, ErrNotFound if absent. The update
// publishes EventFinished, delivered when it commits.
func (s *Store) FinishJob(ctx context.Context, id string, f store.Finish) (store.Job, error) {
	if !f.Status.Final() {
		return store.Job{}, fmt.Errorf("postgres: finish job %q: status %q is not final", id, f.Status)
	}
	if !textOK(id) {
		return store.Job{}, notFoundf("job %q not found", id)
	}
	done := storedTime(f.Time, s.now())
	containers, err := store.EncodeList(f.Containers)
	if err != nil {
		return store.Job{}, fmt.Errorf("postgres: finish job %q: encode containers: %w", id, err)
	}
	metadata, err := store.EncodePtr(f.Metadata)
	if err != nil {
		return store.Job{}, fmt.Errorf("postgres: finish job %q: encode metadata: %w", id, err)
	}
	var exit *int32
	if f.ExitCode != nil {
		c := int32(*f.ExitCode)
		exit = &c
	}
	// Only the columns FinishJob does not set come back: stdout may be a megabyte, not worth sending back.
	j := store.Job{Job: api.Job{ID: id}}
	var owner, task, key, handle string
	var inline, trigger *string
	var created time.Time
	err = s.change(ctx, func(q dbtx) error {
		return q.QueryRow(ctx, finishJob, string(f.Status), done, exit, f.Reason, nullStrings(f.Warnings),
			[]byte(f.Stdout), nullText(f.JSONData), id, eventPayload(store.EventFinished, id), nullText(containers),
			nullText(metadata)).
			Scan(&owner, &task, &created, &j.StartTime, &j.Input, &key, &handle, &j.Run, &j.Step, &inline, &trigger, nil)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// The job is absent or already ended. A job's status never leaves a final one, so what this later read
		// sees is why.
		var status string
		err = s.pool.QueryRow(ctx, `SELECT status FROM jobs WHERE id = $1`, id).Scan(&status)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.Job{}, notFoundf("job %q not found", id)
		case err != nil:
			return store.Job{}, wrap(err, "postgres: finish job %q: get status", id)
		case api.JobStatus(status).Final():
			return store.Job{}, conflictf("job %q already %s", id, status)
		}
		// Created since the update looked: finishing it now would be a different request.
		return store.Job{}, notFoundf("job %q not found", id)
	}
	if err != nil {
		return store.Job{}, wrap(err, "postgres: finish job %q", id)
	}
	// The rest is f, as it reads back from its columns.
	j.Owner, j.Task, j.IdempotencyKey, j.Handle = owner, task, key, handle
	j.CreateTime, j.StartTime = created.UTC(), utc(j.StartTime)
	j.Status, j.CompletionTime = f.Status, &done
	if exit != nil {
		code := int(*exit)
		j.ExitCode = &code
	}
	j.Completed, j.Failed = counters(f.Status)
	j.Reason, j.Stdout = f.Reason, f.Stdout
	if len(f.Warnings) > 0 {
		j.Warnings = slices.Clone(f.Warnings)
	}
	if len(f.JSONData) > 0 {
		j.JSONData = slices.Clone(f.JSONData)
	}
	// As they read back: decoded from what was stored.
	if err := decodeJobJSON(&j, inline, nullText(containers), nullText(metadata), trigger); err != nil {
		return store.Job{}, fmt.Errorf("postgres: finish job %q: %w", id, err)
	}
	return j, nil
}

const (
	// The scalar subquery runs once; its row lock is the claim. Ordered as the jobs_by_status index is.
	claimJob = `UPDATE jobs SET status = 'running', start_time = $1, lease_owner = $2, lease_until = $3
		WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY create_time, id FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING ` + jobCols
	// On the index of running jobs by owner.
	renewLeases = `UPDATE jobs SET lease_until = $1 WHERE status = 'running' AND lease_owner = $2`
	// The lease that ended first goes first, read in the order of its index. RETURNING reads the new row, except
	// for the old lease, which comes from the CTE.
	claimExpired = `WITH old AS (
			SELECT id AS old_id, lease_owner AS old_owner, lease_until AS old_until FROM jobs
			WHERE status = 'running' AND (lease_until IS NULL OR lease_until < $1)
			ORDER BY lease_until NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE jobs SET lease_owner = $2, lease_until = $3 FROM old WHERE id = old_id
		RETURNING ` + jobData + `, old_owner, old_until`
	// The update touches every row it finds, so that the status it returns is the one it locked: a status read
	// by a second statement could already be another.
	setJobHandle = `UPDATE jobs SET handle = CASE WHEN status = 'running' THEN $1 ELSE handle END
		WHERE id = $2 RETURNING status`
	// An ended job holds no lease. RETURNING runs only if the row was updated.
	finishJob = `UPDATE jobs
		SET status = $1, completion_time = $2, exit_code = $3, reason = $4, warnings = $5, stdout = $6, json_data = $7,
			containers = $10, metadata = $11, lease_owner = '', lease_until = NULL
		WHERE id = $8 AND status IN ('queued', 'running')
		RETURNING owner, task, create_time, start_time, input, idempotency_key, handle, run, step, inline, trigger,
			pg_notify('` + eventChannel + `', $9)`
)
