package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// ClaimJob moves the oldest queued job (by CreateTime, then id) to running with StartTime now and lease l, and
// returns it; ErrNotFound if none is queued.
//
// It is one UPDATE ... RETURNING statement in a write transaction, which holds the database's write lock: the
// choice and the change are atomic against every other connection and process. Two claims in one batch run one
// after the other on the writer's connection, so the second sees the first.
func (s *Store) ClaimJob(ctx context.Context, now time.Time, l store.Lease) (store.Job, error) {
	var j store.Job
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		j, err = scanJob(tx.queryRow(claimJob, toNanos(now), l.Owner, leaseUntil(l.Until)))
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("no job is queued")
		}
		return err
	}, claimJob)
	if err != nil {
		return store.Job{}, wrap(err, "sqlite: claim job")
	}
	return j, nil
}

// RenewLeases moves the lease of every running job l.Owner holds to l.Until and returns how many it renewed. An
// empty owner holds nothing: jobs without a lease stay without one.
func (s *Store) RenewLeases(ctx context.Context, l store.Lease) (int, error) {
	if l.Owner == "" {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(renewLeases, leaseUntil(l.Until), l.Owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}, renewLeases)
	if err != nil {
		return 0, fmt.Errorf("sqlite: renew leases of %q: %w", l.Owner, err)
	}
	return int(n), nil
}

// ClaimExpired gives one running job whose lease ended before now, or that has none (it was running before leases
// existed), the lease l, and returns the job as it was before, with its old lease; ErrNotFound if there is none.
//
// The look and the change are one write operation, so they hold the database's write lock together: no other
// claim, in any process, comes between them.
func (s *Store) ClaimExpired(ctx context.Context, now time.Time, l store.Lease) (store.Job, error) {
	var j store.Job
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		j, err = scanJob(tx.queryRow(expiredJob, clampedNanos(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("no running job has an expired lease")
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(setLease, l.Owner, leaseUntil(l.Until), j.ID)
		return err
	}, expiredJob, setLease)
	if err != nil {
		return store.Job{}, wrap(err, "sqlite: claim expired job")
	}
	return j, nil
}

// SetJobHandle records the executor handle of a running job; ErrConflict if the job is not running, ErrNotFound
// if absent.
func (s *Store) SetJobHandle(ctx context.Context, id, handle string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(setJobHandle, handle, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			return err
		}
		status, err := tx.jobStatus(id)
		if err != nil {
			return err
		}
		return conflictf("job %q is %s, not running", id, status)
	}, setJobHandle, jobStatus)
	return wrap(err, "sqlite: set handle of job %q", id)
}

// FinishJob moves a queued or running job to the final status f.Status, setting CompletionTime (f.Time, or now
// when zero), the counters, exit code, reason, warnings, stdout and json_data from f — replacing any earlier
// warnings. ErrConflict if the job already ended, ErrNotFound if absent.
func (s *Store) FinishJob(ctx context.Context, id string, f store.Finish) (store.Job, error) {
	if !f.Status.Final() {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: status %q is not final", id, f.Status)
	}
	if f.Time.IsZero() {
		f.Time = s.now()
	}
	warnings, err := encodeWarnings(f.Warnings)
	if err != nil {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: %w", id, err)
	}
	containers, err := store.EncodeList(f.Containers)
	if err != nil {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: encode containers: %w", id, err)
	}
	metadata, err := store.EncodePtr(f.Metadata)
	if err != nil {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: encode metadata: %w", id, err)
	}
	var exit sql.NullInt64
	if f.ExitCode != nil {
		exit = sql.NullInt64{Int64: int64(*f.ExitCode), Valid: true}
	}
	var j store.Job
	err = s.write(ctx, func(tx *wtx) error {
		// Only the columns FinishJob does not set come back: stdout may be a megabyte, which RETURNING would
		// buffer and copy out again while the batch holds the write lock.
		var started sql.NullInt64
		var created int64
		var inline, trigger sql.NullString
		err := tx.queryRow(finishJob, string(f.Status), toNanos(f.Time), exit, f.Reason, warnings, f.Stdout,
			nullText(f.JSONData), nullText(containers), nullText(metadata), id).Scan(&j.Owner, &j.Task, &created,
			&started, &j.Input, &j.IdempotencyKey, &j.Handle, &j.Run, &j.Step, &inline, &trigger)
		if err == nil {
			j.CreateTime, j.StartTime = fromNanos(created), fromNullNanos(started)
			j.ID = id
			return decodeJobJSON(&j, inline, sql.NullString{}, sql.NullString{}, trigger)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		status, err := tx.jobStatus(id)
		if err != nil {
			return err
		}
		return conflictf("job %q already %s", id, status)
	}, finishJob, jobStatus)
	if err != nil {
		return store.Job{}, wrap(err, "sqlite: finish job %q", id)
	}
	// The rest is f, as it reads back from its columns.
	done := fromNanos(toNanos(f.Time))
	j.ID, j.Status, j.CompletionTime, j.ExitCode = id, f.Status, &done, fromNullInt(exit)
	j.Completed, j.Failed = counters(f.Status)
	j.Reason, j.Stdout = f.Reason, f.Stdout
	if len(f.Warnings) > 0 {
		j.Warnings = slices.Clone(f.Warnings)
	}
	if len(f.JSONData) > 0 {
		j.JSONData = slices.Clone(f.JSONData)
	}
	// As they read back: decoded from what was stored.
	if err := store.DecodeJSON(containers, &j.Containers); err != nil {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: decode containers: %w", id, err)
	}
	if err := store.DecodeJSON(metadata, &j.Metadata); err != nil {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: decode metadata: %w", id, err)
	}
	return j, nil
}

const (
	// The subquery yields the rowid, which the status index holds: no lookup by id in the primary key index.
	claimJob = `UPDATE jobs SET status = 'running', start_time = ?, lease_owner = ?, lease_until = ?
		WHERE rowid = (SELECT rowid FROM jobs WHERE status = 'queued' ORDER BY create_time, id LIMIT 1)
		RETURNING ` + jobCols
	// On the index of running jobs by owner.
	renewLeases = `UPDATE jobs SET lease_until = ? WHERE status = 'running' AND lease_owner = ?`
	// The running job whose lease ends first, NULLs first, is expired if any is. The subquery reads one entry of
	// the lease index; with the test of its lease in the same WHERE, SQLite would pick the status index and sort.
	expiredJob = `SELECT ` + jobCols + ` FROM jobs
		WHERE rowid = (SELECT rowid FROM jobs WHERE status = 'running' ORDER BY lease_until LIMIT 1)
			AND (lease_until IS NULL OR lease_until < ?)`
	setLease     = `UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ?`
	setJobHandle = `UPDATE jobs SET handle = ? WHERE id = ? AND status = 'running'`
	// An ended job holds no lease.
	finishJob = `UPDATE jobs
		SET status = ?, completion_time = ?, exit_code = ?, reason = ?, warnings = ?, stdout = ?, json_data = ?,
			containers = ?, metadata = ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND status IN ('queued', 'running')
		RETURNING owner, task, create_time, start_time, input, idempotency_key, handle, run, step, inline, trigger`
	jobStatus = `SELECT status FROM jobs WHERE id = ?`
)

// jobStatus explains why a conditional update matched no row; ErrNotFound if the job is absent. It reads in the
// batch's transaction, which sees the changes of the operations before it.
func (t *wtx) jobStatus(id string) (api.JobStatus, error) {
	var status string
	err := t.queryRow(jobStatus, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFoundf("job %q not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("get status: %w", err)
	}
	return api.JobStatus(status), nil
}
