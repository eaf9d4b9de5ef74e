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
	"sync/atomic"
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
	errTokenRevoked   = &Error{Msg: "session ended by a password change or a revocation of every credential: log in again"}
	errSessionEnded   = &Error{Msg: "session ended by a logout: log in again"}
	errAPIKeyRevoked  = &Error{Msg: "API token was revoked by a password change or a revocation of every credential"}
	errUnsupportedScm = &Error{Msg: "unsupported authorization scheme: use Bearer"}
)

// Cookie is the name of the cookie that carries a session token.
const Cookie = "token"

// DefaultTokenTTL is how long a session token is valid when Options.TokenTTL is zero.
const DefaultTokenTTL = 24 * time.Hour

// maxConcurrentHashes bounds the memory password checks can take (19 MiB each) under a flood of logins, and
// maxQueuedHashes the checks waiting for a turn (a few times what the running ones finish in 20-25 ms).
const (
	maxConcurrentHashes = 4
	maxQueuedHashes     = 16
)

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
	// Sessions records logouts and revocations, so that every replica sees them.
	store.Sessions
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
	pending   atomic.Int64 // password checks running or waiting for a slot of hashing
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
// in. A wrong username or password is ErrInvalidCredentials either way. Repeated failures (of the user from
// source's client, of that client, or of the user from anywhere: see the throttling limits) are refused for a while
// with a *ThrottledError, and so is a login that finds the queue of password checks full (Busy); an unknown provider, or active_directory when no directory is
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
	client := clientOf(source)
	pair := pairKey(l.Provider, l.Username, client)
	slots := []slot{{pair, pairFree}, {addrKey(client), addrFree}}
	if !a.throttle.isKnown(pair) {
		slots = append(slots, slot{userKey(l.Provider, l.Username), userFree})
	}
	hs, w := a.throttle.reserve(slots)
	if w > 0 {
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
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		// The reservation stands: it was a failure.
		a.log.InfoContext(ctx, "login failed", "username", l.Username, "provider", l.Provider, "source", source)
		return "", Principal{}, err
	case err != nil:
		// Not a failure of the caller's (the check queue was full, the store or directory failed): refunded.
		a.throttle.refund(hs)
		return "", Principal{}, err
	}
	a.throttle.reset(pair)
	a.throttle.refund(hs)
	a.throttle.remember(pair)
	now := a.now()
	p := Principal{UserID: u.ID, Username: u.Username, Provider: u.Provider, Generation: u.Generation,
		SessionID: rand.Text(), SessionExpires: expiry(now, a.ttl).Time}
	token, err := issue(a.key, p, now, a.ttl)
	return token, p, err
}

func (a *Authenticator) loginLocal(ctx context.Context, l api.Login) (store.User, error) {
	u, err := a.st.GetUserByName(ctx, api.ProviderLocal, l.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := a.verify(ctx, a.dummyHash, l.Password); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrInvalidCredentials
	case err != nil:
		return store.User{}, fmt.Errorf("auth: look up user: %w", err)
	}
	ok, err := a.verify(ctx, u.PasswordHash, l.Password)
	var busy *ThrottledError
	if errors.As(err, &busy) {
		return store.User{}, err
	}
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

// verify checks a password, at most maxConcurrentHashes at a time. At most maxQueuedHashes more wait for their
// turn; beyond them a check is refused at once with a Busy *ThrottledError, so a flood of logins costs neither
// unbounded memory nor unbounded latency.
func (a *Authenticator) verify(ctx context.Context, hash, password string) (bool, error) {
	if a.pending.Add(1) > maxConcurrentHashes+maxQueuedHashes {
		a.pending.Add(-1)
		return false, &ThrottledError{RetryAfter: time.Second, Busy: true}
	}
	defer a.pending.Add(-1)
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

// Issue returns a new session token for p, with a session id of its own.
func (a *Authenticator) Issue(p Principal) (string, error) {
	p.SessionID = ""
	return issue(a.key, p, a.now(), a.ttl)
}

// Authenticate returns the caller of r with its grants, looking in order at the Token header (API tokens), an
// Authorization Bearer token and the token cookie. The first credential present decides: a bad one is an *Error
// even if a later one would be good. No credential at all is an *Error too. A session token of a deleted user or
// from before a password change or a revocation of every credential is invalid, and so is one ended by Logout.
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
	acc, err := a.access.get(ctx, p.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errInvalidToken
	case err != nil:
		return Principal{}, fmt.Errorf("auth: access of user %s: %w", p.UserID, err)
	case acc.user.Generation != p.Generation:
		return Principal{}, errTokenRevoked
	case p.SessionID != "" && slices.Contains(acc.revoked, p.SessionID):
		return Principal{}, errSessionEnded
	}
	p.Username, p.Provider, p.Grants = acc.user.Username, acc.user.Provider, acc.grants
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
	case t.RevokedAt != nil:
		return Principal{}, errAPIKeyRevoked
	case !t.IsEnabled():
		return Principal{}, errAPIKeyDisabled
	case t.Expires != nil && !a.now().Before(*t.Expires):
		return Principal{}, errAPIKeyExpired
	}
	acc, err := a.access.get(ctx, t.Owner)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errInvalidAPIKey
	case err != nil:
		return Principal{}, fmt.Errorf("auth: access of user %s: %w", t.Owner, err)
	}
	u := acc.user
	return Principal{UserID: u.ID, Username: u.Username, Provider: u.Provider, Grants: acc.grants,
		Generation: u.Generation, APITokenID: t.ID, APITokenExpires: t.Expires}, nil
}

// PrincipalOf returns the user userID as a principal with the grants it holds now, for work done in its name
// without a request of its own: a cron job, webhook or event rule firing as its owner. Its grants are at most
// accessTTL old (changes made through this server apply at once). store.ErrNotFound if the user is gone.
func (a *Authenticator) PrincipalOf(ctx context.Context, userID string) (Principal, error) {
	acc, err := a.access.get(ctx, userID)
	if err != nil {
		return Principal{}, fmt.Errorf("auth: access of user %s: %w", userID, err)
	}
	u := acc.user
	return Principal{UserID: u.ID, Username: u.Username, Provider: u.Provider, Grants: acc.grants,
		Generation: u.Generation}, nil
}
