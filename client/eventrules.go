package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListEventRules returns the event rule sets the caller may read.
func (c *Client) ListEventRules(ctx context.Context) ([]api.EventRules, error) {
	return getJSON[[]api.EventRules](ctx, c, "/event_rules", nil)
}

// GetEventRules returns one event rule set.
func (c *Client) GetEventRules(ctx context.Context, name string) (api.EventRules, error) {
	return getJSON[api.EventRules](ctx, c, "/event_rules/"+seg(name), nil)
}

// CreateEventRules stores a new rule set, owned by the caller; ErrConflict if the name is taken, ErrInvalid if the
// server refuses the config, ErrForbidden if the caller may not start the runs it would start.
func (c *Client) CreateEventRules(ctx context.Context, r api.EventRules) (api.EventRules, error) {
	return sendJSON[api.EventRules](ctx, c, http.MethodPost, "/event_rules", r)
}

// UpdateEventRules replaces the rule set named r.Name (PUT); the caller becomes its owner.
func (c *Client) UpdateEventRules(ctx context.Context, r api.EventRules) (api.EventRules, error) {
	return sendJSON[api.EventRules](ctx, c, http.MethodPut, "/event_rules/"+seg(r.Name), r)
}

// DeleteEventRules deletes a rule set.
func (c *Client) DeleteEventRules(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/event_rules/" + seg(name)}, nil)
}
