package httpapi

import (
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
)

// API tokens carry their owner's rights. Anyone may create tokens for themselves and manage their own; the key is
// answered once, on create, and only a keyed hash of it is kept. Other users' tokens need api_tokens access.

func (h *Handler) listOwnTokens(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.PrincipalFrom(r.Context())
	all, err := h.st.ListAPITokens(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	listOf(w, "api_tokens", tokenViews(all), func(api.APIToken) bool { return true })
	return nil
}

func (h *Handler) listAllTokens(w http.ResponseWriter, r *http.Request) error {
	all, err := h.st.ListAPITokens(r.Context(), "")
	if err != nil {
		return err
	}
	p, _ := auth.PrincipalFrom(r.Context())
	ok := readable(r.Context(), api.ResourceAPITokens)
	listOf(w, "api_tokens", tokenViews(all), func(t api.APIToken) bool { return t.Owner == p.UserID || ok(t.ID) })
	return nil
}

func tokenViews(ts []store.APIToken) []api.APIToken {
	out := make([]api.APIToken, len(ts))
	for i, t := range ts {
		out[i] = t.APIToken
	}
	return out
}

// createToken makes a token owned by the caller and answers it with its key, the only time the key is shown.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	var in api.APIToken
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if err := checkToken(in); err != nil {
		return err
	}
	p, _ := auth.PrincipalFrom(r.Context())
	if in.Expires == nil && h.maxTokenLife > 0 {
		exp := time.Now().Add(h.maxTokenLife).UTC().Truncate(time.Second)
		in.Expires = &exp // the server's longest, when none is asked for
	}
	if err := h.checkLifetime(in.Expires); err != nil {
		return err
	}
	if err := checkOutlives(p, in.Expires); err != nil {
		return err
	}
	key, hash := h.auth.NewAPIKey()
	enabled := in.IsEnabled()
	t, err := h.st.CreateAPIToken(r.Context(), store.APIToken{
		APIToken: api.APIToken{Owner: p.UserID, Description: in.Description, Enabled: &enabled, Expires: in.Expires},
		KeyHash:  hash,
	})
	if err != nil {
		return storeErr(err)
	}
	out := t.APIToken
	out.Key = key
	return answer(w, out.ID, out)
}

// checkLifetime refuses an expiry past the server's maximum token lifetime (or none, when there is a maximum).
func (h *Handler) checkLifetime(expires *time.Time) error {
	if h.maxTokenLife <= 0 {
		return nil
	}
	// A second of slack: a client that asks for exactly the maximum computes it a moment before the server does.
	if expires == nil || expires.After(time.Now().Add(h.maxTokenLife+time.Second)) {
		return api.Invalidf("API tokens on this server expire within %s: give an expiry no later than that", h.maxTokenLife)
	}
	return nil
}

// checkOutlives refuses a token expiring later than the API token the caller authenticated with (or never), so a
// token cannot mint a longer-lived one.
func checkOutlives(p auth.Principal, expires *time.Time) error {
	limit := p.APITokenExpires
	if limit == nil || (expires != nil && !expires.After(*limit)) {
		return nil
	}
	return withMsg(ErrForbidden, "forbidden: an API token that expires at %s cannot give a token a later expiry",
		limit.Format(time.RFC3339))
}

func checkToken(t api.APIToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.Expires != nil && !t.Expires.After(time.Now()) {
		return api.Invalidf("expires %s is in the past", t.Expires.Format(time.RFC3339))
	}
	return nil
}

func (h *Handler) getToken(w http.ResponseWriter, r *http.Request) error {
	t, err := h.st.GetAPIToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	writeJSON(w, http.StatusOK, t.APIToken)
	return nil
}

// replaceToken (PUT) replaces the description, enabled flag and expiry.
func (h *Handler) replaceToken(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetAPIToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	var in api.APIToken
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateToken(w, r, stored, in)
}

// patchToken (PATCH) changes only the fields present.
func (h *Handler) patchToken(w http.ResponseWriter, r *http.Request) error {
	stored, err := h.st.GetAPIToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	in := stored.APIToken
	// Decoding writes through pointers: give in its own, so stored stays what is stored.
	in.Enabled, in.Expires = clone(stored.Enabled), clone(stored.Expires)
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateToken(w, r, stored, in)
}

func (h *Handler) updateToken(w http.ResponseWriter, r *http.Request, stored store.APIToken, in api.APIToken) error {
	if in.ID != "" && in.ID != stored.ID {
		return api.Invalidf("id %q in the body does not match API token %q in the URL", in.ID, stored.ID)
	}
	if in.Owner != "" && in.Owner != stored.Owner {
		return api.Invalidf("the owner of an API token cannot change")
	}
	if in.Key != "" {
		return api.Invalidf("the key of an API token cannot be set: create a new token")
	}
	if in.Expires != nil && (stored.Expires == nil || !in.Expires.Equal(*stored.Expires)) {
		if err := checkToken(in); err != nil {
			return err
		}
	} else if err := in.Validate(); err != nil {
		return err
	}
	p, _ := auth.PrincipalFrom(r.Context())
	if changed := (in.Expires == nil) != (stored.Expires == nil) || in.Expires != nil && !in.Expires.Equal(*stored.Expires); changed {
		if err := h.checkLifetime(in.Expires); err != nil {
			return err
		}
		if err := checkOutlives(p, in.Expires); err != nil {
			return err
		}
	}
	enabled := in.IsEnabled()
	next := stored
	next.Description, next.Enabled, next.Expires = in.Description, &enabled, in.Expires
	if err := enabling(r, p, stored, &next); err != nil {
		return err
	}
	t, err := h.st.UpdateAPIToken(r.Context(), next)
	if err != nil {
		return storeErr(err)
	}
	return answer(w, t.ID, t.APIToken)
}

// enabling applies who may turn a token on and off: a token disabled by someone other than its owner (an
// administrator, through api_tokens write) is marked so, and only a caller with api_tokens write on it may enable
// it again; a revoked token stays off.
func enabling(r *http.Request, p auth.Principal, stored store.APIToken, next *store.APIToken) error {
	switch on := next.IsEnabled(); {
	case on && stored.RevokedAt != nil:
		return withMsg(store.ErrConflict, "API token %q was revoked (a password change or a revocation of every "+
			"credential): create a new one", stored.ID)
	case on && stored.DisabledByAdmin && !stored.IsEnabled():
		if !may(r.Context(), api.AccessWrite, api.ResourceAPITokens, stored.ID) {
			return withMsg(ErrForbidden, "forbidden: API token %q was disabled by an administrator: only one can "+
				"enable it", stored.ID)
		}
		next.DisabledByAdmin = false
	case on:
		next.DisabledByAdmin = false
	case p.UserID != stored.Owner:
		next.DisabledByAdmin = true
	}
	return nil
}

// revokeAll (DELETE /api_tokens?owner=me) ends every session and API token of the caller, as a password change
// does: the tokens stay listed, revoked. The caller's own session ends too, and its cookie is cleared.
func (h *Handler) revokeAll(w http.ResponseWriter, r *http.Request) error {
	if owner := r.URL.Query().Get("owner"); owner != "me" {
		return api.Invalidf("query parameter owner=%q: only owner=me is supported (it revokes every session and "+
			"API token of the caller)", owner)
	}
	p, _ := auth.PrincipalFrom(r.Context())
	if err := h.auth.RevokeAll(r.Context(), p.UserID); err != nil {
		return err
	}
	clearCookie(w, r)
	writeJSON(w, http.StatusOK, msg{Msg: "every session and API token of " + p.Username + " revoked"})
	return nil
}

func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request) error {
	if err := h.st.DeleteAPIToken(r.Context(), r.PathValue("id")); err != nil {
		return storeErr(err)
	}
	return deleted(w, "API token")
}

// clone returns a pointer to a copy of *p, nil for nil.
func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
