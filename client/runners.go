package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListRunners returns every runner the caller may read, tokens and secret values masked.
func (c *Client) ListRunners(ctx context.Context) ([]api.Runner, error) {
	var out []api.Runner
	err := c.do(ctx, request{method: http.MethodGet, path: "/runners"}, &out)
	return out, err
}

// GetRunner returns one runner, masked.
func (c *Client) GetRunner(ctx context.Context, name string) (api.Runner, error) {
	var out api.Runner
	err := c.do(ctx, request{method: http.MethodGet, path: "/runners/" + seg(name)}, &out)
	return out, err
}

// CreateRunner stores a new runner and returns it as stored (masked); ErrConflict if the name is taken.
func (c *Client) CreateRunner(ctx context.Context, r api.Runner) (api.Runner, error) {
	return c.sendRunner(ctx, http.MethodPost, "/runners", r)
}

// UpdateRunner replaces the runner named r.Name (PUT). A token or secret value equal to api.Mask keeps the
// stored value; an empty one deletes it.
func (c *Client) UpdateRunner(ctx context.Context, r api.Runner) (api.Runner, error) {
	return c.sendRunner(ctx, http.MethodPut, "/runners/"+seg(r.Name), r)
}

// PatchRunner changes only the fields present in patch (PATCH), for example {"branch": "dev"}.
func (c *Client) PatchRunner(ctx context.Context, name string, patch map[string]any) (api.Runner, error) {
	return c.sendRunner(ctx, http.MethodPatch, "/runners/"+seg(name), patch)
}

func (c *Client) sendRunner(ctx context.Context, method, path string, v any) (api.Runner, error) {
	var out api.Runner
	body, err := jsonBody(v)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: method, path: path, body: body}, &out)
	return out, err
}

// DeleteRunner deletes a runner; ErrConflict while a task uses it.
func (c *Client) DeleteRunner(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/runners/" + seg(name)}, nil)
}

// GetRunnerSecret returns the keys of a runner's secret map, values masked.
func (c *Client) GetRunnerSecret(ctx context.Context, name string) (map[string]string, error) {
	var out map[string]string
	err := c.do(ctx, request{method: http.MethodGet, path: "/runners/" + seg(name) + "/secret"}, &out)
	return out, err
}

// SetRunnerSecret replaces a runner's secret map with secret (PUT) and returns the stored keys, values
// masked. A value equal to api.Mask keeps the stored value.
func (c *Client) SetRunnerSecret(ctx context.Context, name string, secret map[string]string) (map[string]string, error) {
	return c.sendSecret(ctx, http.MethodPut, name, secret)
}

// MergeRunnerSecret merges secret into a runner's secret map (POST) and returns the stored keys, values
// masked. A value equal to api.Mask keeps the stored value; an empty one deletes the key.
func (c *Client) MergeRunnerSecret(ctx context.Context, name string, secret map[string]string) (map[string]string, error) {
	return c.sendSecret(ctx, http.MethodPost, name, secret)
}

func (c *Client) sendSecret(ctx context.Context, method, name string, secret map[string]string) (map[string]string, error) {
	if secret == nil {
		secret = map[string]string{}
	}
	body, err := jsonBody(secret)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	err = c.do(ctx, request{method: method, path: "/runners/" + seg(name) + "/secret", body: body}, &out)
	return out, err
}

// DeleteRunnerSecret removes the given keys from a runner's secret map, or every key when none are given.
func (c *Client) DeleteRunnerSecret(ctx context.Context, name string, keys ...string) error {
	r := request{method: http.MethodDelete, path: "/runners/" + seg(name) + "/secret"}
	if len(keys) > 0 {
		body, err := jsonBody(keys)
		if err != nil {
			return err
		}
		r.body = body
	}
	return c.do(ctx, r, nil)
}
