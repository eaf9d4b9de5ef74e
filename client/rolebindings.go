package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListRoleBindings returns every role binding the caller may read.
func (c *Client) ListRoleBindings(ctx context.Context) ([]api.RoleBinding, error) {
	return getJSON[[]api.RoleBinding](ctx, c, "/role_bindings", nil)
}

// GetRoleBinding returns one role binding by id; ErrNotFound if there is none.
func (c *Client) GetRoleBinding(ctx context.Context, id string) (api.RoleBinding, error) {
	return getJSON[api.RoleBinding](ctx, c, "/role_bindings/"+seg(id), nil)
}

// CreateRoleBinding grants a role to a group and returns the binding as stored, with its id. The role and group
// are named by RoleID and GroupID, or in Kriten's older form by RoleName, SubjectKind "groups", SubjectProvider and
// SubjectName. ErrConflict if the name is taken or the role is already bound to the group; ErrInvalid if the role
// or group does not exist.
func (c *Client) CreateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error) {
	return sendJSON[api.RoleBinding](ctx, c, http.MethodPost, "/role_bindings", b)
}

// UpdateRoleBinding replaces the role binding b.ID (PUT); ErrNotFound if there is none, ErrConflict as for
// CreateRoleBinding or for a builtin binding.
func (c *Client) UpdateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error) {
	return sendJSON[api.RoleBinding](ctx, c, http.MethodPut, "/role_bindings/"+seg(b.ID), b)
}

// PatchRoleBinding changes only the fields present in patch (PATCH), for example {"role_id": id}.
func (c *Client) PatchRoleBinding(ctx context.Context, id string, patch map[string]any) (api.RoleBinding, error) {
	return sendJSON[api.RoleBinding](ctx, c, http.MethodPatch, "/role_bindings/"+seg(id), patch)
}

// DeleteRoleBinding deletes a role binding; ErrNotFound if there is none. A builtin binding (Admin) cannot be
// deleted.
func (c *Client) DeleteRoleBinding(ctx context.Context, id string) error {
	return c.deleteJSON(ctx, "/role_bindings/"+seg(id), nil)
}
