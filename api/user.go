package api

import (
	"strings"
	"time"
)

// User is a login identity. Password is write-only: it is accepted on create and update of a local user and never
// returned. Groups holds the ids of the groups the user belongs to; on create and update it replaces the user's
// membership (omit it to keep the membership as it is).
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// CurrentPassword proves a user changing their own password knows the old one; it is never stored or returned.
	CurrentPassword string   `json:"current_password,omitempty"`
	Provider        string   `json:"provider"`
	Groups          []string `json:"groups"`
	// Builtin objects (root, Admin, ...) are created by the server and cannot be renamed or deleted.
	Builtin    bool      `json:"builtin,omitempty"`
	CreateTime time.Time `json:"created_at"`
	UpdateTime time.Time `json:"updated_at"`
}

// MinPasswordLen is the shortest password runplane accepts for a local user.
const MinPasswordLen = 8

// Validate checks a user for create or update, without a store. A local user needs a password on create (isNew);
// an active_directory user never has one: the directory checks it.
func (u *User) Validate(isNew bool) error {
	if err := ValidateUsername(u.Username); err != nil {
		return err
	}
	switch u.Provider {
	case ProviderLocal:
		if u.Password == "" && isNew {
			return Invalidf("password is required for a local user")
		}
		if u.Password != "" {
			if err := ValidatePassword(u.Password); err != nil {
				return err
			}
		}
	case ProviderActiveDirectory:
		if u.Password != "" {
			return Invalidf("an active_directory user has no password here: the directory checks it")
		}
	default:
		return invalidProvider(u.Provider)
	}
	return validateIDs("groups", u.Groups)
}

// ValidatePassword checks a new local password.
func ValidatePassword(p string) error {
	if len(p) < MinPasswordLen {
		return Invalidf("password must be at least %d characters", MinPasswordLen)
	}
	if len(p) > 1024 {
		return Invalidf("password must be at most 1024 bytes")
	}
	return nil
}

// ValidateUsername checks a user name: 1 to 256 printable characters without spaces at either end. Directory
// names (jane.doe, DOMAIN\jane, jane@example.org) fit.
func ValidateUsername(n string) error {
	if n == "" {
		return Invalidf("username is required")
	}
	return validateLabel("username", n, 256)
}

// ValidateProvider checks an identity provider name; empty is not allowed.
func ValidateProvider(p string) error {
	if p != ProviderLocal && p != ProviderActiveDirectory {
		return invalidProvider(p)
	}
	return nil
}

func invalidProvider(p string) error {
	if p == "" {
		return Invalidf("provider is required: %q or %q", ProviderLocal, ProviderActiveDirectory)
	}
	return Invalidf("unknown provider %q: want %q or %q", p, ProviderLocal, ProviderActiveDirectory)
}

// validateLabel checks a display name: visible (checkVisible), no surrounding spaces, at most max bytes.
func validateLabel(what, s string, max int) error {
	if len(s) > max {
		return Invalidf("%s longer than %d characters", what, max)
	}
	if strings.TrimSpace(s) != s {
		return Invalidf("%s %q must not start or end with spaces", what, s)
	}
	return checkVisible(what, s)
}

// validateIDs checks a list of object ids: no empty entries, no duplicates.
func validateIDs(what string, ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" {
			return Invalidf("%s: empty id", what)
		}
		if seen[id] {
			return Invalidf("%s: %q listed twice", what, id)
		}
		seen[id] = true
	}
	return nil
}
