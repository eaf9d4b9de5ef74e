package client

import (
	"context"
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
)

// ListAPITokens returns the caller's own API tokens, keys never included.
func (c *Client) ListAPITokens(ctx context.Context) ([]api.APIToken, error) {
	return getJSON[[]api.APIToken](ctx, c, "/api_tokens", nil)
}

// ListAllAPITokens returns every user's API tokens the caller may read; ErrForbidden without read access to
// api_tokens.
func (c *Client) ListAllAPITokens(ctx context.Context) ([]api.APIToken, error) {
	return getJSON[[]api.APIToken](ctx, c, "/api_tokens/all", nil)
}

// GetAPIToken returns one API token by id, without its key; ErrNotFound if there is none.
func (c *Client) GetAPIToken(ctx context.Context, id string) (api.APIToken, error) {
	return getJSON[api.APIToken](ctx, c, "/api_tokens/"+seg(id), nil)
}

// CreateAPIToken creates an API token carrying the caller's rights, from t's Description, Enabled and Expires
// (nil: never). The answer is the only one that holds the Key: keep it, the server stores only a hash of it.
// ErrInvalid if the description or the expiry is refused.
func (c *Client) CreateAPIToken(ctx context.Context, t api.APIToken) (api.APIToken, error) {
	body := struct {
		Description string     `json:"description"`
		Enabled     *bool      `json:"enabled,omitempty"`
		Expires     *time.Time `json:"expires,omitempty"`
	}{t.Description, t.Enabled, t.Expires}
	return sendJSON[api.APIToken](ctx, c, http.MethodPost, "/api_tokens", body)
}

// UpdateAPIToken replaces the settable fields of token t.ID (PUT): Description, Enabled and Expires. ErrNotFound
// if there is none.
func (c *Client) UpdateAPIToken(ctx context.Context, t api.APIToken) (api.APIToken, error) {
	return sendJSON[api.APIToken](ctx, c, http.MethodPut, "/api_tokens/"+seg(t.ID), t)
}

// PatchAPIToken changes only the fields present in patch (PATCH), for example {"enabled": false}.
func (c *Client) PatchAPIToken(ctx context.Context, id string, patch map[string]any) (api.APIToken, error) {
	return sendJSON[api.APIToken](ctx, c, http.MethodPatch, "/api_tokens/"+seg(id), patch)
}

// DeleteAPIToken deletes an API token, which stops working at once; ErrNotFound if there is none.
func (c *Client) DeleteAPIToken(ctx context.Context, id string) error {
	return c.deleteJSON(ctx, "/api_tokens/"+seg(id), nil)
}
