package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// ClaimJob moves the oldest queued job (by CreateTime, then id) to running with StartTime now and
// returns it; ErrNotFound if none is queued.
//
// It is one UPDATE ... RETURNING statement: SQLite takes the write lock before the statement's subquery reads,
// so the choice and the change are atomic against every other connection and process, with no round trips
// between them.
func (s *Store) ClaimJob(ctx context.Context, now time.Time) (store.Job, error) {
	j, err := scanJob(s.ws.queryRow(ctx, `UPDATE jobs SET status = 'running', start_time = ?
		WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY create_time, id LIMIT 1)
		RETURNING `+jobCols, toNanos(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, notFoundf("no job is queued")
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("sqlite: claim job: %w", err)
	}
	return j, nil
}

// SetJobHandle records the executor handle of a running job; ErrConflict if the job is not running, ErrNotFound
// if absent.
func (s *Store) SetJobHandle(ctx context.Context, id, handle string) error {
	res, err := s.ws.exec(ctx, `UPDATE jobs SET handle = ? WHERE id = ? AND status = 'running'`, handle, id)
	if err != nil {
		return fmt.Errorf("sqlite: set handle of job %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: set handle of job %q: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	status, err := s.jobStatus(ctx, id)
	if err != nil {
		return err
	}
	return conflictf("job %q is %s, not running", id, status)
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
	var exit sql.NullInt64
	if f.ExitCode != nil {
		exit = sql.NullInt64{Int64: int64(*f.ExitCode), Valid: true}
	}
	j, err := scanJob(s.ws.queryRow(ctx, `UPDATE jobs
		SET status = ?, completion_time = ?, exit_code = ?, reason = ?, warnings = ?, stdout = ?, json_data = ?
		WHERE id = ? AND status IN ('queued', 'running')
		RETURNING `+jobCols,
		string(f.Status), toNanos(f.Time), exit, f.Reason, warnings, f.Stdout, nullText(f.JSONData), id))
	if err == nil {
		return j, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, fmt.Errorf("sqlite: finish job %q: %w", id, err)
	}
	status, err := s.jobStatus(ctx, id)
	if err != nil {
		return store.Job{}, err
	}
	return store.Job{}, conflictf("job %q already %s", id, status)
}

// jobStatus explains why a conditional update matched no row; ErrNotFound if the job is absent.
func (s *Store) jobStatus(ctx context.Context, id string) (api.JobStatus, error) {
	var status string
	err := s.rs.queryRow(ctx, `SELECT status FROM jobs WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFoundf("job %q not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: get job %q: %w", id, err)
	}
	return api.JobStatus(status), nil
}
