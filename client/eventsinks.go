package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListEventSinks returns the event sinks the caller may read.
func (c *Client) ListEventSinks(ctx context.Context) ([]api.EventSink, error) {
	return getJSON[[]api.EventSink](ctx, c, "/event_sinks", nil)
}

// GetEventSink returns one event sink.
func (c *Client) GetEventSink(ctx context.Context, name string) (api.EventSink, error) {
	return getJSON[api.EventSink](ctx, c, "/event_sinks/"+seg(name), nil)
}

// CreateEventSink stores a new event sink; ErrConflict if the name is taken, ErrInvalid for a bad URL or a header
// naming a secret that does not exist, ErrForbidden if a header names a secret of a runner the caller may not write.
func (c *Client) CreateEventSink(ctx context.Context, s api.EventSink) (api.EventSink, error) {
	return sendJSON[api.EventSink](ctx, c, http.MethodPost, "/event_sinks", s)
}

// UpdateEventSink replaces the event sink named s.Name (PUT).
func (c *Client) UpdateEventSink(ctx context.Context, s api.EventSink) (api.EventSink, error) {
	return sendJSON[api.EventSink](ctx, c, http.MethodPut, "/event_sinks/"+seg(s.Name), s)
}

// DeleteEventSink removes an event sink and what it had still to receive.
func (c *Client) DeleteEventSink(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/event_sinks/" + seg(name)}, nil)
}
