package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Roles are addressed by id or by name. Built-in roles cannot change (409).

// role finds a role by id, then by name.
func (h *Handler) role(ctx context.Context, idOrName string) (api.Role, error) {
	x, err := h.st.GetRole(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		x, err = h.st.GetRoleByName(ctx, idOrName)
		if errors.Is(err, store.ErrNotFound) {
			return x, notFound("role %q not found", idOrName)
		}
	}
	return x, err
}

func (h *Handler) listRoles(w http.ResponseWriter, r *http.Request) error {
	all, err := h.st.ListRoles(r.Context())
	if err != nil {
		return err
	}
	ok := readable(r.Context(), api.ResourceRoles)
	listOf(w, "roles", all, func(x api.Role) bool { return ok(x.ID, x.Name) })
	return nil
}

func (h *Handler) createRole(w http.ResponseWriter, r *http.Request) error {
	var in api.Role
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := in.Validate(); err != nil {
		return err
	}
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceRoles, in.Name); err != nil {
		return err
	}
	if err := h.mayChangeRole(r.Context(), api.Role{}, in); err != nil {
		return err
	}
	x, err := h.st.CreateRole(r.Context(), api.Role{Name: in.Name, Resource: in.Resource, ResourceIDs: in.ResourceIDs, Access: in.Access})
	if err != nil {
		return storeErr(err)
	}
	return answer(w, x.ID, x)
}

func (h *Handler) getRole(w http.ResponseWriter, r *http.Request) error {
	x, err := h.role(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

// replaceRole (PUT) replaces name, resource, resource_ids and access.
func (h *Handler) replaceRole(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.role(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var in api.Role
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateRole(w, r, stored, in)
}

// patchRole (PATCH) changes only the fields present.
func (h *Handler) patchRole(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.role(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	in := stored
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateRole(w, r, stored, in)
}

func (h *Handler) updateRole(w http.ResponseWriter, r *http.Request, stored, in api.Role) error {
	if in.ID != "" && in.ID != stored.ID {
		return api.Invalidf("id %q in the body does not match role %q in the URL", in.ID, stored.ID)
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if err := h.mayChangeRole(r.Context(), stored, in); err != nil {
		return err
	}
	x, err := h.st.UpdateRole(r.Context(), api.Role{ID: stored.ID, Name: in.Name, Resource: in.Resource,
		ResourceIDs: in.ResourceIDs, Access: in.Access})
	if err != nil {
		return storeErr(err)
	}
	return answer(w, x.ID, x)
}

func (h *Handler) deleteRole(w http.ResponseWriter, r *http.Request) error {
	x, err := h.role(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.st.DeleteRole(r.Context(), x.ID); err != nil {
		return storeErr(err)
	}
	return deleted(w, "role")
}
