package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
)

// These tests run against the real SQLite store in a temporary directory; the only stand-in is the Directory of
// directory_test.go, which scripts what LDAP answers.

var testKey = []byte("0123456789abcdef0123456789abcdef")

// newStore opens a fresh SQLite store; dir is its directory, for tests that read the database files.
func newStore(t *testing.T) (st *sqlite.Store, dir string) {
	t.Helper()
	dir = t.TempDir()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(t.Context(), filepath.Join(dir, "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

// newAuth returns an Authenticator on st with testKey; it logs to the test unless opts says otherwise.
func newAuth(t *testing.T, st Store, opts Options) *Authenticator {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	a, err := New(st, testKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// addUser stores a local user with password.
func addUser(t *testing.T, st store.Users, name, password string) store.User {
	t.Helper()
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(t.Context(), store.User{User: api.User{Username: name, Provider: api.ProviderLocal}, PasswordHash: h})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// grantStore is what grant needs.
type grantStore interface {
	store.Groups
	store.Roles
	store.RoleBindings
}

// grant gives u the role r the way the API does: a group of u's provider holding u, and a binding of r to it. It
// returns the role as stored.
func grant(t *testing.T, st grantStore, u store.User, r api.Role) api.Role {
	t.Helper()
	ctx := t.Context()
	g, err := st.CreateGroup(ctx, api.Group{Name: "holders of " + r.Name, Provider: u.Provider, UserIDs: []string{u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	r, err = st.CreateRole(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRoleBinding(ctx, api.RoleBinding{Name: r.Name + " to " + g.Name, RoleID: r.ID, GroupID: g.ID}); err != nil {
		t.Fatal(err)
	}
	return r
}

// clock is a settable time source for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// ignoreSession leaves out of a comparison of principals the session id, random, and expiry.
var ignoreSession = cmpopts.IgnoreFields(Principal{}, "SessionID", "SessionExpires")

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// request returns a request carrying the given headers and token cookie.
func request(header map[string]string, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/runners", nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: Cookie, Value: cookie})
	}
	return r
}

// wantAuthError checks that err is the *Error with message msg, a 401.
func wantAuthError(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) || ae.Msg != msg || !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("%s = %v, want the *Error %q", what, err, msg)
	}
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	if _, err := New(st, testKey[:31], Options{}); err == nil {
		t.Errorf("New with a 31-byte key succeeded")
	}
	if _, err := New(st, testKey, Options{TokenTTL: -time.Second}); err == nil {
		t.Errorf("New with a negative TTL succeeded")
	}
	a, err := New(st, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.TokenTTL() != DefaultTokenTTL {
		t.Errorf("TokenTTL() = %v, want %v", a.TokenTTL(), DefaultTokenTTL)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	alice := addUser(t, st, "alice", "s3cret-alice")
	a := newAuth(t, st, Options{TokenTTL: time.Hour})

	tests := []struct {
		name      string
		login     api.Login
		wantCreds bool // ErrInvalidCredentials
		wantBad   bool // *api.InvalidError
	}{
		{name: "good", login: api.Login{Username: "alice", Password: "s3cret-alice", Provider: "local"}},
		{name: "provider defaults to local", login: api.Login{Username: "alice", Password: "s3cret-alice"}},
		{name: "wrong password", login: api.Login{Username: "alice", Password: "s3cret-alicE", Provider: "local"}, wantCreds: true},
		{name: "unknown user", login: api.Login{Username: "mallory", Password: "s3cret-alice", Provider: "local"}, wantCreds: true},
		{name: "username is case sensitive", login: api.Login{Username: "Alice", Password: "s3cret-alice"}, wantCreds: true},
		{name: "no username", login: api.Login{Password: "s3cret-alice", Provider: "local"}, wantBad: true},
		{name: "no password", login: api.Login{Username: "alice", Provider: "local"}, wantBad: true},
		{name: "unknown provider", login: api.Login{Username: "alice", Password: "s3cret-alice", Provider: "github"}, wantBad: true},
		{name: "active_directory without a directory", login: api.Login{Username: "alice", Password: "s3cret-alice", Provider: "active_directory"}, wantBad: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			source := fmt.Sprintf("192.0.2.%d", i+1) // each case its own address: no throttling between them
			tok, p, err := a.Login(t.Context(), tt.login, source)
			switch {
			case tt.wantCreds:
				if err != ErrInvalidCredentials || !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("Login(%s) = %q, %v; want ErrInvalidCredentials", tt.name, tok, err)
				}
				if err.Error() != "invalid username or password" {
					t.Errorf("Login(%s) error %q tells more than \"invalid username or password\"", tt.name, err)
				}
			case tt.wantBad:
				var inv *api.InvalidError
				if !errors.As(err, &inv) {
					t.Fatalf("Login(%s) = %q, %v; want an *api.InvalidError", tt.name, tok, err)
				}
			default:
				if err != nil {
					t.Fatalf("Login(%s): %v", tt.name, err)
				}
				want := Principal{UserID: alice.ID, Username: "alice", Provider: "local"}
				if diff := cmp.Diff(want, p, ignoreSession); diff != "" {
					t.Errorf("Login principal (-want +got):\n%s", diff)
				}
				got, err := verify(testKey, tok, time.Now)
				if err != nil {
					t.Fatalf("verify(login token): %v", err)
				}
				if p.SessionID == "" || got.SessionID != p.SessionID || !got.SessionExpires.Equal(p.SessionExpires) {
					t.Errorf("login token's session = %q until %v, want the principal's %q until %v (not empty)",
						got.SessionID, got.SessionExpires, p.SessionID, p.SessionExpires)
				}
				if diff := cmp.Diff(want, got, ignoreSession); diff != "" {
					t.Errorf("principal of login token (-want +got):\n%s", diff)
				}
			}
			if err != nil && (tok != "" || !cmp.Equal(p, Principal{})) {
				t.Errorf("failed Login(%s) = %q, %+v; want no token and no principal", tt.name, tok, p)
			}
		})
	}
}

// TestLoginStoreFailure checks that a store that cannot answer is an internal error, not a 401 that would tell
// the user their password is wrong.
func TestLoginStoreFailure(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	addUser(t, st, "alice", "s3cret-alice")
	a := newAuth(t, st, Options{})
	st.Close()
	_, _, err := a.Login(t.Context(), api.Login{Username: "alice", Password: "s3cret-alice"}, "192.0.2.1")
	if err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Login with a closed store = %v, want an internal (non-401) error", err)
	}
	_, err = a.Authenticate(request(bearer(mustIssue(t, a, Principal{UserID: "u", Username: "u", Provider: "local"})), ""))
	if err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authenticate with a closed store = %v, want an internal (non-401) error", err)
	}
}

func mustIssue(t *testing.T, a *Authenticator, p Principal) string {
	t.Helper()
	tok, err := a.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := Principal{UserID: "u1", Username: "alice", Provider: "local", Generation: 3}
	sign := func(method jwt.SigningMethod, key any, c jwt.Claims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := func() claims {
		return claims{Name: "alice", Provider: "local", Gen: 3, RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Subject: "u1", IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}}
	}
	with := func(f func(*claims)) claims { c := good(); f(&c); return c }
	issued, err := issue(testKey, p, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"issued", issued, true},
		{"hand made", sign(jwt.SigningMethodHS256, testKey, good()), true},
		{"expired", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) })), false},
		{"no expiry", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.ExpiresAt = nil })), false},
		{"issued in the future", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })), false},
		{"wrong issuer", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.Issuer = "kriten" })), false},
		{"no issuer", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.Issuer = "" })), false},
		{"no subject", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.Subject = "" })), false},
		{"no name", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.Name = "" })), false},
		{"no provider", sign(jwt.SigningMethodHS256, testKey, with(func(c *claims) { c.Provider = "" })), false},
		{"wrong key", sign(jwt.SigningMethodHS256, []byte("another key another key another!"), good()), false},
		{"HS512", sign(jwt.SigningMethodHS512, testKey, good()), false},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good()), false},
		{"garbage", "not.a.token", false},
		{"empty", "", false},
		{"too long", strings.Repeat("a", maxTokenLen+1), false},
		{"tampered", issued[:len(issued)-2] + "xx", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := verify(testKey, tt.token, clock)
			if tt.ok {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if diff := cmp.Diff(p, got, ignoreSession); diff != "" {
					t.Errorf("verify (-want +got):\n%s", diff)
				}
				return
			}
			wantAuthError(t, "verify("+tt.name+")", err, "invalid or expired token")
		})
	}
}

func TestTokenExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	u := addUser(t, st, "alice", "s3cret-alice")
	c := newClock()
	a := newAuth(t, st, Options{TokenTTL: time.Hour, Now: c.Now})
	tok, _, err := a.Login(t.Context(), api.Login{Username: "alice", Password: "s3cret-alice"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		after time.Duration
		ok    bool
	}{{0, true}, {time.Hour - time.Second, true}, {time.Second, false}, {time.Hour, false}} {
		c.Add(step.after)
		p, err := a.Authenticate(request(bearer(tok), ""))
		if step.ok && (err != nil || p.UserID != u.ID) {
			t.Errorf("Authenticate at %v = %+v, %v; want %s", c.Now(), p, err, u.ID)
		}
		if !step.ok {
			wantAuthError(t, "Authenticate at "+c.Now().String(), err, "invalid or expired token")
		}
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	alice := addUser(t, st, "alice", "s3cret-alice")
	role := grant(t, st, alice, api.Role{Name: "deployers", Resource: api.ResourceTasks, ResourceIDs: []string{"deploy"}, Access: api.AccessWrite})
	a := newAuth(t, st, Options{})
	tok, _, err := a.Login(t.Context(), api.Login{Username: "alice", Password: "s3cret-alice"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	key, hash := a.NewAPIKey()
	apiTok, err := st.CreateAPIToken(t.Context(), store.APIToken{APIToken: api.APIToken{Owner: alice.ID, Description: "ci"}, KeyHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	session := Principal{UserID: alice.ID, Username: "alice", Provider: "local", Grants: rbac.Grants{role}}
	viaKey := session
	viaKey.APITokenID = apiTok.ID

	tests := []struct {
		name    string
		header  map[string]string
		cookie  string
		want    Principal
		wantErr string // "" means success
	}{
		{name: "nothing", wantErr: "authentication required"},
		{name: "bearer", header: bearer(tok), want: session},
		{name: "bearer lowercase scheme", header: map[string]string{"Authorization": "bearer " + tok}, want: session},
		{name: "bearer spaces around the token", header: map[string]string{"Authorization": "Bearer   " + tok + " "}, want: session},
		{name: "cookie", cookie: tok, want: session},
		{name: "api token", header: map[string]string{"Token": key}, want: viaKey},
		{name: "bad bearer", header: bearer("x.y.z"), wantErr: "invalid or expired token"},
		{name: "empty bearer", header: map[string]string{"Authorization": "Bearer "}, wantErr: "invalid or expired token"},
		{name: "bad cookie", cookie: "x.y.z", wantErr: "invalid or expired token"},
		{name: "basic scheme", header: map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, wantErr: "unsupported authorization scheme: use Bearer"},
		{name: "token without scheme", header: map[string]string{"Authorization": tok}, wantErr: "unsupported authorization scheme: use Bearer"},
		{name: "bad api token", header: map[string]string{"Token": "abc"}, wantErr: "invalid API token"},
		{name: "bad api token first, good bearer after", header: map[string]string{"Token": "abc", "Authorization": "Bearer " + tok}, wantErr: "invalid API token"},
		{name: "bad api token first, good cookie after", header: map[string]string{"Token": APIKeyPrefix + "abc"}, cookie: tok, wantErr: "invalid API token"},
		{name: "good api token first, bad bearer after", header: map[string]string{"Token": key, "Authorization": "Bearer x.y.z"}, want: viaKey},
		{name: "bad bearer first, good cookie after", header: bearer("nope"), cookie: tok, wantErr: "invalid or expired token"},
		{name: "unsupported scheme first, good cookie after", header: map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, cookie: tok, wantErr: "unsupported authorization scheme: use Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.Authenticate(request(tt.header, tt.cookie))
			if tt.wantErr != "" {
				wantAuthError(t, "Authenticate", err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreSession); diff != "" {
				t.Errorf("Authenticate (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAccessCache checks that grants and the password generation come from the store at request time, not from
// the token, and are reused for accessTTL: a change made in the store directly (as by another replica) applies
// within accessTTL, and at once after Forget, which the API calls after every identity change.
func TestAccessCache(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	bob := addUser(t, st, "bob", "s3cret-bob")
	c := newClock()
	a := newAuth(t, st, Options{Now: c.Now})
	tok, _, err := a.Login(t.Context(), api.Login{Username: "bob", Password: "s3cret-bob"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	grants := func(what string) rbac.Grants {
		t.Helper()
		p, err := a.Authenticate(request(bearer(tok), ""))
		if err != nil {
			t.Fatalf("Authenticate %s: %v", what, err)
		}
		return p.Grants
	}
	if g := grants("before any role"); len(g) != 0 {
		t.Fatalf("grants before any role = %v, want none", g)
	}
	readers := grant(t, st, bob, api.Role{Name: "readers", Resource: api.ResourceAll, ResourceIDs: []string{api.AllIDs}, Access: api.AccessRead})
	c.Add(accessTTL - time.Nanosecond)
	if g := grants("within accessTTL of a role being bound"); len(g) != 0 {
		t.Errorf("grants within accessTTL = %v, want the cached none", g)
	}
	c.Add(time.Nanosecond)
	if diff := cmp.Diff(rbac.Grants{readers}, grants("accessTTL after a role was bound")); diff != "" {
		t.Errorf("grants accessTTL after a role was bound (-want +got):\n%s", diff)
	}

	writers := grant(t, st, bob, api.Role{Name: "writers", Resource: api.ResourceTasks, ResourceIDs: []string{"deploy"}, Access: api.AccessWrite})
	a.Forget()
	if diff := cmp.Diff(rbac.Grants{readers, writers}, grants("after Forget")); diff != "" {
		t.Errorf("grants after Forget (-want +got):\n%s", diff)
	}

	h, err := HashPassword("n3w-secret-bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(t.Context(), bob.ID, h); err != nil {
		t.Fatal(err)
	}
	grants("within accessTTL of a password change") // still the cached generation
	a.Forget()
	_, err = a.Authenticate(request(bearer(tok), ""))
	wantAuthError(t, "Authenticate after a password change and Forget", err, errTokenRevoked.Msg)
}

func TestAuthenticateDeletedUser(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	bob := addUser(t, st, "bob", "s3cret-bob")
	a := newAuth(t, st, Options{})
	tok, _, err := a.Login(t.Context(), api.Login{Username: "bob", Password: "s3cret-bob"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	key, hash := a.NewAPIKey()
	if _, err := st.CreateAPIToken(t.Context(), store.APIToken{APIToken: api.APIToken{Owner: bob.ID}, KeyHash: hash}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(request(bearer(tok), "")); err != nil {
		t.Fatalf("Authenticate before the delete: %v", err)
	}
	if err := st.DeleteUser(t.Context(), bob.ID); err != nil {
		t.Fatal(err)
	}
	a.Forget() // as the API does after every identity change
	_, err = a.Authenticate(request(bearer(tok), ""))
	wantAuthError(t, "Authenticate(session of a deleted user)", err, "invalid or expired token")
	_, err = a.Authenticate(request(map[string]string{"Token": key}, ""))
	wantAuthError(t, "Authenticate(API token of a deleted user)", err, "invalid API token")
	// A new user of the same name is someone else: the old token does not become theirs.
	addUser(t, st, "bob", "s3cret-bob-2")
	_, err = a.Authenticate(request(bearer(tok), ""))
	wantAuthError(t, "Authenticate(session of a deleted user, name reused)", err, "invalid or expired token")
}

func TestPasswordChangeRevokesSessions(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	alice := addUser(t, st, "alice", "s3cret-alice")
	a := newAuth(t, st, Options{})
	login := func(password string) (string, error) {
		tok, _, err := a.Login(t.Context(), api.Login{Username: "alice", Password: password}, "192.0.2.1")
		return tok, err
	}
	before, err := login("s3cret-alice")
	if err != nil {
		t.Fatal(err)
	}
	key, hash := a.NewAPIKey()
	if _, err := st.CreateAPIToken(t.Context(), store.APIToken{APIToken: api.APIToken{Owner: alice.ID}, KeyHash: hash}); err != nil {
		t.Fatal(err)
	}

	h, err := HashPassword("n3w-secret-alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(t.Context(), alice.ID, h); err != nil {
		t.Fatal(err)
	}
	a.Forget()
	_, err = a.Authenticate(request(bearer(before), ""))
	wantAuthError(t, "Authenticate(token from before the password change)", err, errTokenRevoked.Msg)
	_, err = a.Authenticate(request(nil, before))
	wantAuthError(t, "Authenticate(cookie from before the password change)", err, errTokenRevoked.Msg)

	if _, err := login("s3cret-alice"); err != ErrInvalidCredentials {
		t.Errorf("Login(old password) = %v, want ErrInvalidCredentials", err)
	}
	after, err := login("n3w-secret-alice")
	if err != nil {
		t.Fatalf("Login(new password): %v", err)
	}
	p, err := a.Authenticate(request(bearer(after), ""))
	if err != nil || p.UserID != alice.ID || p.Generation != 1 {
		t.Errorf("Authenticate(token issued after the change) = %+v, %v; want %s at generation 1", p, err, alice.ID)
	}
	// A password change ends every credential of the user: API tokens too.
	_, err = a.Authenticate(request(map[string]string{"Token": key}, ""))
	wantAuthError(t, "Authenticate(API token after the change)", err, errAPIKeyRevoked.Msg)
}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	if _, ok := PrincipalFrom(t.Context()); ok {
		t.Errorf("PrincipalFrom(empty ctx) reported a principal")
	}
	p := Principal{UserID: "u", Username: "n", Provider: "local", Grants: rbac.Grants{{Name: "r"}}}
	got, ok := PrincipalFrom(WithPrincipal(t.Context(), p))
	if !ok || !cmp.Equal(got, p) {
		t.Errorf("PrincipalFrom(WithPrincipal(p)) = %+v, %v, want %+v, true", got, ok, p)
	}
	if _, ok := PrincipalFrom(context.WithValue(t.Context(), principalKey{}, "not a principal")); ok {
		t.Errorf("PrincipalFrom accepted a value of another type")
	}
}
