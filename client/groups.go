package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// ListGroups returns every group the caller may read.
func (c *Client) ListGroups(ctx context.Context) ([]api.Group, error) {
	return getJSON[[]api.Group](ctx, c, "/groups", nil)
}

// GetGroup returns one group by id; ErrNotFound if there is none.
func (c *Client) GetGroup(ctx context.Context, id string) (api.Group, error) {
	return getJSON[api.Group](ctx, c, "/groups/"+seg(id), nil)
}

// CreateGroup stores a new group and returns it as stored, with its id. ErrConflict if a group of the same
// provider has the name; ErrInvalid if it fails validation or lists a user that does not exist or belongs to
// another provider.
func (c *Client) CreateGroup(ctx context.Context, g api.Group) (api.Group, error) {
	return sendJSON[api.Group](ctx, c, http.MethodPost, "/groups", g)
}

// UpdateGroup replaces the group g.ID (PUT). Nil UserIDs keeps the membership; RoleIDs is read-only and may only
// repeat the stored value. ErrNotFound if there is no such group.
func (c *Client) UpdateGroup(ctx context.Context, g api.Group) (api.Group, error) {
	return sendJSON[api.Group](ctx, c, http.MethodPut, "/groups/"+seg(g.ID), g)
}

// PatchGroup changes only the fields present in patch (PATCH), for example {"user_ids": [ids]}.
func (c *Client) PatchGroup(ctx context.Context, id string, patch map[string]any) (api.Group, error) {
	return sendJSON[api.Group](ctx, c, http.MethodPatch, "/groups/"+seg(id), patch)
}

// DeleteGroup deletes a group; ErrNotFound if there is none, ErrConflict while it has members or a role is bound
// to it, or for a builtin group (Admin).
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.deleteJSON(ctx, "/groups/"+seg(id), nil)
}

// GroupUsers returns the members of group id.
func (c *Client) GroupUsers(ctx context.Context, id string) ([]api.GroupMember, error) {
	return getJSON[[]api.GroupMember](ctx, c, "/groups/"+seg(id)+"/users", nil)
}

// AddGroupUsers adds users to group id and returns the group. Each member is found by its ID, or by Name and
// Provider when ID is empty; ErrInvalid or ErrNotFound if one does not exist.
func (c *Client) AddGroupUsers(ctx context.Context, id string, members []api.GroupMember) (api.Group, error) {
	return sendJSON[api.Group](ctx, c, http.MethodPost, "/groups/"+seg(id)+"/users", nonNil(members))
}

// RemoveGroupUsers removes users from group id and returns the group. Members are found as by AddGroupUsers.
func (c *Client) RemoveGroupUsers(ctx context.Context, id string, members []api.GroupMember) (api.Group, error) {
	return sendJSON[api.Group](ctx, c, http.MethodDelete, "/groups/"+seg(id)+"/users", nonNil(members))
}

// nonNil makes a nil slice encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
