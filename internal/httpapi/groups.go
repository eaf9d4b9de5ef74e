package httpapi

import (
	"errors"
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Groups: members are users of the group's provider. role_ids is read-only: roles are granted through role
// bindings, and a request may only repeat the current list (Kriten's clients send it back).

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	all, err := h.st.ListGroups(r.Context())
	if err != nil {
		return err
	}
	ok := readable(r.Context(), api.ResourceGroups)
	listOf(w, "groups", all, func(g api.Group) bool { return ok(g.ID, g.Name) })
	return nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var in api.Group
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	in.Name = normalizeName(in.Name)
	setTarget(w, in.Name)
	if in.Provider == "" {
		in.Provider = api.ProviderLocal
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if len(in.RoleIDs) > 0 {
		return errRoleIDsReadOnly
	}
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceGroups, in.Name); err != nil {
		return err
	}
	g, err := h.st.CreateGroup(r.Context(), api.Group{Name: in.Name, Provider: in.Provider, UserIDs: in.UserIDs})
	if err != nil {
		return storeErr(err)
	}
	return answer(w, g.ID, g)
}

var errRoleIDsReadOnly = api.Invalidf("role_ids is read-only: grant roles to a group with role bindings")

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.st.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

// replaceGroup (PUT) sets the name, and the members when user_ids is sent.
func (h *Handler) replaceGroup(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	var in api.Group
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateGroup(w, r, stored, in)
}

// patchGroup (PATCH) changes only the fields present.
func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	in := stored
	in.UserIDs, in.RoleIDs = nil, nil
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateGroup(w, r, stored, in)
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request, stored, in api.Group) error {
	in.Name = normalizeName(in.Name)
	if in.Provider == "" {
		in.Provider = stored.Provider
	}
	if in.Provider != stored.Provider {
		return api.Invalidf("the provider of a group cannot change")
	}
	if in.ID != "" && in.ID != stored.ID {
		return api.Invalidf("id %q in the body does not match group %q in the URL", in.ID, stored.ID)
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if in.RoleIDs != nil && !sameSet(in.RoleIDs, stored.RoleIDs) {
		return errRoleIDsReadOnly
	}
	if in.UserIDs != nil && len(added(stored.UserIDs, in.UserIDs)) > 0 {
		if err := h.mayAddMembers(r.Context(), stored); err != nil {
			return err
		}
	}
	in.ID = stored.ID
	g, err := h.st.UpdateGroup(r.Context(), in)
	if err != nil {
		return storeErr(err)
	}
	return answer(w, g.ID, g)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := h.st.DeleteGroup(r.Context(), r.PathValue("id")); err != nil {
		return storeErr(err)
	}
	return deleted(w, "group")
}

// groupUsers answers a group's members as {id, name, provider}.
func (h *Handler) groupUsers(w http.ResponseWriter, r *http.Request) error {
	g, err := h.st.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	out := make([]api.GroupMember, 0, len(g.UserIDs))
	for _, id := range g.UserIDs {
		u, err := h.st.GetUser(r.Context(), id)
		if err != nil {
			return err
		}
		out = append(out, api.GroupMember{ID: u.ID, Name: u.Username, Provider: u.Provider})
	}
	writeList(w, "users", out, span{}, len(out))
	return nil
}

// addGroupUsers adds the users listed ([{id} or {name, provider}]) to a group and answers the group.
func (h *Handler) addGroupUsers(w http.ResponseWriter, r *http.Request) error {
	return h.changeMembers(w, r, true)
}

// removeGroupUsers removes the users listed from a group and answers the group.
func (h *Handler) removeGroupUsers(w http.ResponseWriter, r *http.Request) error {
	return h.changeMembers(w, r, false)
}

func (h *Handler) changeMembers(w http.ResponseWriter, r *http.Request, add bool) error {
	g, err := h.st.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	var in []api.GroupMember
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	members := map[string]bool{}
	for _, id := range g.UserIDs {
		members[id] = true
	}
	grows := false
	for _, m := range in {
		id, err := h.memberID(r, m)
		if err != nil {
			return err
		}
		grows = grows || (add && !members[id])
		members[id] = add
	}
	if grows {
		if err := h.mayAddMembers(r.Context(), g); err != nil {
			return err
		}
	}
	next := make([]string, 0, len(members))
	for id, member := range members {
		if member {
			next = append(next, id)
		}
	}
	g.UserIDs = next
	g, err = h.st.UpdateGroup(r.Context(), g)
	if err != nil {
		return storeErr(err)
	}
	return answer(w, g.ID, g)
}

// memberID finds the user a GroupMember names: by id, or by name and provider.
func (h *Handler) memberID(r *http.Request, m api.GroupMember) (string, error) {
	var u store.User
	var err error
	switch {
	case m.ID != "":
		u, err = h.st.GetUser(r.Context(), m.ID)
	case m.Name != "":
		p := m.Provider
		if p == "" {
			p = api.ProviderLocal
		}
		u, err = h.st.GetUserByName(r.Context(), p, m.Name)
	default:
		return "", api.Invalidf("give the user's id, or its name and provider")
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", &api.InvalidError{Msg: err.Error()}
	}
	return u.ID, err
}
