package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestCookieOrigin: a state-changing request authenticated by the session cookie is refused (403) when a browser
// says it comes from another site — a foreign Origin, or Sec-Fetch-Site: cross-site — and allowed from the
// server's own pages, from an allowlisted origin, and from clients that send neither (curl with a cookie jar).
// Requests that carry a token are not browser sessions and are not checked.
func TestCookieOrigin(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.AllowedOrigins = []string{"https://ui.example.com"} })
	self := "http://" + strings.TrimPrefix(ts.url, "http://")
	cookie := "token=" + ts.token
	tests := []struct {
		name   string
		header map[string]string
		bearer bool
		status int
	}{
		{"cookie, no origin (curl)", map[string]string{"Cookie": cookie}, false, http.StatusOK},
		{"cookie, own origin", map[string]string{"Cookie": cookie, "Origin": self}, false, http.StatusOK},
		{"cookie, own origin, same-origin fetch", map[string]string{"Cookie": cookie, "Origin": self, "Sec-Fetch-Site": "same-origin"}, false, http.StatusOK},
		{"cookie, allowlisted origin", map[string]string{"Cookie": cookie, "Origin": "https://ui.example.com"}, false, http.StatusOK},
		{"cookie, foreign origin", map[string]string{"Cookie": cookie, "Origin": "https://evil.example"}, false, http.StatusForbidden},
		{"cookie, sibling subdomain", map[string]string{"Cookie": cookie, "Origin": "https://x.ui.example.com"}, false, http.StatusForbidden},
		{"cookie, null origin", map[string]string{"Cookie": cookie, "Origin": "null"}, false, http.StatusForbidden},
		{"cookie, own host other port", map[string]string{"Cookie": cookie, "Origin": "http://127.0.0.1:1"}, false, http.StatusForbidden},
		{"cookie, cross-site without origin", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, false, http.StatusForbidden},
		{"bearer, foreign origin", map[string]string{"Origin": "https://evil.example"}, true, http.StatusOK},
		{"bearer and cookie, foreign origin", map[string]string{"Cookie": cookie, "Origin": "https://evil.example"}, true, http.StatusOK},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "r" + string(rune('a'+i))
			res := ts.do(t, req{method: "POST", path: "/api/v1/runners", noAuth: !tt.bearer, header: tt.header,
				json: api.Runner{Name: name, GitURL: "https://git.example.com/r.git"}}).want(t, tt.status)
			_, err := ts.store.GetRunner(t.Context(), name)
			if created := err == nil; created != (tt.status == http.StatusOK) {
				t.Errorf("runner created = %v after %d", created, res.status)
			}
			if tt.status == http.StatusForbidden {
				if e := res.apiError(t); !strings.Contains(e.Error, "refused") {
					t.Errorf("error %q, want it to say the request was refused", e.Error)
				}
			}
		})
	}
	// Reading stays open to any origin: only state changes are refused.
	ts.do(t, req{method: "GET", path: "/api/v1/runners", noAuth: true,
		header: map[string]string{"Cookie": cookie, "Origin": "https://evil.example"}}).want(t, http.StatusOK)
	// A page elsewhere cannot log a browser in (login CSRF); curl still can.
	login := `{"username":"root","password":"` + rootPassword + `","provider":"local"}`
	ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true, body: login,
		header: map[string]string{"Origin": "https://evil.example"}}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true, body: login}).want(t, http.StatusOK)
}

// TestNamesVisibleAndNormalized: user and group names with invisible or direction-changing characters are
// refused; names are stored in NFC, so two spellings of one name are one user, and either logs in.
func TestNamesVisibleAndNormalized(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, n := range []string{"admin\u202etxt", "ro\u200bot", "\ufeffroot", "root\u200e", "ops\u2066"} {
		ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: n, Password: "password-x", Provider: "local"}}).
			want(t, http.StatusBadRequest)
		ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: n, Provider: "local"}}).
			want(t, http.StatusBadRequest)
	}
	const nfd, nfc = "zoe\u0308", "zo\u00eb"
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: nfd, Password: "password-zoe", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	if u.Username != nfc {
		t.Errorf("created user %q, want it stored as NFC %q", u.Username, nfc)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: nfc, Password: "password-zoe", Provider: "local"}}).
		want(t, http.StatusConflict)
	ts.login(t, nfd, "password-zoe")
	ts.login(t, nfc, "password-zoe")
	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "caf" + "e\u0301", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &g)
	if g.Name != "caf\u00e9" {
		t.Errorf("created group %q, want NFC %q", g.Name, "caf\u00e9")
	}
}
