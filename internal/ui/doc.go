// Package ui is runplane's web UI: server-rendered pages (html/template) and small embedded scripts, served by the
// binary at "/" next to the REST API.
//
// Every page gets its data from the REST API, in-process, with the browser's own session cookie: the API's
// authentication, RBAC filtering and errors decide what a page shows, and the UI holds no rule the API lacks.
// Everything the browser changes (sign-in, runs, cancels) it changes through fetch calls to /api/v1, where the
// API's origin check (httpapi/origin.go) is the CSRF protection. The UI itself has no state-changing endpoint and
// must never grow one, nor render a secret.
package ui
