package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListWebhooks returns the caller's own webhooks, secrets never included.
func (c *Client) ListWebhooks(ctx context.Context) ([]api.Webhook, error) {
	return getJSON[[]api.Webhook](ctx, c, "/webhooks", nil)
}

// ListAllWebhooks returns every user's webhooks the caller may read (and the caller's own); ErrForbidden without
// read access to any.
func (c *Client) ListAllWebhooks(ctx context.Context) ([]api.Webhook, error) {
	return getJSON[[]api.Webhook](ctx, c, "/webhooks/all", nil)
}

// GetWebhook returns one webhook by id, without its secret; ErrNotFound if there is none.
func (c *Client) GetWebhook(ctx context.Context, id string) (api.Webhook, error) {
	return getJSON[api.Webhook](ctx, c, "/webhooks/"+seg(id), nil)
}

// CreateWebhook creates a webhook owned by the caller from w's Description, Task or Workflow, Secret (empty: the
// server makes one) and Scheme. The answer is the only one that holds the Secret. ErrForbidden unless the caller
// may start the task's jobs (or the workflow's runs); ErrInvalid if a field is refused.
func (c *Client) CreateWebhook(ctx context.Context, w api.Webhook) (api.Webhook, error) {
	body := struct {
		Description string            `json:"description,omitempty"`
		Task        string            `json:"task,omitempty"`
		Workflow    string            `json:"workflow,omitempty"`
		Secret      string            `json:"secret,omitempty"`
		Scheme      api.WebhookScheme `json:"scheme,omitempty"`
	}{w.Description, w.Task, w.Workflow, w.Secret, w.Scheme}
	return sendJSON[api.Webhook](ctx, c, http.MethodPost, "/webhooks", body)
}

// DeleteWebhook deletes a webhook, whose deliveries are refused from then on; ErrNotFound if there is none.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.deleteJSON(ctx, "/webhooks/"+seg(id), nil)
}
