package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// TestCronJobReplicas: two `runplane serve` processes share one PostgreSQL database, both running the cron loop
// with no leader. A cron job firing every second (6-field schedule) runs real jobs; each scheduled time starts
// exactly one job, and each job ran exactly once (it appends its id to a file).
func TestCronJobReplicas(t *testing.T) {
	rs := newReplicaSet(t, pgtest.NewDatabase(t), hostFiles)
	rs.start(t, 1)
	ran := filepath.Join(t.TempDir(), "ran")
	createTasks(t, rs.clients[0], api.Task{Name: "tick", Command: markCommand(ran, "")})
	c := rs.clients[0]
	if _, err := c.CreateCronJob(t.Context(), api.CronJob{Name: "every-second", Task: "tick", Schedule: "* * * * * *"}); err != nil {
		t.Fatal(err)
	}
	rs.start(t, 1) // reads the cron job when its loop starts
	defer rs.stop(t)

	times := func() map[time.Time][]string {
		by := map[time.Time][]string{}
		for _, j := range allJobs(t, c) {
			if j.Trigger != nil && j.Trigger.Kind == api.TriggerCron && j.Trigger.Name == "every-second" {
				by[*j.Trigger.ScheduledTime] = append(by[*j.Trigger.ScheduledTime], j.ID)
			}
		}
		return by
	}
	waitFor(t, "six scheduled times to fire", time.Minute, func() (bool, error) { return len(times()) >= 6, nil })
	cj, err := c.GetCronJob(t.Context(), "every-second")
	if err != nil {
		t.Fatal(err)
	}
	cj.Disable = true
	if _, err := rs.clients[1].UpdateCronJob(t.Context(), cj); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // lets a firing already under way on the other replica land
	waitAllFinal(t, c, time.Minute)

	by := times()
	jobs := 0
	for at, ids := range by {
		jobs += len(ids)
		if len(ids) != 1 {
			t.Errorf("scheduled time %v started %d jobs %v, want one", at, len(ids), ids)
		}
	}
	b, err := os.ReadFile(ran)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	seen := map[string]bool{}
	for _, id := range lines {
		if seen[id] {
			t.Errorf("job %s ran twice", id)
		}
		seen[id] = true
	}
	if len(lines) != jobs {
		t.Errorf("%d job runs for %d jobs", len(lines), jobs)
	}
	for _, j := range allJobs(t, c) {
		if j.Trigger != nil && j.Status != api.JobSucceeded {
			t.Errorf("job %s of scheduled time %v: %s (%s)", j.ID, j.Trigger.ScheduledTime, j.Status, j.Reason)
		}
	}
	t.Logf("%d scheduled times, %d jobs, over 2 replicas", len(by), jobs)
}
