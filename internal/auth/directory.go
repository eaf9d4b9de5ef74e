package auth

import (
	"context"
	"errors"
)

// Directory checks credentials against an external directory (LDAP, Active Directory). Implementations are safe
// for concurrent use.
type Directory interface {
	// Authenticate checks username and password against the directory and returns who the user is there.
	// A wrong password or an unknown user is ErrInvalidCredentials (the two are never told apart); a directory
	// that cannot be reached or answers unexpectedly is an error wrapping ErrDirectoryUnavailable. Errors never
	// contain the password.
	Authenticate(ctx context.Context, username, password string) (DirectoryUser, error)
}

// DirectoryUser is a user as the directory knows it.
type DirectoryUser struct {
	// Username is the user's login name as the directory spells it (the value of the attribute the user filter
	// matched), which runplane records as the user's name.
	Username string
	// DN is the user's distinguished name.
	DN string
	// Groups are the runplane groups (of provider active_directory) the user's directory groups map to, by the
	// directory's configured group mapping; unmapped directory groups are left out.
	Groups []string
}

// ErrInvalidCredentials is a wrong username or password, said the same way for both.
var ErrInvalidCredentials = &Error{Msg: "invalid username or password"}

// ErrDirectoryUnavailable: the directory could not be asked. The API answers 503.
var ErrDirectoryUnavailable = errors.New("auth: directory unavailable")
