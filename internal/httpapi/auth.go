package httpapi

import (
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
)

// login checks a username and password and answers a session token, in the body and as an HttpOnly cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var in api.Login
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if err := checkLogin(in); err != nil {
		h.auditLogin(r, in, "", err)
		return err
	}
	in.Username = normalizeName(in.Username)
	token, p, err := h.auth.Login(r.Context(), in, sourceAddr(r))
	h.auditLogin(r, in, p.UserID, err)
	if err != nil {
		return err
	}
	h.sendToken(w, r, token)
	return nil
}

// logout ends the caller's session on the server (every replica refuses its token from then on) and clears the
// cookie. A caller authenticated by an API token has no session to end: its cookie is cleared all the same.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.PrincipalFrom(r.Context())
	if err := h.auth.Logout(r.Context(), p); err != nil {
		return err
	}
	clearCookie(w, r)
	writeJSON(w, http.StatusOK, msg{Msg: "logged out"})
	return nil
}

// clearCookie tells the browser to drop the session cookie.
func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     auth.Cookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		HttpOnly: true,
		Secure:   isSecure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// refresh answers a new token for the caller, who proved who they are with a cookie or a Bearer token (not an API
// token).
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return auth.ErrUnauthenticated
	}
	if p.APITokenID != "" {
		// A session made from a token would outlive the token's expiry, disabling and revocation.
		return withMsg(ErrForbidden, "forbidden: an API token cannot be exchanged for a session: send the token itself")
	}
	token, err := h.auth.Issue(p)
	if err != nil {
		return err
	}
	h.sendToken(w, r, token)
	return nil
}

// sendToken answers {"token"} and sets the token cookie. SameSite=Lax keeps other sites from making a browser
// send it with their POSTs; Secure is set when the client's connection is encrypted (TLS here or at a trusted proxy).
func (h *Handler) sendToken(w http.ResponseWriter, r *http.Request, token string) {
	ttl := h.auth.TokenTTL()
	http.SetCookie(w, &http.Cookie{
		Name:     auth.Cookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(ttl / time.Second),
		Expires:  time.Now().Add(ttl),
		HttpOnly: true,
		Secure:   isSecure(r),
		SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusOK, api.LoginResponse{Token: token})
}
