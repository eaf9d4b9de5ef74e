package client

import (
	"context"
	"errors"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListCronJobs returns every cron job the caller may read.
func (c *Client) ListCronJobs(ctx context.Context) ([]api.CronJob, error) {
	return getJSON[[]api.CronJob](ctx, c, "/cronjobs", nil)
}

// GetCronJob returns one cron job.
func (c *Client) GetCronJob(ctx context.Context, name string) (api.CronJob, error) {
	return getJSON[api.CronJob](ctx, c, "/cronjobs/"+seg(name), nil)
}

// CreateCronJob stores a new cron job owned by the caller (or by cj.Owner, which needs write access to that
// user); ErrConflict if the name is taken, ErrInvalid for a bad schedule, timezone or extra_vars or a target that
// does not exist, ErrForbidden if the caller may not start the target.
func (c *Client) CreateCronJob(ctx context.Context, cj api.CronJob) (api.CronJob, error) {
	return sendJSON[api.CronJob](ctx, c, http.MethodPost, "/cronjobs", cj)
}

// UpdateCronJob replaces the cron job named cj.Name (PUT); what it fired so far stays. Without cj.Owner the
// caller becomes its owner.
func (c *Client) UpdateCronJob(ctx context.Context, cj api.CronJob) (api.CronJob, error) {
	return sendJSON[api.CronJob](ctx, c, http.MethodPut, "/cronjobs/"+seg(cj.Name), cj)
}

// ApplyCronJob creates cj, or replaces the cron job of that name when it exists, and says whether it created it.
func (c *Client) ApplyCronJob(ctx context.Context, cj api.CronJob) (stored api.CronJob, created bool, err error) {
	stored, err = c.UpdateCronJob(ctx, cj)
	if !errors.Is(err, ErrNotFound) {
		return stored, false, err
	}
	stored, err = c.CreateCronJob(ctx, cj)
	return stored, err == nil, err
}

// DeleteCronJob deletes a cron job. The jobs it started stay.
func (c *Client) DeleteCronJob(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/cronjobs/" + seg(name)}, nil)
}

// TriggerCronJob fires a cron job now, as its owner, and returns the job (or, for a workflow, the run) it started.
// ErrForbidden when the caller may not start its target, or its owner may no longer.
func (c *Client) TriggerCronJob(ctx context.Context, name string) (api.JobCreated, error) {
	return sendJSON[api.JobCreated](ctx, c, http.MethodPost, "/cronjobs/"+seg(name)+"/trigger", nil)
}
