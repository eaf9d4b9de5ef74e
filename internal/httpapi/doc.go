// Package httpapi is runplane's REST API over net/http: the route table (ServeMux method and wildcard patterns),
// handlers that return errors, ONE table mapping errors to status codes, authentication of every route but
// login, health and metrics, request body limits, HTTP metrics and access logs, and the hand-kept OpenAPI document.
//
// It talks to the store and the job engine only through the narrow interfaces declared here, and must never
// import a store or executor backend. It must never put a runner token, a secret value, a password, a session
// token or a request body into a response it did not mean to (secrets are always masked) or into a log line; and
// it never shows a client the cause of an internal error, only logs it.
package httpapi
