package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// ErrUnauthenticated: the request carries no credentials, or credentials that prove no identity. Every error this
// package returns for bad credentials is an *Error that wraps it; the API answers them with 401.
var ErrUnauthenticated = errors.New("auth: unauthenticated")

// Error is a failed authentication. Msg is safe to show to the caller: it never says which of username or
// password was wrong and never repeats a credential.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrUnauthenticated) hold.
func (e *Error) Unwrap() error { return ErrUnauthenticated }

var (
	errNoCredentials  = &Error{Msg: "authentication required"}
	errBadLogin       = &Error{Msg: "invalid username or password"}
	errInvalidToken   = &Error{Msg: "invalid or expired token"}
	errInvalidAPIKey  = &Error{Msg: "invalid API token"}
	errUnsupportedScm = &Error{Msg: "unsupported authorization scheme: use Bearer"}
)

// Cookie is the name of the cookie that carries a session token.
const Cookie = "token"

// DefaultTokenTTL is how long a session token is valid when Options.TokenTTL is zero.
const DefaultTokenTTL = 24 * time.Hour

// maxConcurrentHashes bounds the memory password checks can take (19 MiB each) under a flood of logins.
const maxConcurrentHashes = 4

// UserLookup is the slice of the store the Authenticator needs.
type UserLookup interface {
	// GetUserByName returns a user; store.ErrNotFound if absent.
	GetUserByName(ctx context.Context, provider, username string) (store.User, error)
}

// Options tune an Authenticator. The zero value works.
type Options struct {
	// TokenTTL is how long an issued token is valid; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failed logins (username and provider only); nil discards.
	Logger *slog.Logger
}

// Authenticator logs users in and recognises the callers of API requests. It is safe for concurrent use.
type Authenticator struct {
	users UserLookup
	key   []byte
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger
	// dummyHash is verified when a login names an unknown user, so that case costs as much as a wrong password.
	dummyHash string
	hashing   chan struct{}
}

// New returns an Authenticator that finds users in users and signs tokens with key (at least SigningKeySize bytes).
func New(users UserLookup, key []byte, opts Options) (*Authenticator, error) {
	if len(key) < SigningKeySize {
		return nil, fmt.Errorf("auth: signing key shorter than %d bytes", SigningKeySize)
	}
	if opts.TokenTTL < 0 {
		return nil, fmt.Errorf("auth: negative token TTL")
	}
	a := &Authenticator{
		users:   users,
		key:     append([]byte(nil), key...),
		ttl:     opts.TokenTTL,
		now:     opts.Now,
		log:     opts.Logger,
		hashing: make(chan struct{}, maxConcurrentHashes),
	}
	if a.ttl == 0 {
		a.ttl = DefaultTokenTTL
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if a.dummyHash, err = HashPassword(rand.Text()); err != nil {
		return nil, err
	}
	return a, nil
}

// TokenTTL is how long the tokens a issues are valid.
func (a *Authenticator) TokenTTL() time.Duration { return a.ttl }

// Login checks a username and password and returns a session token. A wrong username or password is the same
// *Error; a provider other than "local" is an *api.InvalidError ("active_directory" is known but not configured
// yet). An empty provider means "local".
func (a *Authenticator) Login(ctx context.Context, l api.Login) (string, error) {
	switch l.Provider {
	case "", api.ProviderLocal:
	case api.ProviderActiveDirectory:
		return "", api.Invalidf("provider %q not configured", l.Provider)
	default:
		return "", api.Invalidf("unknown provider %q: want %q or %q", l.Provider, api.ProviderLocal, api.ProviderActiveDirectory)
	}
	if l.Username == "" || l.Password == "" {
		return "", api.Invalidf("username and password are required")
	}
	u, err := a.users.GetUserByName(ctx, api.ProviderLocal, l.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, _ = a.verify(ctx, a.dummyHash, l.Password)
		a.log.InfoContext(ctx, "login failed", "username", l.Username, "provider", api.ProviderLocal)
		return "", errBadLogin
	case err != nil:
		return "", fmt.Errorf("auth: look up user: %w", err)
	}
	ok, err := a.verify(ctx, u.PasswordHash, l.Password)
	if err != nil {
		return "", fmt.Errorf("auth: user %s: %w", u.ID, err)
	}
	if !ok {
		a.log.InfoContext(ctx, "login failed", "username", l.Username, "provider", api.ProviderLocal)
		return "", errBadLogin
	}
	return a.Issue(Principal{UserID: u.ID, Username: u.Username, Provider: u.Provider})
}

func (a *Authenticator) verify(ctx context.Context, hash, password string) (bool, error) {
	select {
	case a.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.hashing }()
	return VerifyPassword(hash, password)
}

// Issue returns a new session token for p.
func (a *Authenticator) Issue(p Principal) (string, error) {
	return issue(a.key, p, a.now(), a.ttl)
}

// Authenticate returns the caller of r, looking in order at the Token header (API tokens), an Authorization Bearer
// token and the token cookie. The first credential present decides: a bad one is an *Error even if a later one
// would be good. No credential at all is an *Error too.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	if r.Header.Get("Token") != "" {
		// API tokens arrive with the identity issue; until then no API token is valid.
		return Principal{}, errInvalidAPIKey
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Principal{}, errUnsupportedScm
		}
		return verify(a.key, strings.TrimSpace(token), a.now)
	}
	if c, err := r.Cookie(Cookie); err == nil && c.Value != "" {
		return verify(a.key, c.Value, a.now)
	}
	return Principal{}, errNoCredentials
}
