// Package e2e holds end-to-end tests against the real runplane binary: built once, started as a child process
// with a temp data dir on 127.0.0.1, driven through the Go client, and killed with SIGKILL where a test needs a
// crash. Several replicas share a real PostgreSQL (pgtest) in the replica tests, which are skipped without
// Debian's postgresql package (and fail without it when CI=true). It has no code of its own.
//
// RUNPLANE_E2E_FULL=1 runs the load tests with the 10,000 jobs instead of 2,000; RUNPLANE_E2E_LOGS=dir
// saves every server's output in dir, for a failure's post-mortem.
package e2e
