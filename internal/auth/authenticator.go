package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
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
	errBadLogin       = ErrInvalidCredentials
	errInvalidToken   = &Error{Msg: "invalid or expired token"}
	errInvalidAPIKey  = &Error{Msg: "invalid API token"}
	errAPIKeyDisabled = &Error{Msg: "API token is disabled"}
	errAPIKeyExpired  = &Error{Msg: "API token has expired"}
	errTokenRevoked   = &Error{Msg: "session ended by a password change: log in again"}
	errUnsupportedScm = &Error{Msg: "unsupported authorization scheme: use Bearer"}
)

// Cookie is the name of the cookie that carries a session token.
const Cookie = "token"

// DefaultTokenTTL is how long a session token is valid when Options.TokenTTL is zero.
const DefaultTokenTTL = 24 * time.Hour

// maxConcurrentHashes bounds the memory password checks can take (19 MiB each) under a flood of logins.
const maxConcurrentHashes = 4

// Store is the slice of the store the Authenticator needs.
type Store interface {
	store.Access
	// GetUserByName returns a user; store.ErrNotFound if absent.
	GetUserByName(ctx context.Context, provider, username string) (store.User, error)
	// CreateUser stores a directory user on first login; store.ErrConflict if another request created it first.
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	// GetGroupByName finds the runplane groups a directory user's groups map to.
	GetGroupByName(ctx context.Context, provider, name string) (api.Group, error)
	// SetUserGroups records a directory user's mapped groups at each login.
	SetUserGroups(ctx context.Context, userID string, groupIDs []string) error
	// GetAPITokenByHash finds the token a Token header names.
	GetAPITokenByHash(ctx context.Context, keyHash string) (store.APIToken, error)
}

// Options tune an Authenticator. The zero value works.
type Options struct {
	// TokenTTL is how long an issued token is valid; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failed logins (username and provider only); nil discards.
	Logger *slog.Logger
	// Directory checks active_directory logins; nil means that provider is not configured.
	Directory Directory
}

// Authenticator logs users in and recognises the callers of API requests. It is safe for concurrent use.
type Authenticator struct {
	st       Store
	key      []byte
	keys     apiKeyHasher
	ttl      time.Duration
	now      func() time.Time
	log      *slog.Logger
	dir      Directory
	throttle *throttle
	access   *accessCache
	// dummyHash is verified when a login names an unknown user, so that case costs as much as a wrong password.
	dummyHash string
	hashing   chan struct{}
}

// New returns an Authenticator that finds users in st and signs tokens with key (at least SigningKeySize bytes).
func New(st Store, key []byte, opts Options) (*Authenticator, error) {
	if len(key) < SigningKeySize {
		return nil, fmt.Errorf("auth: signing key shorter than %d bytes", SigningKeySize)
	}
	if opts.TokenTTL < 0 {
		return nil, fmt.Errorf("auth: negative token TTL")
	}
	a := &Authenticator{
		st:      st,
		key:     append([]byte(nil), key...),
		keys:    newAPIKeyHasher(key),
		ttl:     opts.TokenTTL,
		now:     opts.Now,
		log:     opts.Logger,
		dir:     opts.Directory,
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
	a.throttle = newThrottle(a.now)
	a.access = newAccessCache(st, a.now)
	var err error
	if a.dummyHash, err = HashPassword(rand.Text()); err != nil {
		return nil, err
	}
	return a, nil
}

// TokenTTL is how long the tokens a issues are valid.
func (a *Authenticator) TokenTTL() time.Duration { return a.ttl }

// Login checks a username and password coming from the address source and returns a session token and who logged
// in. A wrong username or password is ErrInvalidCredentials either way; repeated failures from source are
// refused for a while with a *ThrottledError; an unknown provider, or active_directory when no directory is
// configured, is an *api.InvalidError. An empty provider means "local".
func (a *Authenticator) Login(ctx context.Context, l api.Login, source string) (string, Principal, error) {
	if l.Provider == "" {
		l.Provider = api.ProviderLocal
	}
	if err := api.ValidateProvider(l.Provider); err != nil {
		return "", Principal{}, err
	}
	if l.Provider == api.ProviderActiveDirectory && a.dir == nil {
		return "", Principal{}, api.Invalidf("provider %q is not configured on this server", l.Provider)
	}
	if l.Username == "" || l.Password == "" {
		return "", Principal{}, api.Invalidf("username and password are required")
	}
	pair := pairKey(l.Provider, l.Username, source)
	if w := a.throttle.wait(pair, addrKey(source)); w > 0 {
		a.log.WarnContext(ctx, "login throttled", "username", l.Username, "provider", l.Provider, "source", source)
		return "", Principal{}, &ThrottledError{RetryAfter: w}
	}
	var u store.User
	var err error
	if l.Provider == api.ProviderLocal {
		u, err = a.loginLocal(ctx, l)
	} else {
		u, err = a.loginDirectory(ctx, l)
	}
	if errors.Is(err, ErrInvalidCredentials) {
		a.throttle.fail(pair, pairFree)
		a.throttle.fail(addrKey(source), addrFree)
		a.log.InfoContext(ctx, "login failed", "username", l.Username, "provider", l.Provider, "source", source)
	}
	if err != nil {
		return "", Principal{}, err
	}
	a.throttle.reset(pair)
	p := Principal{UserID: u.ID, Username: u.Username, Provider: u.Provider, Generation: u.Generation}
	token, err := a.Issue(p)
	return token, p, err
}

func (a *Authenticator) loginLocal(ctx context.Context, l api.Login) (store.User, error) {
	u, err := a.st.GetUserByName(ctx, api.ProviderLocal, l.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, _ = a.verify(ctx, a.dummyHash, l.Password)
		return store.User{}, ErrInvalidCredentials
	case err != nil:
		return store.User{}, fmt.Errorf("auth: look up user: %w", err)
	}
	ok, err := a.verify(ctx, u.PasswordHash, l.Password)
	if err != nil {
		return store.User{}, fmt.Errorf("auth: user %s: %w", u.ID, err)
	}
	if !ok {
		return store.User{}, ErrInvalidCredentials
	}
	return u, nil
}

// loginDirectory checks the password with the directory, creates the user on first login, and makes the user's
// active_directory groups those its directory groups map to.
func (a *Authenticator) loginDirectory(ctx context.Context, l api.Login) (store.User, error) {
	du, err := a.dir.Authenticate(ctx, l.Username, l.Password)
	if err != nil {
		return store.User{}, err
	}
	name := du.Username
	if name == "" {
		name = l.Username
	}
	u, err := a.st.GetUserByName(ctx, api.ProviderActiveDirectory, name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.st.CreateUser(ctx, store.User{User: api.User{Username: name, Provider: api.ProviderActiveDirectory}})
		if errors.Is(err, store.ErrConflict) { // a concurrent first login created it
			u, err = a.st.GetUserByName(ctx, api.ProviderActiveDirectory, name)
		}
	}
	if err != nil {
		return store.User{}, fmt.Errorf("auth: directory user %q: %w", name, err)
	}
	ids := make([]string, 0, len(du.Groups))
	for _, g := range du.Groups {
		grp, err := a.st.GetGroupByName(ctx, api.ProviderActiveDirectory, g)
		if errors.Is(err, store.ErrNotFound) {
			a.log.WarnContext(ctx, "directory group maps to a group that does not exist", "group", g, "provider", api.ProviderActiveDirectory)
			continue
		}
		if err != nil {
			return store.User{}, fmt.Errorf("auth: group %q: %w", g, err)
		}
		ids = append(ids, grp.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, u.Groups) {
		if err := a.st.SetUserGroups(ctx, u.ID, ids); err != nil {
			return store.User{}, fmt.Errorf("auth: groups of directory user %q: %w", name, err)
		}
		a.Forget()
	}
	return u, nil
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

// Forget makes the next request of every user read its access (password generation, roles) from the store
// again. Call it after changing users, groups, roles or role bindings; without it such changes apply within two
// seconds.
func (a *Authenticator) Forget() { a.access.forget() }

// Issue returns a new session token for p.
func (a *Authenticator) Issue(p Principal) (string, error) {
	return issue(a.key, p, a.now(), a.ttl)
}

// Authenticate returns the caller of r with its grants, looking in order at the Token header (API tokens), an
// Authorization Bearer token and the token cookie. The first credential present decides: a bad one is an *Error
// even if a later one would be good. No credential at all is an *Error too. A session token of a deleted user or
// from before a password change is invalid.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	ctx := r.Context()
	if key := r.Header.Get("Token"); key != "" {
		return a.authenticateAPIKey(ctx, key)
	}
	var token string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Principal{}, errUnsupportedScm
		}
		token = strings.TrimSpace(t)
	} else if c, err := r.Cookie(Cookie); err == nil && c.Value != "" {
		token = c.Value
	} else {
		return Principal{}, errNoCredentials
	}
	p, err := verify(a.key, token, a.now)
	if err != nil {
		return Principal{}, err
	}
	u, grants, err := a.access.get(ctx, p.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errInvalidToken
	case err != nil:
		return Principal{}, fmt.Errorf("auth: access of user %s: %w", p.UserID, err)
	case u.Generation != p.Generation:
		return Principal{}, errTokenRevoked
	}
	p.Username, p.Provider, p.Grants = u.Username, u.Provider, grants
	return p, nil
}

func (a *Authenticator) authenticateAPIKey(ctx context.Context, key string) (Principal, error) {
	if len(key) > maxAPIKeyLen || !strings.HasPrefix(key, APIKeyPrefix) {
		return Principal{}, errInvalidAPIKey
	}
	t, err := a.st.GetAPITokenByHash(ctx, a.keys.hash(key))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errInvalidAPIKey
	case err != nil:
		return Principal{}, fmt.Errorf("auth: look up API token: %w", err)
	case !t.IsEnabled():
		return Principal{}, errAPIKeyDisabled
	case t.Expires != nil && !a.now().Before(*t.Expires):
		return Principal{}, errAPIKeyExpired
	}
	u, grants, err := a.access.get(ctx, t.Owner)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errInvalidAPIKey
	case err != nil:
		return Principal{}, fmt.Errorf("auth: access of user %s: %w", t.Owner, err)
	}
	return Principal{UserID: u.ID, Username: u.Username, Provider: u.Provider, Grants: grants,
		Generation: u.Generation, APITokenID: t.ID}, nil
}
