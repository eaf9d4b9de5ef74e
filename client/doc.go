// Package client is the Go client for runplane's REST API (/api/v1). The CLI and the end-to-end tests use it;
// other programs may too.
//
// Every call takes a context. A failed request returns an *Error carrying the HTTP status and the server's
// message (and, for schema validation failures, the failing field paths); errors.Is matches it against
// ErrNotFound, ErrUnauthorized, ErrForbidden, ErrConflict, ErrInvalid, ErrTooLarge and ErrTooManyRequests.
//
// This package imports only package api and the standard library, and must stay so: it is what third-party
// programs vendor. It never logs, never prints, never reads configuration files or the environment.
package client
