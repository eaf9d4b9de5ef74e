package client_test

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server"
)

func ptr[T any](v T) *T { return &v }

// waitEnd follows a job's log until the server closes it (the job ended) and returns the job and its log.
func waitEnd(t *testing.T, c *client.Client, id string) (api.Job, string) {
	t.Helper()
	rc, err := c.Log(t.Context(), id, true)
	if err != nil {
		t.Fatalf("Log(%s, follow): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read log of %s: %v", id, err)
	}
	j, err := c.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob(%s): %v", id, err)
	}
	if !j.Status.Final() {
		t.Fatalf("job %s status %s after its log ended, want a final status", id, j.Status)
	}
	return j, string(b)
}

func TestSubmit(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name         string
		task         string
		input        string
		opts         client.SubmitOptions
		wantFinished bool
		wantStatus   api.JobStatus
		wantData     string
		wantExit     int
	}{
		{name: "synchronous task", task: "hello", input: `{"name":"x"}`, wantFinished: true,
			wantStatus: api.JobSucceeded, wantData: `{"greeting":"hello","input":{"name":"x"}}`},
		{name: "no input", task: "hello", wantFinished: true, wantStatus: api.JobSucceeded,
			wantData: `{"greeting":"hello","input":null}`},
		{name: "async by wait=0", task: "hello", opts: client.SubmitOptions{Wait: ptr(time.Duration(0))}},
		{name: "async task", task: "slow"},
		{name: "async task waited for", task: "fail", opts: client.SubmitOptions{Wait: ptr(time.Minute)},
			wantFinished: true, wantStatus: api.JobFailed, wantExit: 3},
		{name: "failing", task: "fail", wantFinished: true, wantStatus: api.JobFailed, wantExit: 3},
		{name: "schema ok", task: "greet", input: `{"name":"ann","count":2}`, wantFinished: true,
			wantStatus: api.JobSucceeded, wantData: `{"greeting":"hello","input":{"name":"ann","count":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var input []byte
			if tt.input != "" {
				input = []byte(tt.input)
			}
			job, finished, err := f.c.Submit(t.Context(), tt.task, input, tt.opts)
			if err != nil {
				t.Fatalf("Submit(%s): %v", tt.task, err)
			}
			if !strings.HasPrefix(job.ID, tt.task+"-") {
				t.Errorf("job id %q, want prefix %q", job.ID, tt.task+"-")
			}
			if finished != tt.wantFinished {
				t.Fatalf("Submit(%s) finished = %v, want %v (job %+v)", tt.task, finished, tt.wantFinished, job)
			}
			if !finished {
				got, err := f.c.GetJob(t.Context(), job.ID)
				if err != nil || got.Task != tt.task {
					t.Errorf("GetJob(%s) = %+v, %v", job.ID, got, err)
				}
				if tt.task == "slow" {
					if _, err := f.c.Cancel(t.Context(), job.ID); err != nil {
						t.Errorf("Cancel: %v", err)
					}
				}
				return
			}
			if job.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s (reason %q)", job.Status, tt.wantStatus, job.Reason)
			}
			if job.ExitCode == nil || *job.ExitCode != tt.wantExit {
				t.Errorf("exit code = %v, want %d", job.ExitCode, tt.wantExit)
			}
			if tt.wantData != "" {
				jsonEqual(t, "json_data", job.JSONData, []byte(tt.wantData))
			}
		})
	}
}

func TestSubmitErrors(t *testing.T) {
	f := setup(t, func(cfg *server.Config) { cfg.MaxBodyBytes = 4 << 10 })
	tests := []struct {
		name       string
		task       string
		input      string
		want       error
		wantStatus int
		wantPaths  []string
	}{
		{name: "missing task", task: "missing", input: `{}`, want: client.ErrNotFound, wantStatus: 404},
		{name: "malformed input", task: "hello", input: `{"name":`, want: client.ErrInvalid, wantStatus: 400},
		{name: "schema violation", task: "greet", input: `{"count":"two"}`, want: client.ErrInvalid, wantStatus: 400,
			wantPaths: []string{"/count"}},
		{name: "too large", task: "hello", input: `{"pad":"` + strings.Repeat("x", 8<<10) + `"}`,
			want: client.ErrTooLarge, wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.c.Submit(t.Context(), tt.task, []byte(tt.input), client.SubmitOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Submit(%s) error = %v, want %v", tt.task, err, tt.want)
			}
			ce := checkStatus(t, "Submit", err, tt.wantStatus)
			for _, p := range tt.wantPaths {
				found := false
				for _, fe := range ce.Fields {
					found = found || (strings.Contains(fe.Path, strings.TrimPrefix(p, "/")) && fe.Message != "")
				}
				if !found {
					t.Errorf("Fields %+v name no path %q", ce.Fields, p)
				}
			}
		})
	}
	t.Run("missing required field", func(t *testing.T) {
		_, _, err := f.c.Submit(t.Context(), "greet", []byte(`{}`), client.SubmitOptions{})
		ce := checkStatus(t, "Submit", err, 400)
		if len(ce.Fields) == 0 {
			t.Errorf("error %v carries no fields", err)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	f := setup(t)
	opts := client.SubmitOptions{IdempotencyKey: "k-1", Wait: ptr(time.Duration(0))}
	first, _, err := f.c.Submit(t.Context(), "hello", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := f.c.Submit(t.Context(), "hello", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.c.Submit(t.Context(), "hello", nil, client.SubmitOptions{IdempotencyKey: "k-2", Wait: opts.Wait})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || other.ID == first.ID {
		t.Errorf("ids: first %s, same key %s, other key %s; want same, different", first.ID, again.ID, other.ID)
	}
}

func TestJobsListLogCancel(t *testing.T) {
	f := setup(t)
	c, ctx := f.c, t.Context()
	var ids []string
	for _, task := range []string{"hello", "fail", "hello"} {
		j, _, err := c.Submit(ctx, task, nil, client.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	list, err := c.ListJobs(ctx, 0, 0)
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	var got []string
	for _, j := range list {
		got = append(got, j.ID)
	}
	if diff := cmp.Diff([]string{ids[2], ids[1], ids[0]}, got); diff != "" {
		t.Errorf("ListJobs ids, newest first (-want +got):\n%s", diff)
	}
	page, err := c.ListJobs(ctx, 1, 1)
	if err != nil || len(page) != 1 || page[0].ID != ids[1] {
		t.Errorf("ListJobs(limit 1, offset 1) = %v, %v; want [%s]", page, err, ids[1])
	}

	rc, err := c.Log(ctx, ids[0], false)
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !strings.Contains(string(b), "hello from hello") {
		t.Errorf("Log(%s) = %q, %v; want it to contain the script's output", ids[0], b, err)
	}
	if _, err := c.Log(ctx, "hello-zzzzz", false); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Log of a missing job: %v, want ErrNotFound", err)
	}
	if _, err := c.GetJob(ctx, "hello-zzzzz"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetJob of a missing job: %v, want ErrNotFound", err)
	}

	// Cancel a running job: follow its log until it has started, cancel, then follow to the end.
	slow, _, err := c.Submit(ctx, "slow", nil, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err = c.Log(ctx, slow.ID, true)
	if err != nil {
		t.Fatalf("Log(follow): %v", err)
	}
	line, err := bufio.NewReader(rc).ReadString('\n')
	rc.Close()
	if err != nil || line != "started\n" {
		t.Fatalf("first log line of %s = %q, %v; want \"started\\n\"", slow.ID, line, err)
	}
	cancelled, err := c.Cancel(ctx, slow.ID)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if cancelled.ID != slow.ID || cancelled.Status != api.JobCancelled || cancelled.Reason != api.ReasonCancelled {
		t.Errorf("Cancel answered %s %s (reason %q), want %s cancelled (reason %q)",
			cancelled.ID, cancelled.Status, cancelled.Reason, slow.ID, api.ReasonCancelled)
	}
	j, log := waitEnd(t, c, slow.ID)
	if j.Status != api.JobCancelled || strings.Contains(log, "never") {
		t.Errorf("after Cancel: status %s, log %q; want cancelled before the script's end", j.Status, log)
	}
	if _, err := c.Cancel(ctx, slow.ID); !errors.Is(err, client.ErrConflict) {
		t.Errorf("Cancel of a finished job: %v, want ErrConflict", err)
	}
	if _, err := c.Cancel(ctx, "slow-zzzzz"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Cancel of a missing job: %v, want ErrNotFound", err)
	}
}
