package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/runplane/runplane/api"
)

// StartRun starts a run of workflow with params as its parameters (a JSON object; nil or empty for none). opts
// are a job submission's: Wait overrides the workflow's synchronous setting, IdempotencyKey makes a repeated start
// by the same caller return the first run. When the server waited and the run ended in time it answers with the
// whole run and finished is true; otherwise the returned run carries only ID, Workflow and Status. Parameters
// failing the workflow's schema are an *Error matching ErrInvalid.
func (c *Client) StartRun(ctx context.Context, workflow string, params []byte, opts SubmitOptions) (run api.Run, finished bool, err error) {
	r := request{method: http.MethodPost, path: "/workflows/" + seg(workflow) + "/runs", header: http.Header{}}
	if len(params) > 0 {
		r.body = params
	}
	if opts.Wait != nil {
		r.query = url.Values{"wait": {opts.Wait.String()}}
	}
	if opts.IdempotencyKey != "" {
		r.header.Set("Idempotency-Key", opts.IdempotencyKey)
	}
	return c.runAnswer(ctx, r, workflow)
}

// RerunRun starts a new run of run id's workflow with id's parameters: every step again, or with fromFailed only
// the steps that failed, were cancelled or skipped, reusing the outputs of those that succeeded. It returns the
// new run's ID and Status.
func (c *Client) RerunRun(ctx context.Context, id string, fromFailed bool) (api.Run, error) {
	r := request{method: http.MethodPost, path: "/runs/" + seg(id) + "/rerun"}
	if fromFailed {
		r.query = url.Values{"from": {"failed"}}
	}
	run, _, err := c.runAnswer(ctx, r, "")
	return run, err
}

// runAnswer performs a run submission and reads its answer: a whole run, or {"msg", "id", "status"}.
func (c *Client) runAnswer(ctx context.Context, r request, workflow string) (api.Run, bool, error) {
	var raw json.RawMessage
	if err := c.do(ctx, r, &raw); err != nil {
		return api.Run{}, false, err
	}
	var probe struct {
		Msg    *string       `json:"msg"`
		ID     string        `json:"id"`
		Status api.RunStatus `json:"status"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return api.Run{}, false, fmt.Errorf("POST %s: decode response: %w", r.path, err)
	}
	if probe.ID == "" {
		return api.Run{}, false, fmt.Errorf("POST %s: the server answered without a run id", r.path)
	}
	if probe.Msg != nil {
		return api.Run{ID: probe.ID, Workflow: workflow, Status: probe.Status}, false, nil
	}
	var run api.Run
	if err := json.Unmarshal(raw, &run); err != nil {
		return api.Run{}, false, fmt.Errorf("POST %s: decode response: %w", r.path, err)
	}
	return run, run.Status.Final(), nil
}

// GetRun returns one run with its steps, their jobs and outputs (sensitive ones masked).
func (c *Client) GetRun(ctx context.Context, id string) (api.Run, error) {
	return getJSON[api.Run](ctx, c, "/runs/"+seg(id), nil)
}

// WaitRun returns run id once it has ended, or as it stands when max (at most api.MaxSyncTimeout) has passed: the
// server holds the request until then, woken by the run's end.
func (c *Client) WaitRun(ctx context.Context, id string, max time.Duration) (api.Run, error) {
	return getJSON[api.Run](ctx, c, "/runs/"+seg(id), url.Values{"wait": {max.String()}})
}

// CancelRun asks a queued or running run to end: its running steps' jobs are cancelled and it ends cancelled. It
// returns the run as it stands. Cancelling a run that had already ended is ErrConflict.
func (c *Client) CancelRun(ctx context.Context, id string) (api.Run, error) {
	var out api.Run
	err := c.do(ctx, request{method: http.MethodPost, path: "/runs/" + seg(id) + "/cancel"}, &out)
	return out, err
}

// RunListOptions select and page runs. The zero value selects every run the caller may read.
type RunListOptions struct {
	Workflow string
	Status   []api.RunStatus // any of these
	Owner    string          // the starting user's name
	// Limit is the page size (0: the server's default, 100; at most 1000); Offset skips that many of the newest.
	Limit, Offset int
}

func (o RunListOptions) query() url.Values {
	q := url.Values{}
	setNonEmpty(q, "workflow", o.Workflow)
	setNonEmpty(q, "owner", o.Owner)
	for _, s := range o.Status {
		q.Add("status", string(s))
	}
	return pageQuery(q, time.Time{}, time.Time{}, o.Limit, o.Offset)
}

// ListRunsPage returns one page of the runs o selects, newest first, and how many o selects in all (-1 from a
// server that does not say).
func (c *Client) ListRunsPage(ctx context.Context, o RunListOptions) ([]api.Run, int, error) {
	return listPage[api.Run](ctx, c, "/runs", o.query())
}

// AllRuns returns every run o selects, newest first, paging through them o.Limit at a time (default 1000);
// o.Offset is ignored.
func (c *Client) AllRuns(ctx context.Context, o RunListOptions) ([]api.Run, error) {
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	return pageAll(o.Limit, func(r api.Run) string { return r.ID }, func(offset int) ([]api.Run, error) {
		o.Offset = offset
		rs, _, err := c.ListRunsPage(ctx, o)
		return rs, err
	})
}
