package api

import "time"

// APIToken is a long-lived credential sent as the Token header. Key is present only in the answer to its creation;
// runplane keeps only a keyed hash of it. Owner is the id of the user whose rights the token carries.
type APIToken struct {
	ID          string     `json:"id"`
	Owner       string     `json:"owner"`
	Key         string     `json:"key,omitempty"`
	Description string     `json:"description"`
	Enabled     *bool      `json:"enabled"`
	Expires     *time.Time `json:"expires"`
	// DisabledByAdmin is set by the server when someone other than the owner disabled the token: its owner alone
	// cannot enable it again.
	DisabledByAdmin bool `json:"disabled_by_admin"`
	// RevokedAt is set by the server when its owner's password changed or every credential of the owner was
	// revoked; a revoked token is disabled for good.
	RevokedAt  *time.Time `json:"revoked_at"`
	CreateTime time.Time  `json:"created_at"`
	UpdateTime time.Time  `json:"updated_at"`
}

// APITokenPrefix starts every API token key, so a leaked key is recognisable (secret scanners, logs) and a client
// can tell it from a session token.
const APITokenPrefix = "rpat_"

// Validate checks a token's settable fields, without a store.
func (t *APIToken) Validate() error {
	return validateLabel("description", t.Description, 1024)
}

// IsEnabled reports whether the token is enabled; a token created without "enabled" is.
func (t *APIToken) IsEnabled() bool { return t.Enabled == nil || *t.Enabled }
