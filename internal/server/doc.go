// Package server is runplane's only wiring point: it turns a Config into a running server by opening the data
// dir (keys, SQLite store, job logs, git cache, workspaces), the local executor, the job engine, the authenticator
// and the HTTP API, and runs every long-running part under one errgroup.
//
// It is the only package that imports backends (store/sqlite, executor/local). Nothing but the CLI's serve
// command imports it. It must never print or log a secret: the generated root password goes once to the
// console writer given to Open and nowhere else.
package server
