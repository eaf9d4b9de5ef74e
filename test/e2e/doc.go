// Package e2e holds end-to-end tests against the real runplane binary: built once, started as a child process
// with a temp data dir on 127.0.0.1, driven through the Go client, and killed with SIGKILL where a test needs a
// crash. It has no code of its own.
package e2e
