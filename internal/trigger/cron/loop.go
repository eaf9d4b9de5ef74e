package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger"
)

// Store is what the loop reads and records; both store backends implement it.
type Store interface {
	ListCronJobs(ctx context.Context) ([]store.CronJob, error)
	GetCronJob(ctx context.Context, name string) (store.CronJob, error)
	RecordCronFiring(ctx context.Context, name, id string, f store.CronFiring) error
	GetJob(ctx context.Context, id string) (store.Job, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
}

// Firer fires a trigger as its owner; *trigger.Firer implements it.
type Firer interface {
	Fire(ctx context.Context, f trigger.Firing) (trigger.Fired, error)
}

// Auditor records the audit entries of refused firings; *audit.Log implements it.
type Auditor interface {
	Record(ctx context.Context, e api.AuditLog)
}

// Defaults for Options.
const (
	// DefaultResync is how often the loop reads the cron jobs again when nothing woke it: changes made through
	// another server sharing the store reach this one's loop within it.
	DefaultResync = 30 * time.Second
	// DefaultRetry is how soon a firing that failed for a passing reason (the store unreachable) is tried again.
	DefaultRetry = 5 * time.Second
)

// Options configure a Loop; the zero value works (no cancelling: Replace then acts as Allow).
type Options struct {
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Resync and Retry: 0 means DefaultResync and DefaultRetry.
	Resync, Retry time.Duration
	// CancelJob and CancelRun cancel the live job or run a Replace firing replaces; an already finished one is
	// not an error worth returning.
	CancelJob func(ctx context.Context, id string) error
	CancelRun func(ctx context.Context, id string) error
	// Audit, if set, records each refused firing.
	Audit Auditor
}

// Loop fires the cron jobs of a store at their scheduled times. Every server runs one; the idempotency key of a
// firing (the cron job's id and the time) makes each time start one job or run whichever servers fire it, and
// the store records each time's outcome once.
//
// At each wake-up, for each enabled cron job, the times due are those after the later of its last handled time
// and its last save, up to now; the latest of them fires, once (a server that was down fires a missed schedule
// once, not once per missed time), unless it is further in the past than starting_deadline: then it is recorded
// as skipped.
type Loop struct {
	st     Store
	firer  Firer
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
	resync time.Duration
	retry  time.Duration
}

// New returns a loop over st firing through f.
func New(st Store, f Firer, opts Options) *Loop {
	l := &Loop{st: st, firer: f, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		resync: opts.Resync, retry: opts.Retry}
	if l.opts.Now == nil {
		l.opts.Now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.resync <= 0 {
		l.resync = DefaultResync
	}
	if l.retry <= 0 {
		l.retry = DefaultRetry
	}
	return l
}

// Changed wakes the loop to read the cron jobs again: call it after creating, changing or deleting one. It never
// blocks.
func (l *Loop) Changed() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run fires cron jobs until ctx ends, then returns nil.
func (l *Loop) Run(ctx context.Context) error {
	for {
		wakeAt := l.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		t := time.NewTimer(wakeAt.Sub(l.opts.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-l.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// pass handles every cron job due now and returns when the next one is.
func (l *Loop) pass(ctx context.Context) time.Time {
	now := l.opts.Now()
	wakeAt := now.Add(l.resync)
	cjs, err := l.st.ListCronJobs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("list cron jobs", "err", err)
		}
		return now.Add(l.retry)
	}
	for _, c := range cjs {
		if c.Disable {
			continue
		}
		sch, err := Check(&c.CronJob)
		if err != nil {
			// Saved through the API, it was valid then: a time zone database that changed under it, say.
			l.log.Warn("cron job has an invalid schedule; not firing it", "cronjob", c.Name, "err", err)
			continue
		}
		base := c.UpdateTime
		if c.Scheduled != nil && c.Scheduled.After(base) {
			base = *c.Scheduled
		}
		if at, due := sch.Latest(base, now); due {
			if err := l.handle(ctx, c, sch, at, now); err != nil {
				if ctx.Err() != nil {
					return now
				}
				l.log.Warn("cron job firing failed; retrying", "cronjob", c.Name, "scheduled_time", at, "err", err)
				wakeAt = minTime(wakeAt, now.Add(l.retry))
				continue
			}
		}
		if next := sch.Next(now); !next.IsZero() {
			wakeAt = minTime(wakeAt, next)
		}
	}
	return wakeAt
}

// handle fires (or skips) cron job c for its scheduled time at. It returns an error only for a passing failure,
// after which the time is tried again; every other outcome is recorded on the cron job.
func (l *Loop) handle(ctx context.Context, c store.CronJob, sch Schedule, at, now time.Time) error {
	c, current, err := l.reread(ctx, c, at)
	if err != nil || !current {
		return err
	}
	rec := store.CronFiring{Scheduled: &at, Run: now, NextRun: timePtr(sch.Next(now))}
	late := now.Sub(at)
	switch {
	case c.StartingDeadline > 0 && late > time.Duration(c.StartingDeadline):
		rec.Status = api.CronSkipped
		rec.Message = fmt.Sprintf("missed: the time %s came %s ago, past the starting deadline of %s",
			at.Format(time.RFC3339), late.Round(time.Second), time.Duration(c.StartingDeadline))
	default:
		skip, err := l.applyPolicy(ctx, c, at)
		if err != nil {
			return err
		}
		if skip != "" {
			rec.Status, rec.Message = api.CronSkipped, skip
			break
		}
		key := "scheduled:" + at.UTC().Format(time.RFC3339Nano)
		if _, err := l.fire(ctx, c, key, at, &rec); passing(err) {
			return err
		}
	}
	return l.record(ctx, c, rec)
}

// reread reads c again just before it fires for at: the list was read when the pass began, and another server
// may have disabled, changed, deleted or fired it since. It returns the cron job as stored and whether at
// is still to be handled with it.
func (l *Loop) reread(ctx context.Context, c store.CronJob, at time.Time) (store.CronJob, bool, error) {
	fresh, err := l.st.GetCronJob(ctx, c.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c, false, nil
	case err != nil:
		return c, false, err
	case fresh.ID != c.ID || fresh.Disable || fresh.Schedule != c.Schedule || fresh.Timezone != c.Timezone:
		// Another cron job now, or another schedule: the next pass computes its times.
		l.Changed()
		return c, false, nil
	case !at.After(fresh.UpdateTime) || (fresh.Scheduled != nil && !at.After(*fresh.Scheduled)):
		return c, false, nil
	}
	return fresh, true, nil
}

// applyPolicy applies c's concurrency policy to its previous job or run: the reason to skip this time, if any.
func (l *Loop) applyPolicy(ctx context.Context, c store.CronJob, at time.Time) (string, error) {
	policy := c.ConcurrencyPolicy
	if c.LastJob == "" || policy == "" || policy == api.ConcurrencyAllow {
		return "", nil
	}
	live, prev, err := l.live(ctx, c)
	if err != nil || !live || (prev != nil && prev.Equal(at)) {
		// prev == at: that job is this very time's, fired by another server; firing again finds it.
		return "", err
	}
	if policy == api.ConcurrencyForbid {
		return fmt.Sprintf("concurrency_policy Forbid: %s is still running", c.LastJob), nil
	}
	cancel := l.opts.CancelJob
	if c.Workflow != "" {
		cancel = l.opts.CancelRun
	}
	if cancel != nil {
		if err := cancel(ctx, c.LastJob); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("replace %s: %w", c.LastJob, err)
		}
	}
	return "", nil
}

// live tells whether c's last job (or run) is still live, and the scheduled time it was fired for.
func (l *Loop) live(ctx context.Context, c store.CronJob) (bool, *time.Time, error) {
	var (
		final bool
		trig  *api.Trigger
		err   error
	)
	if c.Workflow != "" {
		var r store.Run
		if r, err = l.st.GetRun(ctx, c.LastJob); err == nil {
			final, trig = r.Status.Final(), r.Trigger
		}
	} else {
		var j store.Job
		if j, err = l.st.GetJob(ctx, c.LastJob); err == nil {
			final, trig = j.Status.Final(), j.Trigger
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	var at *time.Time
	if trig != nil {
		at = trig.ScheduledTime
	}
	return !final, at, nil
}

// fire fires c with key for time at, fills rec with the outcome and returns what the Firer returned. After an
// error that may pass (see passing), rec is not to be recorded: the time is tried again.
func (l *Loop) fire(ctx context.Context, c store.CronJob, key string, at time.Time, rec *store.CronFiring) (trigger.Fired, error) {
	at = at.UTC()
	fired, err := l.firer.Fire(ctx, trigger.Firing{
		Target:    trigger.Target{Task: c.Task, Workflow: c.Workflow},
		OwnerID:   c.OwnerID,
		TriggerID: c.ID,
		Key:       key,
		Input:     c.ExtraVars,
		Trigger:   api.Trigger{Kind: api.TriggerCron, Name: c.Name, ScheduledTime: &at},
	})
	switch {
	case err == nil:
		rec.Status, rec.Job = api.CronFired, fired.Job+fired.Run
		if fired.Created {
			l.log.Info("cron job fired", "cronjob", c.Name, "scheduled_time", at, "job", rec.Job, "owner", fired.Owner)
		} else {
			l.log.Debug("cron job firing found its job", "cronjob", c.Name, "scheduled_time", at, "job", rec.Job)
		}
	case passing(err):
	case errors.Is(err, trigger.ErrSkipped):
		// A workflow trigger's when, false at this time.
		rec.Status, rec.Message = api.CronSkipped, err.Error()
	case errors.Is(err, trigger.ErrRefused):
		rec.Status, rec.Message = api.CronRefused, err.Error()
		l.log.Warn("cron job firing refused; nothing ran", "cronjob", c.Name, "scheduled_time", at, "err", err)
		// Audited when it starts being refused, not at every time after (a refused cron job of every second).
		if l.opts.Audit != nil && c.LastStatus != api.CronRefused {
			l.opts.Audit.Record(ctx, api.AuditLog{UserID: c.OwnerID, Username: c.Owner, EventType: "run",
				EventCategory: api.ResourceCronJobs, EventTarget: c.Name, Status: api.AuditDenied,
				Reason: err.Error(), Source: "cron"})
		}
	default:
		rec.Status, rec.Message = api.CronFailed, err.Error()
		l.log.Warn("cron job firing failed; nothing ran", "cronjob", c.Name, "scheduled_time", at, "err", err)
	}
	return fired, err
}

// record stores rec on c; a cron job deleted or replaced meanwhile is not an error.
func (l *Loop) record(ctx context.Context, c store.CronJob, rec store.CronFiring) error {
	err := l.st.RecordCronFiring(ctx, c.Name, c.ID, rec)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// FireNow fires c at once, by hand (its concurrency policy does not apply), with a key of its own, and records
// the outcome. A refused firing returns an error wrapping trigger.ErrRefused; other errors are the Firer's.
func (l *Loop) FireNow(ctx context.Context, c store.CronJob) (trigger.Fired, error) {
	now := l.opts.Now()
	rec := store.CronFiring{Run: now, NextRun: c.NextRun}
	if sch, err := Check(&c.CronJob); err == nil && !c.Disable {
		rec.NextRun = timePtr(sch.Next(now))
	}
	fired, err := l.fire(ctx, c, "manual:"+uuid.NewString(), now, &rec)
	if passing(err) {
		return fired, err
	}
	if rerr := l.record(ctx, c, rec); rerr != nil {
		l.log.Warn("record cron job firing", "cronjob", c.Name, "err", rerr)
	}
	return fired, err
}

// passing tells whether err may go away if the same firing is tried again.
func passing(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
