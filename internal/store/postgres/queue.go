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

// ClaimJob moves the oldest queued job (by CreateTime, then id) to running with StartTime now and returns it;
// ErrNotFound if none is queued.
//
// It is one statement: the subquery locks the first queued row no other transaction holds (SKIP LOCKED) and the
// update moves it on. A row another claimer took meanwhile is either locked, so skipped, or no longer queued once
// its lock is released, so passed over: every replica gets a different job, and none waits for another.
func (s *Store) ClaimJob(ctx context.Context, now time.Time) (store.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, claimJob, stored(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, notFoundf("no job is queued")
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("postgres: claim job: %w", err)
	}
	return j, nil
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
// warnings. ErrConflict if the job already ended, ErrNotFound if absent.
func (s *Store) FinishJob(ctx context.Context, id string, f store.Finish) (store.Job, error) {
	if !f.Status.Final() {
		return store.Job{}, fmt.Errorf("postgres: finish job %q: status %q is not final", id, f.Status)
	}
	if !textOK(id) {
		return store.Job{}, notFoundf("job %q not found", id)
	}
	done := storedTime(f.Time, s.now())
	var exit *int32
	if f.ExitCode != nil {
		c := int32(*f.ExitCode)
		exit = &c
	}
	// Only the columns FinishJob does not set come back: stdout may be a megabyte, not worth sending back.
	j := store.Job{Job: api.Job{ID: id}}
	var owner, task, key, handle string
	var created time.Time
	err := s.pool.QueryRow(ctx, finishJob, string(f.Status), done, exit, f.Reason, nullStrings(f.Warnings),
		[]byte(f.Stdout), nullText(f.JSONData), id).Scan(&owner, &task, &created, &j.StartTime, &j.Input, &key, &handle)
	if errors.Is(err, pgx.ErrNoRows) {
		// The job is absent or already ended. A job's status never leaves a final one, so what this later read
		// sees is why.
		var status string
		err = s.pool.QueryRow(ctx, `SELECT status FROM jobs WHERE id = $1`, id).Scan(&status)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.Job{}, notFoundf("job %q not found", id)
		case err != nil:
			return store.Job{}, fmt.Errorf("postgres: finish job %q: get status: %w", id, err)
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
	return j, nil
}

const (
	// The scalar subquery runs once; its row lock is the claim. Ordered as the jobs_by_status index is.
	claimJob = `UPDATE jobs SET status = 'running', start_time = $1
		WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY create_time, id FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING ` + jobCols
	// The update touches every row it finds, so that the status it returns is the one it locked: a status read
	// by a second statement could already be another.
	setJobHandle = `UPDATE jobs SET handle = CASE WHEN status = 'running' THEN $1 ELSE handle END
		WHERE id = $2 RETURNING status`
	finishJob = `UPDATE jobs
		SET status = $1, completion_time = $2, exit_code = $3, reason = $4, warnings = $5, stdout = $6, json_data = $7
		WHERE id = $8 AND status IN ('queued', 'running')
		RETURNING owner, task, create_time, start_time, input, idempotency_key, handle`
)
