package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
)

// SubmitOptions tunes a job submission.
type SubmitOptions struct {
	// Wait, when set, is how long the server waits for the job before answering as async (?wait=), overriding
	// the task's synchronous setting. Nil leaves it to the task.
	Wait *time.Duration
	// IdempotencyKey, when set, makes a repeated submission by the same caller return the first job.
	IdempotencyKey string
}

// Submit starts a job of task with input as its body (EXTRA_VARS; nil or empty for none). When the server
// waited and the job ended in time it answers with the whole job and finished is true; otherwise the returned
// job carries only ID, Task and (from servers that say it) Status. Input failing the task's schema is an *Error matching ErrInvalid whose Fields
// name each failing path.
func (c *Client) Submit(ctx context.Context, task string, input []byte, opts SubmitOptions) (job api.Job, finished bool, err error) {
	return c.submit(ctx, "/jobs/"+seg(task), task, input, opts)
}

// Rerun starts a new job of job id's task with id's input (checked again against the task's schema), and answers
// as Submit does.
func (c *Client) Rerun(ctx context.Context, id string, opts SubmitOptions) (job api.Job, finished bool, err error) {
	return c.submit(ctx, "/jobs/"+seg(id)+"/rerun", "", nil, opts)
}

// submit posts a submission to path; task names the task in the answer when the server's does not.
func (c *Client) submit(ctx context.Context, path, task string, input []byte, opts SubmitOptions) (job api.Job, finished bool, err error) {
	r := request{method: http.MethodPost, path: path, header: http.Header{}}
	if len(input) > 0 {
		r.body = input
	}
	if opts.Wait != nil {
		r.query = url.Values{"wait": {opts.Wait.String()}}
	}
	if opts.IdempotencyKey != "" {
		r.header.Set("Idempotency-Key", opts.IdempotencyKey)
	}
	var raw json.RawMessage
	if err := c.do(ctx, r, &raw); err != nil {
		return api.Job{}, false, err
	}
	// The async answer is {"msg", "id"[, "status"]}; a full job has no msg.
	var probe struct {
		Msg    *string       `json:"msg"`
		ID     string        `json:"id"`
		Status api.JobStatus `json:"status"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return api.Job{}, false, fmt.Errorf("POST %s: decode response: %w", path, err)
	}
	if probe.ID == "" {
		return api.Job{}, false, fmt.Errorf("POST %s: the server answered without a job id", path)
	}
	if probe.Msg != nil {
		return api.Job{ID: probe.ID, Task: task, Status: probe.Status}, false, nil
	}
	if err := json.Unmarshal(raw, &job); err != nil {
		return api.Job{}, false, fmt.Errorf("POST %s: decode response: %w", path, err)
	}
	return job, job.Status.Final(), nil
}

// ListJobs returns jobs newest first. A limit of 0 leaves the page size to the server.
func (c *Client) ListJobs(ctx context.Context, limit, offset int) ([]api.Job, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var out []api.Job
	err := c.do(ctx, request{method: http.MethodGet, path: "/jobs", query: q}, &out)
	return out, err
}

// JobListOptions select and page jobs. The zero value selects every job the caller may read.
type JobListOptions struct {
	Task   string
	Status []api.JobStatus // any of these
	Owner  string          // the submitting user's name
	// Since and Until bound the creation time: at or after Since, before Until; zero is no bound.
	Since, Until time.Time
	// Limit is the page size (0: the server's default, 100; at most 1000); Offset skips that many of the newest.
	Limit, Offset int
}

func (o JobListOptions) query() url.Values {
	q := url.Values{}
	setNonEmpty(q, "task", o.Task)
	setNonEmpty(q, "owner", o.Owner)
	for _, s := range o.Status {
		q.Add("status", string(s))
	}
	return pageQuery(q, o.Since, o.Until, o.Limit, o.Offset)
}

// ListJobsPage returns one page of the jobs o selects, newest first and without their output, and how many o
// selects in all (-1 from a server that does not say).
func (c *Client) ListJobsPage(ctx context.Context, o JobListOptions) ([]api.Job, int, error) {
	return listPage[api.Job](ctx, c, "/jobs", o.query())
}

// AllJobs returns every job o selects, newest first, paging through them o.Limit at a time (default 1000);
// o.Offset is ignored. A job whose status changes while paging may move in or out of a status filter.
func (c *Client) AllJobs(ctx context.Context, o JobListOptions) ([]api.Job, error) {
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	return pageAll(o.Limit, func(j api.Job) string { return j.ID }, func(offset int) ([]api.Job, error) {
		o.Offset = offset
		js, _, err := c.ListJobsPage(ctx, o)
		return js, err
	})
}

// GetJob returns one job.
func (c *Client) GetJob(ctx context.Context, id string) (api.Job, error) {
	var out api.Job
	err := c.do(ctx, request{method: http.MethodGet, path: "/jobs/" + seg(id)}, &out)
	return out, err
}

// WaitJob returns job id once it has ended, or as it stands when max (at most api.MaxSyncTimeout) has passed:
// the server holds the request until then, woken by the job's end.
func (c *Client) WaitJob(ctx context.Context, id string, max time.Duration) (api.Job, error) {
	var out api.Job
	r := request{method: http.MethodGet, path: "/jobs/" + seg(id), query: url.Values{"wait": {max.String()}}}
	err := c.do(ctx, r, &out)
	return out, err
}

// Cancel ends a queued or running job and returns it as it ended (status cancelled, unless it finished on its
// own first). Cancelling a job that had already ended is ErrConflict.
func (c *Client) Cancel(ctx context.Context, id string) (api.Job, error) {
	var out api.Job
	err := c.do(ctx, request{method: http.MethodPost, path: "/jobs/" + seg(id) + "/cancel"}, &out)
	return out, err
}

// Log returns a job's combined stdout and stderr. With follow the stream stays open until the job ends (or
// ctx is done). The caller closes it.
func (c *Client) Log(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	return c.LogFrom(ctx, id, follow, 0)
}

// LogFrom is Log from the offset-th byte on: a follower whose stream broke resumes where it was.
func (c *Client) LogFrom(ctx context.Context, id string, follow bool, offset int64) (io.ReadCloser, error) {
	r := request{method: http.MethodGet, path: "/jobs/" + seg(id) + "/log", header: http.Header{"Accept": {"text/plain"}}, query: url.Values{}}
	if follow {
		r.query.Set("follow", "true")
	}
	if offset > 0 {
		r.query.Set("offset", strconv.FormatInt(offset, 10))
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
