package httpapi

import "github.com/runplane/runplane/api"

// Bounds of a login request's fields, checked before anything else looks at them: the user table and the
// directory hold nothing longer (api.ValidateUsername, api.ValidatePassword), and a megabyte username must not
// reach the throttle's keys, the directory or the audit log.
const (
	maxLoginUsername = 256
	maxLoginPassword = 1024
	maxLoginProvider = 64
)

// checkLogin refuses (400) a login whose fields are longer than any account's could be.
func checkLogin(in api.Login) error {
	switch {
	case len(in.Username) > maxLoginUsername:
		return api.Invalidf("username longer than %d bytes", maxLoginUsername)
	case len(in.Password) > maxLoginPassword:
		return api.Invalidf("password longer than %d bytes", maxLoginPassword)
	case len(in.Provider) > maxLoginProvider:
		return api.Invalidf("provider longer than %d bytes", maxLoginProvider)
	}
	return nil
}
