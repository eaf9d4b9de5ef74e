package auth

import (
	"context"
	"time"

	"github.com/runplane/runplane/internal/rbac"
)

// Principal is an authenticated caller with the roles it holds at the time of the request.
type Principal struct {
	UserID   string
	Username string
	Provider string
	// Grants are the roles bound to the user's groups, resolved when the request was authenticated.
	Grants rbac.Grants
	// Generation is the user's password generation the credential was issued at.
	Generation int64
	// APITokenID is the token the caller presented, when it authenticated with one, and APITokenExpires its
	// expiry (nil: never).
	APITokenID      string
	APITokenExpires *time.Time
	// SessionID and SessionExpires identify the session token the caller presented, when it authenticated with
	// one (SessionID is empty for tokens issued before sessions had ids).
	SessionID      string
	SessionExpires time.Time
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
