package store

import (
	"context"
	"time"

	"github.com/runplane/runplane/api"
)

// CronJob is a cron job as stored: the API view (its read-only fields filled from the firing state) plus what
// the trigger loop needs.
type CronJob struct {
	api.CronJob
	// ID identifies this cron job for good (a later one of the same name gets another): it scopes the idempotency
	// keys of its firings. CreateCronJob assigns it.
	ID string
	// OwnerID is the id of the user the cron job runs as (Owner is that user's name).
	OwnerID string
	// Scheduled is the latest scheduled time handled (fired, skipped, refused or failed); nil before the first.
	Scheduled *time.Time
	// CreateTime and UpdateTime are set by the store; the loop fires no time at or before UpdateTime that the
	// schedule saved then did not have.
	CreateTime, UpdateTime time.Time
}

// CronFiring is what became of one firing of a cron job.
type CronFiring struct {
	// Scheduled is the scheduled time handled; nil for a firing by hand (POST /cronjobs/{id}/trigger).
	Scheduled *time.Time
	// Run is when it fired (LastRun); Job the job or run it started ("" keeps LastJob).
	Run time.Time
	Job string
	// NextRun is the next scheduled time; nil when there is none.
	NextRun *time.Time
	// Status is one of api.CronFired, CronSkipped, CronRefused, CronFailed; Message says why when not fired.
	Status, Message string
}

// CronJobs stores cron jobs by name.
type CronJobs interface {
	// CreateCronJob stores a new cron job with a new ID and returns it as stored; ErrConflict if the name is taken.
	// The caller validates it. Its read-only fields other than NextRun are ignored.
	CreateCronJob(ctx context.Context, c CronJob) (CronJob, error)
	// GetCronJob returns a cron job; ErrNotFound if absent.
	GetCronJob(ctx context.Context, name string) (CronJob, error)
	// ListCronJobs returns every cron job ordered by name; never nil.
	ListCronJobs(ctx context.Context) ([]CronJob, error)
	// UpdateCronJob replaces the definition, owner and NextRun of the cron job named c.Name and returns it as
	// stored; its ID, firing state (LastRun, LastJob, LastStatus, LastMessage, Scheduled) and CreateTime stay.
	// ErrNotFound if absent.
	UpdateCronJob(ctx context.Context, c CronJob) (CronJob, error)
	// DeleteCronJob removes a cron job; ErrNotFound if absent. The jobs it started stay.
	DeleteCronJob(ctx context.Context, name string) error
	// RecordCronFiring records a firing of the cron job name whose ID is id: ErrNotFound if there is no such cron
	// job (it was deleted, or replaced by another of the same name). A firing of a scheduled time at or before
	// the stored Scheduled changes nothing (another server recorded it, or a later one, first), so of several
	// servers recording the same time exactly one does, in any processes sharing the store.
	RecordCronFiring(ctx context.Context, name, id string, f CronFiring) error
}
