package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/runplane/runplane/api"
)

// ListWorkflows returns every workflow the caller may read.
func (c *Client) ListWorkflows(ctx context.Context) ([]api.Workflow, error) {
	return getJSON[[]api.Workflow](ctx, c, "/workflows", nil)
}

// GetWorkflow returns one workflow.
func (c *Client) GetWorkflow(ctx context.Context, name string) (api.Workflow, error) {
	return getJSON[api.Workflow](ctx, c, "/workflows/"+seg(name), nil)
}

// CreateWorkflow stores a new workflow; ErrConflict if the name is taken, ErrInvalid if the server refuses the
// definition (a step depending on an unknown one, a cycle, a bad expression, a task or runner that does not
// exist), ErrForbidden if it runs tasks or runners the caller may not hand on.
func (c *Client) CreateWorkflow(ctx context.Context, w api.Workflow) (api.Workflow, error) {
	return sendJSON[api.Workflow](ctx, c, http.MethodPost, "/workflows", w)
}

// UpdateWorkflow replaces the definition of the workflow named w.Name (PUT). Runs already started keep the
// definition they started with.
func (c *Client) UpdateWorkflow(ctx context.Context, w api.Workflow) (api.Workflow, error) {
	return sendJSON[api.Workflow](ctx, c, http.MethodPut, "/workflows/"+seg(w.Name), w)
}

// SaveWorkflow creates w (replace false) or replaces the workflow named w.Name, and answers it with the secrets of
// the webhooks its triggers got by this save: the only time they are shown.
func (c *Client) SaveWorkflow(ctx context.Context, w api.Workflow, replace bool) (api.WorkflowSaved, error) {
	if replace {
		return sendJSON[api.WorkflowSaved](ctx, c, http.MethodPut, "/workflows/"+seg(w.Name), w)
	}
	return sendJSON[api.WorkflowSaved](ctx, c, http.MethodPost, "/workflows", w)
}

// ApplyWorkflow creates w, or replaces the workflow of that name when it exists, and says whether it created it.
func (c *Client) ApplyWorkflow(ctx context.Context, w api.Workflow) (stored api.Workflow, created bool, err error) {
	stored, err = c.UpdateWorkflow(ctx, w)
	if !errors.Is(err, ErrNotFound) {
		return stored, false, err
	}
	stored, err = c.CreateWorkflow(ctx, w)
	return stored, err == nil, err
}

// CreateWorkflowYAML stores a new workflow from YAML as the server reads it: a `kind: Workflow` manifest, or a
// Relay workflow file unchanged (Relay's tags included). name names a document that carries none (a Relay file);
// "" leaves the name to the document.
func (c *Client) CreateWorkflowYAML(ctx context.Context, doc []byte, name string) (api.Workflow, error) {
	return c.sendWorkflowYAML(ctx, http.MethodPost, "/workflows", doc, name)
}

// UpdateWorkflowYAML replaces the workflow name with the definition of a YAML document, as CreateWorkflowYAML
// reads it.
func (c *Client) UpdateWorkflowYAML(ctx context.Context, name string, doc []byte) (api.Workflow, error) {
	return c.sendWorkflowYAML(ctx, http.MethodPut, "/workflows/"+seg(name), doc, "")
}

func (c *Client) sendWorkflowYAML(ctx context.Context, method, path string, doc []byte, name string) (api.Workflow, error) {
	r := request{method: method, path: path, body: doc, header: http.Header{"Content-Type": {"application/yaml"}}}
	if name != "" {
		r.query = url.Values{"name": {name}}
	}
	var out api.Workflow
	err := c.do(ctx, r, &out)
	return out, err
}

// DeleteWorkflow deletes a workflow. Its runs stay.
func (c *Client) DeleteWorkflow(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/workflows/" + seg(name)}, nil)
}
