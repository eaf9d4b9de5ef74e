package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

// CreateCronJob stores a new cron job with a new ID; ErrConflict if the name is taken.
func (s *Store) CreateCronJob(ctx context.Context, c store.CronJob) (store.CronJob, error) {
	def, err := encodeCronJob(c)
	if err != nil {
		return store.CronJob{}, fmt.Errorf("postgres: create cronjob %q: encode: %w", c.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO cronjobs (name, id, owner, owner_id, definition, next_run, create_time,
			update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			c.Name, uuid.NewString(), c.Owner, c.OwnerID, def, c.NextRun, s.now())
		return err
	})
	if violated(err) != "" {
		return store.CronJob{}, conflictf("cronjob %q already exists", c.Name)
	}
	if err != nil {
		return store.CronJob{}, wrap(err, "postgres: create cronjob %q", c.Name)
	}
	return s.GetCronJob(ctx, c.Name)
}

// GetCronJob returns a cron job; ErrNotFound if absent.
func (s *Store) GetCronJob(ctx context.Context, name string) (store.CronJob, error) {
	c, err := scanCronJob(s.pool.QueryRow(ctx, selectCronJobs+` WHERE name = $1`, name))
	if missing(err) {
		return store.CronJob{}, notFoundf("cronjob %q not found", name)
	}
	if err != nil {
		return store.CronJob{}, wrap(err, "postgres: get cronjob %q", name)
	}
	return c, nil
}

// ListCronJobs returns every cron job ordered by name; never nil.
func (s *Store) ListCronJobs(ctx context.Context) ([]store.CronJob, error) {
	rows, err := s.pool.Query(ctx, selectCronJobs+` ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list cronjobs")
	}
	cs, err := collect(rows, scanCronJob)
	if err != nil {
		return nil, wrap(err, "postgres: list cronjobs")
	}
	return cs, nil
}

// UpdateCronJob replaces the definition, owner and next run of a cron job; ErrNotFound if absent.
func (s *Store) UpdateCronJob(ctx context.Context, c store.CronJob) (store.CronJob, error) {
	if !textOK(c.Name) {
		return store.CronJob{}, notFoundf("cronjob %q not found", c.Name)
	}
	def, err := encodeCronJob(c)
	if err != nil {
		return store.CronJob{}, fmt.Errorf("postgres: update cronjob %q: encode: %w", c.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE cronjobs SET owner = $1, owner_id = $2, definition = $3, next_run = $4,
			update_time = $5 WHERE name = $6`, c.Owner, c.OwnerID, def, c.NextRun, s.now(), c.Name)
		return oneRow(tag, err, "cronjob", c.Name)
	})
	if err != nil {
		return store.CronJob{}, wrap(err, "postgres: update cronjob %q", c.Name)
	}
	return s.GetCronJob(ctx, c.Name)
}

// DeleteCronJob removes a cron job; ErrNotFound if absent.
func (s *Store) DeleteCronJob(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "cronjobs", "cronjob", name)
}

// RecordCronFiring records a firing of cron job name with ID id, unless a scheduled time at or after its own was
// recorded first. The condition is checked by the UPDATE itself, under the row's lock: of servers recording the
// same time, one matches.
func (s *Store) RecordCronFiring(ctx context.Context, name, id string, f store.CronFiring) error {
	if !textOK(name) || !textOK(id) {
		return notFoundf("cronjob %q not found", name)
	}
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE cronjobs SET last_run = $1,
			last_job = CASE WHEN $2 = '' THEN last_job ELSE $2 END, last_status = $3, last_message = $4,
			next_run = $5, scheduled = COALESCE($6, scheduled)
			WHERE name = $7 AND id = $8 AND ($6::timestamptz IS NULL OR scheduled IS NULL OR scheduled < $6)`,
			f.Run, f.Job, f.Status, f.Message, f.NextRun, f.Scheduled, name, id)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var one int
		err = q.QueryRow(ctx, `SELECT 1 FROM cronjobs WHERE name = $1 AND id = $2`, name, id).Scan(&one)
		if missing(err) {
			return notFoundf("cronjob %q not found", name)
		}
		return err
	})
	return wrap(err, "postgres: record firing of cronjob %q", name)
}

const selectCronJobs = `SELECT name, id, owner, owner_id, definition, next_run, last_run, last_job, last_status,
	last_message, scheduled, create_time, update_time FROM cronjobs`

// encodeCronJob is the stored definition: the cron job without its owner and read-only fields.
func encodeCronJob(c store.CronJob) (string, error) {
	def := c.CronJob
	def.Owner = ""
	def.ClearStatus()
	b, err := store.EncodeJSON(def)
	return string(b), err
}

func scanCronJob(row pgx.Row) (store.CronJob, error) {
	var c store.CronJob
	var def, name, id, owner, ownerID, lastJob, status, message string
	var next, last, scheduled *time.Time
	var created, updated time.Time
	err := row.Scan(&name, &id, &owner, &ownerID, &def, &next, &last, &lastJob, &status, &message, &scheduled,
		&created, &updated)
	if err != nil {
		return store.CronJob{}, err
	}
	if err := store.DecodeJSON([]byte(def), &c.CronJob); err != nil {
		return store.CronJob{}, fmt.Errorf("cronjob %q: decode: %w", name, err)
	}
	c.Name, c.ID, c.Owner, c.OwnerID = name, id, owner, ownerID
	c.NextRun, c.LastRun, c.LastJob, c.LastStatus, c.LastMessage = utc(next), utc(last), lastJob, status, message
	c.Scheduled, c.CreateTime, c.UpdateTime = utc(scheduled), created.UTC(), updated.UTC()
	return c, nil
}

var _ store.CronJobs = (*Store)(nil)
