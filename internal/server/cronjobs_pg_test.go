package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// TestCronJobTwoServersOnPostgres: two servers share one PostgreSQL database and both run the cron loop, with no
// leader; a cron job firing every second starts exactly one job per scheduled time.
func TestCronJobTwoServersOnPostgres(t *testing.T) {
	t.Parallel()
	dsn, keys := pgtest.NewDatabase(t), t.TempDir()
	shared := func(c *Config) { c.Store, c.KeysDir = dsn, keys }
	ts := startServer(t, shared)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "tick", Runner: "repo", Command: "true"})
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: `{"name":"every-second","task":"tick",
		"schedule":"* * * * * *"}`}).want(t, http.StatusOK)
	// The second server reads the cron job when its loop starts.
	ts2 := startServer(t, shared)

	count := func() (map[time.Time][]string, int) {
		var jobs []api.Job
		ts2.do(t, req{method: "GET", path: "/api/v1/jobs?limit=1000"}).want(t, http.StatusOK).decode(t, &jobs)
		by := map[time.Time][]string{}
		n := 0
		for _, j := range jobs {
			if j.Trigger != nil && j.Trigger.Name == "every-second" {
				by[*j.Trigger.ScheduledTime] = append(by[*j.Trigger.ScheduledTime], j.ID)
				n++
			}
		}
		return by, n
	}
	started := time.Now()
	for deadline := started.Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if by, _ := count(); len(by) >= 6 {
			break
		}
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/every-second", body: `{"disable":true}`}).want(t, http.StatusOK)
	time.Sleep(1500 * time.Millisecond) // a firing already under way on either server lands
	by, n := count()
	if len(by) < 6 {
		t.Fatalf("%d scheduled times fired within a minute, want at least 6", len(by))
	}
	for at, ids := range by {
		if len(ids) != 1 {
			t.Errorf("scheduled time %v started %d jobs %v, want exactly one", at, len(ids), ids)
		}
	}
	if n != len(by) {
		t.Errorf("%d jobs for %d scheduled times", n, len(by))
	}
	for i, s := range []*testServer{ts, ts2} {
		t.Logf("server %d: created %d of the jobs, found %d created by the other", i+1,
			strings.Count(s.logs.String(), `msg="cron job fired"`), strings.Count(s.logs.String(), `msg="cron job firing found its job"`))
	}
}
