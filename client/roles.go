package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListRoles returns every role the caller may read.
func (c *Client) ListRoles(ctx context.Context) ([]api.Role, error) {
	return getJSON[[]api.Role](ctx, c, "/roles", nil)
}

// GetRole returns one role by id or by name; ErrNotFound if there is none.
func (c *Client) GetRole(ctx context.Context, idOrName string) (api.Role, error) {
	return getJSON[api.Role](ctx, c, "/roles/"+seg(idOrName), nil)
}

// CreateRole stores a new role and returns it as stored, with its id. ErrConflict if the name is taken;
// ErrInvalid if it fails validation.
func (c *Client) CreateRole(ctx context.Context, r api.Role) (api.Role, error) {
	return sendJSON[api.Role](ctx, c, http.MethodPost, "/roles", r)
}

// UpdateRole replaces the role r.ID, or the role named r.Name when r.ID is empty (PUT). ErrNotFound if there is
// no such role; a builtin role (Admin) refuses changes.
func (c *Client) UpdateRole(ctx context.Context, r api.Role) (api.Role, error) {
	return sendJSON[api.Role](ctx, c, http.MethodPut, "/roles/"+seg(roleKey(r)), r)
}

// PatchRole changes only the fields present in patch (PATCH), for example {"access": "write"}.
func (c *Client) PatchRole(ctx context.Context, idOrName string, patch map[string]any) (api.Role, error) {
	return sendJSON[api.Role](ctx, c, http.MethodPatch, "/roles/"+seg(idOrName), patch)
}

// DeleteRole deletes a role by id or name; ErrNotFound if there is none, ErrConflict while a role binding uses
// it or for a builtin role (Admin).
func (c *Client) DeleteRole(ctx context.Context, idOrName string) error {
	return c.deleteJSON(ctx, "/roles/"+seg(idOrName), nil)
}

func roleKey(r api.Role) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Name
}
