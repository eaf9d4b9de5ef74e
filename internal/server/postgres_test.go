package server

import (
	"net/http"
	"testing"
	"time"

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

// TestKeptnEventsOnPostgres: two servers share one PostgreSQL database; an event posted to both (the second a
// duplicate) runs its rule's action once and is answered once, whichever server dispatches it.
func TestKeptnEventsOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	useDB := func(c *Config) { c.Store = dsn }
	ts := startServer(t, useDB)
	ts2 := startServer(t, useDB)
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: deployRules,
		header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusOK)
	const data = `{"project":"shop","stage":"prod","service":"basket"}`
	ts.binaryEvent(t, "pg-1", "sh.keptn.event.deployment.triggered", "shipyard", data, "").want(t, http.StatusAccepted)
	var acc api.EventsAccepted
	ts2.binaryEvent(t, "pg-1", "sh.keptn.event.deployment.triggered", "shipyard", data, "").want(t, http.StatusAccepted).decode(t, &acc)
	if !acc.Events[0].Duplicate {
		t.Errorf("the second server accepted %+v, want a duplicate", acc)
	}
	var answers []api.Event
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ts2.do(t, req{method: "GET", path: "/api/v1/events?source=runplane"}).want(t, http.StatusOK).decode(t, &answers)
		if len(answers) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(answers) != 2 || answers[0].Type != "sh.keptn.event.deployment.finished" {
		t.Fatalf("answers = %+v, want one .started and one .finished", answers)
	}
	var runs []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=deploy"}).want(t, http.StatusOK).decode(t, &runs)
	if len(runs) != 1 || runs[0].Status != api.RunSucceeded {
		t.Errorf("runs of deploy = %+v, want one succeeded", runs)
	}
}
