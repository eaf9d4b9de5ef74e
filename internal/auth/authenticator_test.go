package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// users is an in-memory store.Users for these unit tests; err, when set, is returned by every call to inject a
// store failure. The server's tests run the same code against the real SQLite store.
type users struct {
	mu  sync.Mutex
	m   map[string]store.User // by provider + "/" + username
	err error
}

func newUsers() *users { return &users{m: map[string]store.User{}} }

func (u *users) CreateUser(_ context.Context, x store.User) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	k := x.Provider + "/" + x.Username
	if _, ok := u.m[k]; ok {
		return store.ErrConflict
	}
	u.m[k] = x
	return nil
}

func (u *users) GetUserByName(_ context.Context, provider, username string) (store.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return store.User{}, u.err
	}
	x, ok := u.m[provider+"/"+username]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return x, nil
}

func (u *users) SetPassword(_ context.Context, id, hash string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	for k, x := range u.m {
		if x.ID == id {
			x.PasswordHash = hash
			u.m[k] = x
			return nil
		}
	}
	return store.ErrNotFound
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func addUser(t *testing.T, u *users, id, name, password string) {
	t.Helper()
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.CreateUser(t.Context(), store.User{ID: id, Username: name, Provider: api.ProviderLocal, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

func newAuthenticator(t *testing.T, u UserLookup, now func() time.Time) *Authenticator {
	t.Helper()
	a, err := New(u, testKey, Options{TokenTTL: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	if _, err := New(newUsers(), testKey[:31], Options{}); err == nil {
		t.Errorf("New with a 31-byte key succeeded")
	}
	if _, err := New(newUsers(), testKey, Options{TokenTTL: -time.Second}); err == nil {
		t.Errorf("New with a negative TTL succeeded")
	}
	a, err := New(newUsers(), testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.TokenTTL() != DefaultTokenTTL {
		t.Errorf("TokenTTL() = %v, want %v", a.TokenTTL(), DefaultTokenTTL)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	u := newUsers()
	addUser(t, u, "id-alice", "alice", "s3cret-alice")
	a := newAuthenticator(t, u, nil)

	tests := []struct {
		name      string
		login     api.Login
		wantUnath bool // *Error wrapping ErrUnauthenticated
		wantBad   bool // *api.InvalidError
	}{
		{name: "good", login: api.Login{Username: "alice", Password: "s3cret-alice", Provider: "local"}},
		{name: "provider defaults to local", login: api.Login{Username: "alice", Password: "s3cret-alice"}},
		{name: "wrong password", login: api.Login{Username: "alice", Password: "nope", Provider: "local"}, wantUnath: true},
		{name: "unknown user", login: api.Login{Username: "mallory", Password: "s3cret-alice", Provider: "local"}, wantUnath: true},
		{name: "active directory", login: api.Login{Username: "alice", Password: "x", Provider: "active_directory"}, wantBad: true},
		{name: "unknown provider", login: api.Login{Username: "alice", Password: "x", Provider: "github"}, wantBad: true},
		{name: "no username", login: api.Login{Password: "x", Provider: "local"}, wantBad: true},
		{name: "no password", login: api.Login{Username: "alice", Provider: "local"}, wantBad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := a.Login(t.Context(), tt.login)
			var inv *api.InvalidError
			switch {
			case tt.wantUnath:
				var ae *Error
				if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthenticated) || ae.Msg != "invalid username or password" {
					t.Fatalf("Login(%+v) = %q, %v; want the generic unauthenticated error", tt.login, tok, err)
				}
			case tt.wantBad:
				if !errors.As(err, &inv) {
					t.Fatalf("Login(%+v) = %q, %v; want an *api.InvalidError", tt.login, tok, err)
				}
			default:
				if err != nil {
					t.Fatalf("Login(%+v): %v", tt.login, err)
				}
				p, err := verify(testKey, tok, time.Now)
				if err != nil {
					t.Fatalf("verify(login token): %v", err)
				}
				want := Principal{UserID: "id-alice", Username: "alice", Provider: "local"}
				if diff := cmp.Diff(want, p); diff != "" {
					t.Errorf("principal of login token (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestLoginStoreFailure(t *testing.T) {
	t.Parallel()
	u := newUsers()
	u.err = errors.New("disk on fire")
	a := newAuthenticator(t, u, nil)
	_, err := a.Login(t.Context(), api.Login{Username: "alice", Password: "x", Provider: "local"})
	if err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Login with a failing store = %v, want an internal (non-401) error", err)
	}
}

func TestLoginADMessage(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t, newUsers(), nil)
	_, err := a.Login(t.Context(), api.Login{Username: "a", Password: "b", Provider: "active_directory"})
	if err == nil || !strings.Contains(err.Error(), "provider \"active_directory\" not configured") {
		t.Errorf("Login(active_directory) = %v, want \"provider not configured\"", err)
	}
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := Principal{UserID: "u1", Username: "alice", Provider: "local"}
	sign := func(method jwt.SigningMethod, key any, c jwt.Claims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := func() claims {
		return claims{Name: "alice", Provider: "local", RegisteredClaims: jwt.RegisteredClaims{
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
				if diff := cmp.Diff(p, got); diff != "" {
					t.Errorf("verify (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("verify(%s) = %+v, %v; want ErrUnauthenticated", tt.name, got, err)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t, newUsers(), nil)
	p := Principal{UserID: "u1", Username: "alice", Provider: "local"}
	tok, err := a.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		header  map[string]string
		cookie  string
		wantErr string // "" means success
	}{
		{name: "nothing", wantErr: "authentication required"},
		{name: "bearer", header: map[string]string{"Authorization": "Bearer " + tok}},
		{name: "bearer lowercase scheme", header: map[string]string{"Authorization": "bearer " + tok}},
		{name: "cookie", cookie: tok},
		{name: "bad bearer", header: map[string]string{"Authorization": "Bearer x.y.z"}, wantErr: "invalid or expired token"},
		{name: "bad cookie", cookie: "x.y.z", wantErr: "invalid or expired token"},
		{name: "basic scheme", header: map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, wantErr: "unsupported authorization scheme: use Bearer"},
		{name: "api token header", header: map[string]string{"Token": "abc"}, wantErr: "invalid API token"},
		{name: "api token wins over bearer", header: map[string]string{"Token": "abc", "Authorization": "Bearer " + tok}, wantErr: "invalid API token"},
		{name: "bad bearer wins over cookie", header: map[string]string{"Authorization": "Bearer nope"}, cookie: tok, wantErr: "invalid or expired token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/api/v1/runners", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: Cookie, Value: tt.cookie})
			}
			got, err := a.Authenticate(r)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if diff := cmp.Diff(p, got); diff != "" {
					t.Errorf("Authenticate (-want +got):\n%s", diff)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Msg != tt.wantErr || !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("Authenticate = %+v, %v; want error %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestTokenExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAuthenticator(t, newUsers(), func() time.Time { return now })
	tok, err := a.Issue(Principal{UserID: "u", Username: "u", Provider: "local"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"fresh", 0, true},
		{"just before expiry", time.Hour - time.Second, true},
		{"at expiry", time.Hour, false},
		{"after expiry", 2 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := verify(testKey, tok, func() time.Time { return now.Add(tt.after) })
			if (err == nil) != tt.ok {
				t.Errorf("verify after %v = %v, want ok=%v", tt.after, err, tt.ok)
			}
		})
	}
}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	if _, ok := PrincipalFrom(t.Context()); ok {
		t.Errorf("PrincipalFrom(empty ctx) reported a principal")
	}
	p := Principal{UserID: "u", Username: "n", Provider: "local"}
	got, ok := PrincipalFrom(WithPrincipal(t.Context(), p))
	if !ok || got != p {
		t.Errorf("PrincipalFrom(WithPrincipal(p)) = %+v, %v, want %+v, true", got, ok, p)
	}
}
