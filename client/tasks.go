package client

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListTasks returns every task the caller may read.
func (c *Client) ListTasks(ctx context.Context) ([]api.Task, error) {
	var out []api.Task
	err := c.do(ctx, request{method: http.MethodGet, path: "/tasks"}, &out)
	return out, err
}

// GetTask returns one task.
func (c *Client) GetTask(ctx context.Context, name string) (api.Task, error) {
	var out api.Task
	err := c.do(ctx, request{method: http.MethodGet, path: "/tasks/" + seg(name)}, &out)
	return out, err
}

// CreateTask stores a new task; ErrConflict if the name is taken, ErrInvalid if its runner does not exist or
// its schema is not a valid schema.
func (c *Client) CreateTask(ctx context.Context, t api.Task) (api.Task, error) {
	return c.sendTask(ctx, http.MethodPost, "/tasks", t)
}

// UpdateTask replaces the task named t.Name (PUT).
func (c *Client) UpdateTask(ctx context.Context, t api.Task) (api.Task, error) {
	return c.sendTask(ctx, http.MethodPut, "/tasks/"+seg(t.Name), t)
}

// PatchTask changes only the fields present in patch (PATCH), for example {"command": "./run.sh"}.
func (c *Client) PatchTask(ctx context.Context, name string, patch map[string]any) (api.Task, error) {
	return c.sendTask(ctx, http.MethodPatch, "/tasks/"+seg(name), patch)
}

func (c *Client) sendTask(ctx context.Context, method, path string, v any) (api.Task, error) {
	var out api.Task
	body, err := jsonBody(v)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: method, path: path, body: body}, &out)
	return out, err
}

// DeleteTask deletes a task.
func (c *Client) DeleteTask(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/tasks/" + seg(name)}, nil)
}

// GetTaskSchema returns a task's input schema; {} (accept anything) when it has none.
func (c *Client) GetTaskSchema(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, request{method: http.MethodGet, path: "/tasks/" + seg(name) + "/schema"}, &out)
	return out, err
}

// SetTaskSchema replaces a task's input schema and returns it as stored; ErrInvalid if it is not a valid
// schema.
func (c *Client) SetTaskSchema(ctx context.Context, name string, schema json.RawMessage) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, request{method: http.MethodPut, path: "/tasks/" + seg(name) + "/schema", body: schema}, &out)
	return out, err
}

// DeleteTaskSchema removes a task's input schema.
func (c *Client) DeleteTaskSchema(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/tasks/" + seg(name) + "/schema"}, nil)
}
