package httpapi

import (
	"context"
	"errors"
	"slices"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
)

// No escalation through identity objects (Kubernetes' rule for roles and bindings): whoever writes a role, a
// binding, a group's members or another user's password hands access on, so they must already hold it:
//
//   - creating a role, or changing one, needs grants covering the role as it is and as it will be (rbac.Covers);
//     changing what a bound role grants also needs write access to every group it is bound to, since it changes
//     what their members may do;
//   - creating or changing a binding needs grants covering its role and write access to its group (both the old
//     and the new ones);
//   - adding a user to a group (POST /groups/{id}/users, a group's user_ids, a user's groups) needs grants
//     covering every role bound to the group, besides write access to it;
//   - setting another user's password needs grants covering every role that user holds (root's: only "*" write);
//     setting one's own needs current_password.
//
// Taking access away (deleting a binding, removing members, deleting an unbound role) needs only write access to
// what changes. The 403s say what rule refused, never which object was in the way.
//
// The checks read before the write, not in one transaction with it: a change slipping in between is someone else's,
// made with access they hold, so no caller ends up handing on more than some caller held.

var (
	errRoleEscalates = withMsg(ErrForbidden,
		"forbidden: a role may grant only access you hold yourself, both as it is and as it will be")
	errRoleBound = withMsg(ErrForbidden,
		"forbidden: the role is bound to a group you may not write: changing what it grants changes what that group's members may do")
	errBindEscalates = withMsg(ErrForbidden, "forbidden: you may bind only a role whose access you hold yourself")
	errAddEscalates  = withMsg(ErrForbidden,
		"forbidden: members of a group get its roles: you may add members only to a group whose roles grant no more than you hold")
	errPasswordEscalates = withMsg(ErrForbidden,
		"forbidden: you may set the password only of a user whose access you hold yourself")
	errCurrentPasswordWrong   = withMsg(ErrForbidden, "forbidden: current_password is wrong")
	errCurrentPasswordMissing = api.Invalidf(
		"current_password is required to change your own password")
)

// holds reports whether the caller of ctx holds every access roles grant.
func holds(ctx context.Context, roles ...api.Role) bool {
	p, _ := auth.PrincipalFrom(ctx)
	return rbac.CoversAll(p.Grants, roles)
}

// mayChangeRole checks a change of role stored into next (an empty stored: a new role).
func (h *Handler) mayChangeRole(ctx context.Context, stored, next api.Role) error {
	if !holds(ctx, next) || (stored.ID != "" && !holds(ctx, stored)) {
		return errRoleEscalates
	}
	if stored.ID == "" || (stored.Resource == next.Resource && stored.Access == next.Access && sameSet(stored.ResourceIDs, next.ResourceIDs)) {
		return nil
	}
	bindings, err := h.st.ListRoleBindings(ctx)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if b.RoleID != stored.ID {
			continue
		}
		g, err := h.st.GetGroup(ctx, b.GroupID)
		if err != nil {
			return err
		}
		if !may(ctx, api.AccessWrite, api.ResourceGroups, g.ID, g.Name) {
			return errRoleBound
		}
	}
	return nil
}

// mayBind checks that the caller may grant b's role to b's group: they hold the role's access and may write the
// group. A role or group that does not exist is a 400.
func (h *Handler) mayBind(ctx context.Context, b api.RoleBinding) error {
	x, err := h.st.GetRole(ctx, b.RoleID)
	if errors.Is(err, store.ErrNotFound) {
		return api.Invalidf("role %q not found", b.RoleID)
	}
	if err != nil {
		return err
	}
	if !holds(ctx, x) {
		return errBindEscalates
	}
	g, err := h.st.GetGroup(ctx, b.GroupID)
	if errors.Is(err, store.ErrNotFound) {
		return api.Invalidf("group %q not found", b.GroupID)
	}
	if err != nil {
		return err
	}
	return mustMay(ctx, api.AccessWrite, api.ResourceGroups, g.ID, g.Name)
}

// mayAddMembers checks that the caller may give g's roles to a new member.
func (h *Handler) mayAddMembers(ctx context.Context, g api.Group) error {
	for _, id := range g.RoleIDs {
		x, err := h.st.GetRole(ctx, id)
		if err != nil {
			return err
		}
		if !holds(ctx, x) {
			return errAddEscalates
		}
	}
	return nil
}

// mayChangeGroups checks that the caller may put a user in the groups added and take them out of the groups
// removed: write access to each, and for each group added, its roles.
func (h *Handler) mayChangeGroups(ctx context.Context, added, removed []string) error {
	for _, id := range slices.Concat(added, removed) {
		g, err := h.st.GetGroup(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return api.Invalidf("group %q not found", id)
		}
		if err != nil {
			return err
		}
		if err := mustMay(ctx, api.AccessWrite, api.ResourceGroups, g.ID, g.Name); err != nil {
			return err
		}
		if slices.Contains(added, id) {
			if err := h.mayAddMembers(ctx, g); err != nil {
				return err
			}
		}
	}
	return nil
}

// maySetPassword checks that the caller may give user u a new password: their own with the current one, anyone
// else's only with grants covering everything u may do (a new password is a login as u).
func (h *Handler) maySetPassword(ctx context.Context, u store.User, current string) error {
	p, _ := auth.PrincipalFrom(ctx)
	if u.ID == p.UserID {
		if current == "" {
			return errCurrentPasswordMissing
		}
		if ok, err := auth.VerifyPassword(u.PasswordHash, current); err != nil || !ok {
			return errCurrentPasswordWrong
		}
		return nil
	}
	// What u may do is what the roles of u's groups grant (store.Access reads the same).
	for _, id := range u.Groups {
		g, err := h.st.GetGroup(ctx, id)
		if err != nil {
			return err
		}
		err = h.mayAddMembers(ctx, g)
		if errors.Is(err, ErrForbidden) {
			return errPasswordEscalates
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// added returns the ids of next that are not in prev.
func added(prev, next []string) []string {
	var out []string
	for _, x := range next {
		if !slices.Contains(prev, x) {
			out = append(out, x)
		}
	}
	return out
}
