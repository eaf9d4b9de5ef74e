package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// DryRunRequest is one change of a DryRun: a method, a path under /api/v1 (with its query) and a JSON body.
type DryRunRequest struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	// As names the id this request's answer carries: a later request's path segment or JSON string value that is
	// exactly "$ref:" followed by the name stands for it.
	As string `json:"as,omitempty"`
}

// DryRunResult is the answer a request of a DryRun would get.
type DryRunResult struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// DryRun sends reqs to POST /api/v1/dry_run: the server runs them in order as one dry run (each sees what the
// ones before it would have done), stores nothing, and answers each up to and including the first that failed.
func (c *Client) DryRun(ctx context.Context, reqs []DryRunRequest) ([]DryRunResult, error) {
	out, err := sendJSON[struct {
		Results []DryRunResult `json:"results"`
	}](ctx, c, http.MethodPost, "/dry_run", map[string]any{"requests": reqs})
	return out.Results, err
}
