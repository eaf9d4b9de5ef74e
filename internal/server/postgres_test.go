package server

import (
	"net/http"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// TestPostgresStore runs a server on PostgreSQL (--store postgres://...): runners, tasks, a job, users and roles
// work as on SQLite, and everything is still there for the next server on the same database.
func TestPostgresStore(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	useDB := func(c *Config) { c.Store = dsn }
	ts := startServer(t, useDB)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "./hello.sh", Synchronous: true})
	job := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/hello", body: `{"name":"pg"}`}))
	if job.Status != api.JobSucceeded || string(job.JSONData) == "" {
		t.Fatalf("job on postgres = %+v, want succeeded with a result", job)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "pat", Password: "password-pat", Provider: "local"}}).
		want(t, http.StatusOK)
	ts.login(t, "pat", "password-pat")

	// A second server on the same database (another data dir: the keys differ, so runner secrets written by the
	// first are not readable by it; what is checked here is what needs no key).
	ts2 := startServer(t, useDB)
	var got api.Job
	ts2.do(t, req{method: "GET", path: "/api/v1/jobs/" + job.ID}).want(t, http.StatusOK).decode(t, &got)
	if got.Status != api.JobSucceeded {
		t.Errorf("job read through the second server = %+v", got)
	}
	ts2.login(t, "pat", "password-pat")
	ts2.do(t, req{method: "GET", path: "/api/v1/tasks/hello"}).want(t, http.StatusOK)
}
