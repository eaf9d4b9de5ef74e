package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"github.com/runplane/runplane/internal/store"
)

// CreateCronJob stores a new cron job with a new ID; ErrConflict if the name is taken.
func (s *Store) CreateCronJob(ctx context.Context, c store.CronJob) (store.CronJob, error) {
	def, err := encodeCronJob(c)
	if err != nil {
		return store.CronJob{}, fmt.Errorf("sqlite: create cronjob %q: encode: %w", c.Name, err)
	}
	now := toNanos(s.now())
	id := uuid.NewString()
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertCronJob, c.Name, id, c.Owner, c.OwnerID, def, nullNanos(c.NextRun), now, now)
		return err
	}, insertCronJob)
	if isUnique(err) {
		return store.CronJob{}, conflictf("cronjob %q already exists", c.Name)
	}
	if err != nil {
		return store.CronJob{}, fmt.Errorf("sqlite: create cronjob %q: %w", c.Name, err)
	}
	return s.GetCronJob(ctx, c.Name)
}

// GetCronJob returns a cron job; ErrNotFound if absent.
func (s *Store) GetCronJob(ctx context.Context, name string) (store.CronJob, error) {
	return getOne(ctx, s.rs, scanCronJob, notFoundf("cronjob %q not found", name),
		fmt.Sprintf("sqlite: get cronjob %q", name), selectCronJobs+` WHERE name = ?`, name)
}

// ListCronJobs returns every cron job ordered by name; never nil.
func (s *Store) ListCronJobs(ctx context.Context) ([]store.CronJob, error) {
	return listAll(ctx, s.rs, scanCronJob, "sqlite: list cronjobs", selectCronJobs+` ORDER BY name`)
}

// UpdateCronJob replaces the definition, owner and next run of a cron job; ErrNotFound if absent.
func (s *Store) UpdateCronJob(ctx context.Context, c store.CronJob) (store.CronJob, error) {
	def, err := encodeCronJob(c)
	if err != nil {
		return store.CronJob{}, fmt.Errorf("sqlite: update cronjob %q: encode: %w", c.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(updateCronJob, c.Owner, c.OwnerID, def, nullNanos(c.NextRun), now, c.Name)
		return oneRow(res, err, "cronjob", c.Name)
	}, updateCronJob)
	if err != nil {
		return store.CronJob{}, wrap(err, "sqlite: update cronjob %q", c.Name)
	}
	return s.GetCronJob(ctx, c.Name)
}

// DeleteCronJob removes a cron job; ErrNotFound if absent.
func (s *Store) DeleteCronJob(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteCronJob, name)
		return oneRow(res, err, "cronjob", name)
	}, deleteCronJob)
	return wrap(err, "sqlite: delete cronjob %q", name)
}

// RecordCronFiring records a firing of cron job name with ID id, unless a scheduled time at or after its own was
// recorded first.
func (s *Store) RecordCronFiring(ctx context.Context, name, id string, f store.CronFiring) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(recordCronFiring, toNanos(f.Run), f.Job, f.Status, f.Message, nullNanos(f.NextRun),
			nullNanos(f.Scheduled), name, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		err = tx.queryRow(cronJobExists, name, id).Scan(&one)
		if err == sql.ErrNoRows {
			return notFoundf("cronjob %q not found", name)
		}
		return err
	}, recordCronFiring, cronJobExists)
	return wrap(err, "sqlite: record firing of cronjob %q", name)
}

const (
	selectCronJobs = `SELECT name, id, owner, owner_id, definition, next_run, last_run, last_job, last_status,
		last_message, scheduled, create_time, update_time FROM cronjobs`
	insertCronJob = `INSERT INTO cronjobs (name, id, owner, owner_id, definition, next_run, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	updateCronJob = `UPDATE cronjobs SET owner = ?, owner_id = ?, definition = ?, next_run = ?, update_time = ?
		WHERE name = ?`
	deleteCronJob = `DELETE FROM cronjobs WHERE name = ?`
	// A scheduled firing (?6 set) records only past the latest scheduled time recorded; one by hand always does.
	recordCronFiring = `UPDATE cronjobs SET last_run = ?1,
		last_job = CASE WHEN ?2 = '' THEN last_job ELSE ?2 END, last_status = ?3, last_message = ?4, next_run = ?5,
		scheduled = COALESCE(?6, scheduled)
		WHERE name = ?7 AND id = ?8 AND (?6 IS NULL OR scheduled IS NULL OR scheduled < ?6)`
	cronJobExists = `SELECT 1 FROM cronjobs WHERE name = ? AND id = ?`
)

// encodeCronJob is the stored definition: the cron job without its owner and read-only fields.
func encodeCronJob(c store.CronJob) (string, error) {
	def := c.CronJob
	def.Owner = ""
	def.ClearStatus()
	b, err := store.EncodeJSON(def)
	return string(b), err
}

func scanCronJob(row scanner) (store.CronJob, error) {
	var c store.CronJob
	var def string
	var next, last, scheduled sql.NullInt64
	var created, updated int64
	var owner, ownerID, lastJob, status, message string
	err := row.Scan(&c.Name, &c.ID, &owner, &ownerID, &def, &next, &last, &lastJob, &status, &message,
		&scheduled, &created, &updated)
	if err != nil {
		return store.CronJob{}, err
	}
	name, id := c.Name, c.ID
	if err := store.DecodeJSON([]byte(def), &c.CronJob); err != nil {
		return store.CronJob{}, fmt.Errorf("cronjob %q: decode: %w", name, err)
	}
	c.Name, c.ID, c.Owner, c.OwnerID = name, id, owner, ownerID
	c.CronJob.NextRun, c.LastRun, c.LastJob, c.LastStatus, c.LastMessage = fromNullNanos(next), fromNullNanos(last),
		lastJob, status, message
	c.Scheduled, c.CreateTime, c.UpdateTime = fromNullNanos(scheduled), fromNanos(created), fromNanos(updated)
	return c, nil
}

var _ store.CronJobs = (*Store)(nil)
