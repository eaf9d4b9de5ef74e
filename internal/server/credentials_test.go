package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// newUserSession creates a local user and returns its id and a session token.
func newUserSession(t *testing.T, ts *testServer, name string) (string, string) {
	t.Helper()
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: name, Password: "password-" + name, Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	return u.ID, ts.login(t, name, "password-"+name)
}

func newToken(t *testing.T, ts *testServer, r req, in api.APIToken) api.APIToken {
	t.Helper()
	r.method, r.path, r.json = "POST", "/api/v1/api_tokens", in
	var out api.APIToken
	ts.do(t, r).want(t, http.StatusOK).decode(t, &out)
	return out
}

func withToken(key string) req { return req{noAuth: true, header: map[string]string{"Token": key}} }

func wantSays(t *testing.T, res *resp, says string) {
	t.Helper()
	if e := res.apiError(t); !strings.Contains(e.Error, says) {
		t.Errorf("%s %s: error %q, want it to say %q", res.req.method, res.req.path, e.Error, says)
	}
}

// TestAPITokenBounds: an API token cannot become a session (which would outlive it) nor mint a token that
// outlives it.
func TestAPITokenBounds(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	hour := time.Now().Add(time.Hour)
	tok := newToken(t, ts, req{}, api.APIToken{Description: "ci", Expires: &hour})

	r := withToken(tok.Key)
	r.method, r.path = "GET", "/api/v1/refresh"
	wantSays(t, ts.do(t, r).want(t, http.StatusForbidden), "cannot be exchanged for a session")

	later, sooner := hour.Add(time.Hour), hour.Add(-30*time.Minute)
	for name, exp := range map[string]*time.Time{"later": &later, "never": nil} {
		r := withToken(tok.Key)
		r.method, r.path, r.json = "POST", "/api/v1/api_tokens", api.APIToken{Description: name, Expires: exp}
		if res := ts.do(t, r); res.status != http.StatusForbidden {
			t.Errorf("token expiring in 1h creating a token expiring %s = %d, want 403", name, res.status)
		}
	}
	child := newToken(t, ts, withToken(tok.Key), api.APIToken{Description: "sooner", Expires: &sooner})
	// Nor can it move an expiry past its own.
	r = withToken(tok.Key)
	r.method, r.path, r.body = "PATCH", "/api/v1/api_tokens/"+child.ID, `{"expires":null}`
	ts.do(t, r).want(t, http.StatusForbidden)
	// A session may.
	ts.do(t, req{method: "PATCH", path: "/api/v1/api_tokens/" + child.ID, body: `{"expires":null}`}).want(t, http.StatusOK)
}

// TestAPITokenDisabledByAdmin: a token an administrator disabled stays disabled for its owner; one the owner
// disabled, the owner may enable.
func TestAPITokenDisabledByAdmin(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	_, dee := newUserSession(t, ts, "dee")
	tok := newToken(t, ts, req{as: dee}, api.APIToken{Description: "dee's"})
	path := "/api/v1/api_tokens/" + tok.ID

	var got api.APIToken
	ts.do(t, req{method: "PATCH", path: path, body: `{"enabled":false}`}).want(t, http.StatusOK).decode(t, &got) // root
	if got.IsEnabled() || !got.DisabledByAdmin {
		t.Fatalf("token disabled by root = enabled %v, disabled_by_admin %v; want false, true", got.IsEnabled(), got.DisabledByAdmin)
	}
	wantSays(t, ts.do(t, req{method: "PATCH", path: path, body: `{"enabled":true}`, as: dee}).want(t, http.StatusForbidden),
		"disabled by an administrator")
	ts.do(t, req{method: "PUT", path: path, json: api.APIToken{Description: "again", Enabled: ptrTo(true)}, as: dee}).
		want(t, http.StatusForbidden)
	// The owner may still change the description, and disabling it again keeps the mark.
	ts.do(t, req{method: "PATCH", path: path, body: `{"description":"renamed","enabled":false}`, as: dee}).want(t, http.StatusOK).decode(t, &got)
	if !got.DisabledByAdmin {
		t.Errorf("owner's edit cleared disabled_by_admin")
	}
	ts.do(t, withKeyGet(tok.Key)).want(t, http.StatusUnauthorized)
	ts.do(t, req{method: "PATCH", path: path, body: `{"enabled":true}`}).want(t, http.StatusOK).decode(t, &got) // root
	if !got.IsEnabled() || got.DisabledByAdmin {
		t.Errorf("token enabled by root = enabled %v, disabled_by_admin %v; want true, false", got.IsEnabled(), got.DisabledByAdmin)
	}
	ts.do(t, withKeyGet(tok.Key)).want(t, http.StatusOK)
	// Disabled by its owner: the owner enables it again.
	ts.do(t, req{method: "PATCH", path: path, body: `{"enabled":false}`, as: dee}).want(t, http.StatusOK).decode(t, &got)
	if got.DisabledByAdmin {
		t.Errorf("token disabled by its owner has disabled_by_admin")
	}
	ts.do(t, req{method: "PATCH", path: path, body: `{"enabled":true}`, as: dee}).want(t, http.StatusOK)
}

func ptrTo[T any](v T) *T { return &v }

func withKeyGet(key string) req {
	r := withToken(key)
	r.method, r.path = "GET", "/api/v1/api_tokens"
	return r
}

// TestRevokeCredentials: a password change and DELETE /api_tokens?owner=me end every session and API token of
// that user, which stay listed as revoked and cannot be enabled again; other users keep theirs.
func TestRevokeCredentials(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name   string
		revoke func(t *testing.T, id, session string)
	}{
		{"password change", func(t *testing.T, id, session string) {
			// The first case's user is "ua" (see below).
			ts.do(t, req{method: "PATCH", path: "/api/v1/users/" + id, body: `{"password":"a-new-password","current_password":"password-ua"}`, as: session}).
				want(t, http.StatusOK)
		}},
		{"password reset by an administrator", func(t *testing.T, id, _ string) {
			ts.do(t, req{method: "PATCH", path: "/api/v1/users/" + id, body: `{"password":"a-new-password"}`}).want(t, http.StatusOK)
		}},
		{"revoke all", func(t *testing.T, _, session string) {
			res := ts.do(t, req{method: "DELETE", path: "/api/v1/api_tokens?owner=me", as: session}).want(t, http.StatusOK)
			if c := findCookie(res.header, "token"); c == nil || c.MaxAge >= 0 {
				t.Errorf("revoke all did not clear the cookie")
			}
		}},
	}
	_, bystander := newUserSession(t, ts, "bystander")
	bystanderTok := newToken(t, ts, req{as: bystander}, api.APIToken{Description: "kept"})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, s1 := newUserSession(t, ts, "u"+string(rune('a'+i)))
			s2 := ts.login(t, "u"+string(rune('a'+i)), "password-u"+string(rune('a'+i)))
			tok := newToken(t, ts, req{as: s1}, api.APIToken{Description: "ci"})
			tt.revoke(t, id, s1)
			for _, s := range []string{s1, s2} {
				ts.do(t, req{method: "GET", path: "/api/v1/api_tokens", as: s}).want(t, http.StatusUnauthorized)
			}
			wantSays(t, ts.do(t, withKeyGet(tok.Key)).want(t, http.StatusUnauthorized), "revoked")
			var listed api.APIToken
			ts.do(t, req{method: "GET", path: "/api/v1/api_tokens/" + tok.ID}).want(t, http.StatusOK).decode(t, &listed)
			if listed.IsEnabled() || listed.RevokedAt == nil {
				t.Errorf("revoked token listed as enabled %v, revoked_at %v; want disabled and revoked", listed.IsEnabled(), listed.RevokedAt)
			}
			ts.do(t, req{method: "PATCH", path: "/api/v1/api_tokens/" + tok.ID, body: `{"enabled":true}`}).want(t, http.StatusConflict)
			ts.do(t, req{method: "GET", path: "/api/v1/api_tokens", as: bystander}).want(t, http.StatusOK)
			ts.do(t, withKeyGet(bystanderTok.Key)).want(t, http.StatusOK)
		})
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/api_tokens?owner=someone", as: bystander}).want(t, http.StatusBadRequest)
	ts.do(t, req{method: "DELETE", path: "/api/v1/api_tokens", as: bystander}).want(t, http.StatusBadRequest)
}

// TestLogoutRevokesSession: after POST /logout the session's token is refused even when presented again (a copy),
// while the user's other sessions work.
func TestLogoutRevokesSession(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	_, s1 := newUserSession(t, ts, "dee")
	s2 := ts.login(t, "dee", "password-dee")
	ts.do(t, req{method: "POST", path: "/api/v1/logout", as: s1}).want(t, http.StatusOK)
	wantSays(t, ts.do(t, req{method: "GET", path: "/api/v1/api_tokens", as: s1}).want(t, http.StatusUnauthorized), "logout")
	ts.do(t, req{method: "GET", path: "/api/v1/refresh", as: s1}).want(t, http.StatusUnauthorized)
	ts.do(t, req{method: "GET", path: "/api/v1/api_tokens", noAuth: true, header: map[string]string{"Cookie": "token=" + s1}}).
		want(t, http.StatusUnauthorized)
	ts.do(t, req{method: "GET", path: "/api/v1/api_tokens", as: s2}).want(t, http.StatusOK)
}
