package httpapi

import (
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
)

// Users: passwords are write-only (hashed with argon2id, never answered). A user may read their own record and
// change their own password (sending the current one) without any role; everything else needs users access, and
// changing someone's groups or password may hand on only access the caller holds (escalation.go).

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	all, err := h.st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	ok := readable(r.Context(), api.ResourceUsers)
	views := make([]api.User, len(all))
	for i, u := range all {
		views[i] = u.User
	}
	listOf(w, "users", views, func(u api.User) bool { return ok(u.ID, u.Username) })
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	var in api.User
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	in.Username = normalizeName(in.Username)
	setTarget(w, in.Username)
	if in.Provider == "" {
		in.Provider = api.ProviderLocal
	}
	if err := in.Validate(true); err != nil {
		return err
	}
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceUsers, in.Username); err != nil {
		return err
	}
	if err := h.mayChangeGroups(r.Context(), in.Groups, nil); err != nil {
		return err
	}
	u := store.User{User: api.User{Username: in.Username, Provider: in.Provider, Groups: in.Groups}}
	if in.Password != "" {
		hash, err := auth.HashPassword(in.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
	}
	stored, err := h.st.CreateUser(r.Context(), u)
	if err != nil {
		return storeErr(err)
	}
	return answer(w, stored.ID, stored.User)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	writeJSON(w, http.StatusOK, u.User)
	return nil
}

// replaceUser (PUT) sets the password when one is sent and the groups when "groups" is sent; username and
// provider cannot change.
func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	var in api.User
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateUser(w, r, stored, in)
}

// patchUser (PATCH) changes only the fields present.
func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	in := stored.User
	in.Groups = nil
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateUser(w, r, stored, in)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, stored store.User, in api.User) error {
	in.Username = normalizeName(in.Username)
	if in.Username == "" {
		in.Username = stored.Username
	}
	if in.Provider == "" {
		in.Provider = stored.Provider
	}
	if in.Username != stored.Username || in.Provider != stored.Provider {
		return api.Invalidf("username and provider of a user cannot change: create another user")
	}
	if err := in.Validate(false); err != nil {
		return err
	}
	if in.ID != "" && in.ID != stored.ID {
		return api.Invalidf("id %q in the body does not match user %q in the URL", in.ID, stored.ID)
	}
	groupsChange := in.Groups != nil && !sameSet(in.Groups, stored.Groups)
	if !may(r.Context(), api.AccessWrite, api.ResourceUsers, stored.ID, stored.Username) && groupsChange {
		// The adapter let the user in as the record's owner: they may change their password, nothing else.
		return forbidden(api.AccessWrite, api.ResourceUsers)
	}
	// Every check before the first write, so a refused request changes nothing.
	if groupsChange {
		if err := h.mayChangeGroups(r.Context(), added(stored.Groups, in.Groups), added(in.Groups, stored.Groups)); err != nil {
			return err
		}
	}
	var hash string
	if in.Password != "" {
		if err := h.maySetPassword(r.Context(), stored, in.CurrentPassword); err != nil {
			return err
		}
		var err error
		if hash, err = auth.HashPassword(in.Password); err != nil {
			return err
		}
	}
	if groupsChange {
		if err := h.st.SetUserGroups(r.Context(), stored.ID, in.Groups); err != nil {
			return storeErr(err)
		}
	}
	if hash != "" {
		if err := h.st.SetPassword(r.Context(), stored.ID, hash); err != nil {
			return storeErr(err)
		}
	}
	u, err := h.st.GetUser(r.Context(), stored.ID)
	if err != nil {
		return storeErr(err)
	}
	return answer(w, u.ID, u.User)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := h.st.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return storeErr(err)
	}
	return deleted(w, "user")
}

// userGroups answers the groups a user belongs to as {id, name, provider}.
func (h *Handler) userGroups(w http.ResponseWriter, r *http.Request) error {
	u, err := h.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	out := make([]api.GroupMember, 0, len(u.Groups))
	for _, id := range u.Groups {
		g, err := h.st.GetGroup(r.Context(), id)
		if err != nil {
			return err
		}
		out = append(out, api.GroupMember{ID: g.ID, Name: g.Name, Provider: g.Provider})
	}
	writeList(w, "groups", out, span{}, len(out))
	return nil
}
