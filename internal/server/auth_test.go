package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name    string
		body    string
		status  int
		wantErr string
	}{
		{"good", `{"username":"root","password":"` + rootPassword + `","provider":"local"}`, 200, ""},
		{"provider omitted", `{"username":"root","password":"` + rootPassword + `"}`, 200, ""},
		{"extra fields", `{"username":"root","password":"` + rootPassword + `","provider":"local","remember":true}`, 200, ""},
		{"bad password", `{"username":"root","password":"wrong","provider":"local"}`, 401, "invalid username or password"},
		{"unknown user", `{"username":"nobody","password":"` + rootPassword + `","provider":"local"}`, 401, "invalid username or password"},
		{"active directory", `{"username":"root","password":"x","provider":"active_directory"}`, 400, `provider "active_directory" is not configured`},
		{"unknown provider", `{"username":"root","password":"x","provider":"oidc"}`, 400, "unknown provider"},
		{"malformed", `{"username":"root",`, 400, "malformed JSON"},
		{"empty body", ``, 400, "request body is empty"},
		{"wrong type", `{"username":5}`, 400, `field "username"`},
		{"missing password", `{"username":"root"}`, 400, "username and password are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, req{method: "POST", path: "/api/v1/login", body: tt.body, noAuth: true}).want(t, tt.status)
			if tt.wantErr != "" {
				if e := res.apiError(t); !strings.Contains(e.Error, tt.wantErr) {
					t.Errorf("login error = %q, want it to contain %q", e.Error, tt.wantErr)
				}
				if tt.status == 401 && res.header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
				return
			}
			var lr api.LoginResponse
			res.decode(t, &lr)
			cookie := findCookie(res.header, "token")
			if cookie == nil || cookie.Value != lr.Token || !cookie.HttpOnly || cookie.Path != "/" || cookie.SameSite != http.SameSiteLaxMode {
				t.Errorf("login cookie = %+v, want HttpOnly SameSite=Lax token cookie equal to the body token", cookie)
			}
			if res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("login answer Cache-Control = %q, want no-store", res.header.Get("Cache-Control"))
			}
		})
	}
}

func findCookie(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"bearer", map[string]string{"Authorization": "Bearer " + ts.token}, 200},
		{"cookie", map[string]string{"Cookie": "token=" + ts.token}, 200},
		{"none", nil, 401},
		{"bad bearer", map[string]string{"Authorization": "Bearer " + ts.token + "x"}, 401},
		{"basic", map[string]string{"Authorization": "Basic cm9vdDpwdw=="}, 401},
		{"api token header", map[string]string{"Token": "whatever"}, 401},
		{"bad cookie", map[string]string{"Cookie": "token=abc"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, req{method: "GET", path: "/api/v1/runners", header: tt.header, noAuth: true}).want(t, tt.status)
			if tt.status == 401 {
				res.apiError(t)
				if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want Bearer", got)
				}
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"bearer", map[string]string{"Authorization": "Bearer " + ts.token}, 200},
		{"cookie", map[string]string{"Cookie": "token=" + ts.token}, 200},
		{"none", nil, 401},
		{"garbage", map[string]string{"Authorization": "Bearer nope"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, req{method: "GET", path: "/api/v1/refresh", header: tt.header, noAuth: true}).want(t, tt.status)
			if tt.status != 200 {
				res.apiError(t)
				return
			}
			var lr api.LoginResponse
			res.decode(t, &lr)
			if c := findCookie(res.header, "token"); c == nil || c.Value != lr.Token {
				t.Errorf("refresh did not set the token cookie to the new token")
			}
			// The new token works on its own.
			ts.do(t, req{method: "GET", path: "/api/v1/tasks", noAuth: true,
				header: map[string]string{"Authorization": "Bearer " + lr.Token}}).want(t, 200)
		})
	}
}

// TestProtectedRoutes walks the route table: every route but login, health, metrics and the OpenAPI document
// answers 401 without credentials, whatever the body.
func TestProtectedRoutes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	wild := regexp.MustCompile(`\{[^}]*\}`)
	public := map[string]bool{"POST /api/v1/login": true, "GET /healthz": true, "GET /readyz": true, "GET /metrics": true,
		"GET /api/v1/openapi.json": true,
		// Authenticated by its signature alone, checked by its handler: TestWebhookDelivery covers it.
		"POST /api/v1/webhooks/run/{id}": true}
	for _, rt := range ts.api.Routes() {
		key := rt.Method + " " + rt.Path
		if strings.HasPrefix(rt.Path, "/api/v1/metadata/") {
			// Past the route adapter without user credentials, each handler checking a step token instead:
			// TestMetadataAPI covers them.
			public[key] = true
		}
		if rt.Public != public[key] {
			t.Errorf("%s: Public = %v, want %v", key, rt.Public, public[key])
		}
		if rt.Public {
			continue
		}
		path := wild.ReplaceAllString(rt.Path, "x")
		res := ts.do(t, req{method: rt.Method, path: path, body: `{"name":"x"}`, noAuth: true})
		if res.status != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials = %d %s, want 401", rt.Method, path, res.status, res.body)
			continue
		}
		res.apiError(t)
	}
}

func TestRootPasswordGenerated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noPassword := func(c *Config) { c.DataDir = dir; c.RootPassword = "" }
	ts := startServer(t, noPassword)
	m := regexp.MustCompile(`(?m)^root password: (\S+)$`).FindStringSubmatch(ts.console.String())
	if m == nil {
		t.Fatalf("Open printed %q, want a generated root password", ts.console.String())
	}
	pw := m[1]
	ts.token = ts.login(t, "root", pw)
	ts.do(t, req{method: "GET", path: "/api/v1/runners"}).want(t, 200)
	if strings.Contains(ts.logs.String(), pw) {
		t.Errorf("the generated root password appears in the server log")
	}
	if strings.Contains(ts.seen.String(), pw) {
		t.Errorf("the generated root password appears in an API answer")
	}
}

// openClose opens a server on dir and closes it without running it, as a first start would leave dir.
func openClose(t *testing.T, dir, rootPassword string) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.RootPassword, cfg.Isolation = "127.0.0.1:0", dir, rootPassword, "none"
	console := &syncBuffer{}
	s, err := Open(t.Context(), cfg, nil, console)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return console.String()
}

func TestRootPasswordOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out := openClose(t, dir, ""); !strings.HasPrefix(out, "root password: ") {
		t.Fatalf("first start printed %q, want the generated root password", out)
	}
	if out := openClose(t, dir, ""); out != "" {
		t.Errorf("second start printed %q, want nothing (root exists)", out)
	}
}

func TestRootPasswordReset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openClose(t, dir, "first-password")
	ts := startServer(t, func(c *Config) { c.DataDir = dir; c.RootPassword = "second-password"; c.ResetRootPassword = true })
	ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
		json: api.Login{Username: "root", Password: "first-password", Provider: "local"}}).want(t, http.StatusUnauthorized)
}
