package httpapi

import (
	"errors"
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Role bindings name their role and group by id (role_id, group_id) or in Kriten's older form (role_name,
// subject_kind "groups", subject_provider, subject_name). Answers carry both forms.

func (h *Handler) listRoleBindings(w http.ResponseWriter, r *http.Request) error {
	all, err := h.st.ListRoleBindings(r.Context())
	if err != nil {
		return err
	}
	ok := readable(r.Context(), api.ResourceRoleBindings)
	listOf(w, "role_bindings", all, func(b api.RoleBinding) bool { return ok(b.ID, b.Name) })
	return nil
}

func (h *Handler) createRoleBinding(w http.ResponseWriter, r *http.Request) error {
	var in api.RoleBinding
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := h.resolveBinding(r, &in); err != nil {
		return err
	}
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceRoleBindings, in.Name); err != nil {
		return err
	}
	if err := h.mayBind(r.Context(), in); err != nil {
		return err
	}
	b, err := h.st.CreateRoleBinding(r.Context(), api.RoleBinding{Name: in.Name, RoleID: in.RoleID, GroupID: in.GroupID})
	if err != nil {
		return storeErr(err)
	}
	return answer(w, b.ID, b)
}

func (h *Handler) getRoleBinding(w http.ResponseWriter, r *http.Request) error {
	b, err := h.st.GetRoleBinding(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// replaceRoleBinding (PUT) replaces the name, role and group.
func (h *Handler) replaceRoleBinding(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetRoleBinding(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	var in api.RoleBinding
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateRoleBinding(w, r, stored, in)
}

// patchRoleBinding (PATCH) changes only the fields present; a role or group named in the older form replaces the
// one the binding has.
func (h *Handler) patchRoleBinding(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetRoleBinding(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	in := api.RoleBinding{ID: stored.ID, Name: stored.Name, RoleID: stored.RoleID, GroupID: stored.GroupID}
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if in.RoleName != "" && in.RoleID == stored.RoleID {
		in.RoleID = ""
	}
	if in.SubjectName != "" && in.GroupID == stored.GroupID {
		in.GroupID = ""
	}
	return h.updateRoleBinding(w, r, stored, in)
}

func (h *Handler) updateRoleBinding(w http.ResponseWriter, r *http.Request, stored, in api.RoleBinding) error {
	if in.ID != "" && in.ID != stored.ID {
		return api.Invalidf("id %q in the body does not match role binding %q in the URL", in.ID, stored.ID)
	}
	if err := h.resolveBinding(r, &in); err != nil {
		return err
	}
	// Changing a binding hands on its new role and takes its old one away: the caller must be able to make both.
	if err := h.mayBind(r.Context(), stored); err != nil {
		return err
	}
	if err := h.mayBind(r.Context(), in); err != nil {
		return err
	}
	b, err := h.st.UpdateRoleBinding(r.Context(), api.RoleBinding{ID: stored.ID, Name: in.Name, RoleID: in.RoleID, GroupID: in.GroupID})
	if err != nil {
		return storeErr(err)
	}
	return answer(w, b.ID, b)
}

func (h *Handler) deleteRoleBinding(w http.ResponseWriter, r *http.Request) error {
	if err := h.st.DeleteRoleBinding(r.Context(), r.PathValue("id")); err != nil {
		return storeErr(err)
	}
	return deleted(w, "role binding")
}

// resolveBinding validates b and fills RoleID and GroupID from the older form's names; a name that matches
// nothing is a 400.
func (h *Handler) resolveBinding(r *http.Request, b *api.RoleBinding) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if b.RoleID == "" {
		x, err := h.st.GetRoleByName(r.Context(), b.RoleName)
		if errors.Is(err, store.ErrNotFound) {
			return api.Invalidf("role %q not found", b.RoleName)
		}
		if err != nil {
			return err
		}
		b.RoleID = x.ID
	}
	if b.GroupID == "" {
		g, err := h.st.GetGroupByName(r.Context(), b.SubjectProvider, b.SubjectName)
		if errors.Is(err, store.ErrNotFound) {
			return api.Invalidf("group %q of provider %q not found", b.SubjectName, b.SubjectProvider)
		}
		if err != nil {
			return err
		}
		b.GroupID = g.ID
	}
	return nil
}
