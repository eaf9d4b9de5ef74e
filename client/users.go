package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListUsers returns every user the caller may read, passwords never included.
func (c *Client) ListUsers(ctx context.Context) ([]api.User, error) {
	return getJSON[[]api.User](ctx, c, "/users", nil)
}

// GetUser returns one user by id; ErrNotFound if there is none.
func (c *Client) GetUser(ctx context.Context, id string) (api.User, error) {
	return getJSON[api.User](ctx, c, "/users/"+seg(id), nil)
}

// CreateUser stores a new user and returns it as stored, with its id. ErrConflict if a user of the same provider
// has the name; ErrInvalid if it fails validation (a local user needs a password) or names a group that does not
// exist.
func (c *Client) CreateUser(ctx context.Context, u api.User) (api.User, error) {
	return sendJSON[api.User](ctx, c, http.MethodPost, "/users", u)
}

// UpdateUser replaces the user u.ID (PUT). An empty Password keeps the stored one and nil Groups keeps the
// membership; the username and provider cannot change (ErrInvalid). ErrNotFound if there is no such user. A user
// may change their own password without any role; changing groups needs write access to them (ErrForbidden).
func (c *Client) UpdateUser(ctx context.Context, u api.User) (api.User, error) {
	return sendJSON[api.User](ctx, c, http.MethodPut, "/users/"+seg(u.ID), u)
}

// PatchUser changes only the fields present in patch (PATCH), for example {"password": "..."} or
// {"groups": [ids]}.
func (c *Client) PatchUser(ctx context.Context, id string, patch map[string]any) (api.User, error) {
	return sendJSON[api.User](ctx, c, http.MethodPatch, "/users/"+seg(id), patch)
}

// DeleteUser deletes a user and its API tokens; ErrNotFound if there is none, ErrConflict while it is in a group
// (remove it first) or for a builtin user (root).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.deleteJSON(ctx, "/users/"+seg(id), nil)
}

// UserGroups returns the groups user id belongs to, by id, name and provider.
func (c *Client) UserGroups(ctx context.Context, id string) ([]api.GroupMember, error) {
	return getJSON[[]api.GroupMember](ctx, c, "/users/"+seg(id)+"/groups", nil)
}
