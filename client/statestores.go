package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListStateStores returns the state stores the caller may read, credentials masked.
func (c *Client) ListStateStores(ctx context.Context) ([]api.StateStore, error) {
	return getJSON[[]api.StateStore](ctx, c, "/state_stores", nil)
}

// GetStateStore returns one state store, credentials masked.
func (c *Client) GetStateStore(ctx context.Context, name string) (api.StateStore, error) {
	return getJSON[api.StateStore](ctx, c, "/state_stores/"+seg(name), nil)
}

// CreateStateStore stores a new state store; ErrConflict if the name is taken, ErrInvalid for a bad one.
func (c *Client) CreateStateStore(ctx context.Context, s api.StateStore) (api.StateStore, error) {
	return sendJSON[api.StateStore](ctx, c, http.MethodPost, "/state_stores", s)
}

// UpdateStateStore replaces the state store named s.Name (PUT); masked credentials keep their values.
func (c *Client) UpdateStateStore(ctx context.Context, s api.StateStore) (api.StateStore, error) {
	return sendJSON[api.StateStore](ctx, c, http.MethodPut, "/state_stores/"+seg(s.Name), s)
}

// DeleteStateStore removes a state store; ErrConflict while a destination uses it.
func (c *Client) DeleteStateStore(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/state_stores/" + seg(name)}, nil)
}

// ListDestinations returns the destinations the caller may read.
func (c *Client) ListDestinations(ctx context.Context) ([]api.Destination, error) {
	return getJSON[[]api.Destination](ctx, c, "/destinations", nil)
}

// GetDestination returns one destination.
func (c *Client) GetDestination(ctx context.Context, name string) (api.Destination, error) {
	return getJSON[api.Destination](ctx, c, "/destinations/"+seg(name), nil)
}

// CreateDestination stores a new destination; ErrConflict if the name is taken, ErrInvalid for a bad one or a
// state store that does not exist.
func (c *Client) CreateDestination(ctx context.Context, d api.Destination) (api.Destination, error) {
	return sendJSON[api.Destination](ctx, c, http.MethodPost, "/destinations", d)
}

// UpdateDestination replaces the destination named d.Name (PUT); its filepath.mode cannot change.
func (c *Client) UpdateDestination(ctx context.Context, d api.Destination) (api.Destination, error) {
	return sendJSON[api.Destination](ctx, c, http.MethodPut, "/destinations/"+seg(d.Name), d)
}

// DeleteDestination removes a destination.
func (c *Client) DeleteDestination(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/destinations/" + seg(name)}, nil)
}
