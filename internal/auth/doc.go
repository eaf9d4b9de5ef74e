// Package auth answers "who is calling": it verifies local passwords (argon2id), issues and checks the JWT
// session tokens of the REST API, bootstraps the root user, and puts the caller's Principal in the request context.
//
// It decides identity only. Whether a principal may do something is internal/rbac's question; auth never grants
// or denies access to a resource. It must never log, return or embed in an error a password, a password hash, a
// signing key or a token, and it never tells a caller which half of a failed username/password pair was wrong.
package auth
