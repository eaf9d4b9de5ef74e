package storetest

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func cronJob(name string) store.CronJob {
	next := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	return store.CronJob{
		CronJob: api.CronJob{Name: name, Owner: "ops", Task: "backup", Schedule: "0 3 * * *",
			Timezone: "Europe/Paris", Disable: true, ExtraVars: json.RawMessage(`{"n":1,"s":"a<b"}`),
			ConcurrencyPolicy: api.ConcurrencyForbid, StartingDeadline: api.Duration(5 * time.Minute), NextRun: &next},
		OwnerID: "6f1c1c1e-0000-4000-8000-000000000001",
	}
}

// cronOpts compares cron jobs without what the store assigns.
var cronOpts = cmp.Options{opts, cmpopts.IgnoreFields(store.CronJob{}, "ID", "CreateTime", "UpdateTime")}

func testCronJobRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	workflowJob := store.CronJob{CronJob: api.CronJob{Name: "deploy", Owner: "root", Workflow: "flow",
		Schedule: "* * * * * *"}, OwnerID: "u2"}
	for _, c := range []store.CronJob{cronJob("nightly"), workflowJob} {
		t.Run(c.Name, func(t *testing.T) {
			created, err := s.CreateCronJob(ctx, c)
			must(t, "CreateCronJob", err)
			if created.ID == "" || created.CreateTime.IsZero() || !created.UpdateTime.Equal(created.CreateTime) {
				t.Errorf("CreateCronJob(%q) = id %q, created %v, updated %v; want an id and both times", c.Name,
					created.ID, created.CreateTime, created.UpdateTime)
			}
			got, err := s.GetCronJob(ctx, c.Name)
			must(t, "GetCronJob", err)
			if diff := cmp.Diff(c, got, cronOpts); diff != "" {
				t.Errorf("GetCronJob(%q) mismatch (-want +got):\n%s", c.Name, diff)
			}
			if got.ID != created.ID {
				t.Errorf("GetCronJob(%q).ID = %q, want %q", c.Name, got.ID, created.ID)
			}
		})
	}
	list, err := s.ListCronJobs(ctx)
	must(t, "ListCronJobs", err)
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"deploy", "nightly"}, names); diff != "" {
		t.Errorf("ListCronJobs names (-want +got):\n%s", diff)
	}
}

func testCronJobErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	empty, err := s.ListCronJobs(ctx)
	must(t, "ListCronJobs", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListCronJobs on an empty store = %#v, want []", empty)
	}
	_, err = s.CreateCronJob(ctx, cronJob("c"))
	must(t, "CreateCronJob", err)
	_, err = s.CreateCronJob(ctx, cronJob("c"))
	checkErr(t, `CreateCronJob("c") again`, err, store.ErrConflict, `cronjob "c" already exists`)
	_, err = s.GetCronJob(ctx, "nope")
	checkErr(t, `GetCronJob("nope")`, err, store.ErrNotFound, `cronjob "nope" not found`)
	_, err = s.UpdateCronJob(ctx, cronJob("nope"))
	checkErr(t, `UpdateCronJob("nope")`, err, store.ErrNotFound, "")
	checkErr(t, `DeleteCronJob("nope")`, s.DeleteCronJob(ctx, "nope"), store.ErrNotFound, "")
	f := store.CronFiring{Run: time.Now(), Status: api.CronFired}
	checkErr(t, `RecordCronFiring("nope")`, s.RecordCronFiring(ctx, "nope", "x", f), store.ErrNotFound, "")
	checkErr(t, `RecordCronFiring("c", wrong id)`, s.RecordCronFiring(ctx, "c", "x", f), store.ErrNotFound, "")
	must(t, "DeleteCronJob", s.DeleteCronJob(ctx, "c"))
	_, err = s.GetCronJob(ctx, "c")
	checkErr(t, `GetCronJob("c") after delete`, err, store.ErrNotFound, "")
}

func testCronJobUpdateKeepsFiring(t *testing.T, s store.Store) {
	ctx := t.Context()
	created, err := s.CreateCronJob(ctx, cronJob("c"))
	must(t, "CreateCronJob", err)
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	next := at.Add(24 * time.Hour)
	ran := at.Add(time.Second)
	must(t, "RecordCronFiring", s.RecordCronFiring(ctx, "c", created.ID, store.CronFiring{Scheduled: &at, Run: ran,
		Job: "backup-abcde", NextRun: &next, Status: api.CronFired}))
	c := cronJob("c")
	c.Schedule, c.Owner, c.OwnerID, c.Disable, c.ExtraVars = "@hourly", "alice", "u9", false, nil
	c.ClearStatus()
	updated, err := s.UpdateCronJob(ctx, c)
	must(t, "UpdateCronJob", err)
	want := c
	want.LastRun, want.LastJob, want.LastStatus, want.Scheduled = &ran, "backup-abcde", api.CronFired, &at
	if diff := cmp.Diff(want, updated, cronOpts); diff != "" {
		t.Errorf("UpdateCronJob mismatch (-want +got):\n%s", diff)
	}
	if updated.ID != created.ID || !updated.CreateTime.Equal(created.CreateTime) || updated.UpdateTime.Before(created.UpdateTime) {
		t.Errorf("UpdateCronJob: id %q, created %v, updated %v; want id %q, created %v kept", updated.ID,
			updated.CreateTime, updated.UpdateTime, created.ID, created.CreateTime)
	}
	// A cron job created again under the name is another one: the old one's firings do not reach it.
	must(t, "DeleteCronJob", s.DeleteCronJob(ctx, "c"))
	again, err := s.CreateCronJob(ctx, cronJob("c"))
	must(t, "CreateCronJob again", err)
	if again.ID == created.ID || again.LastRun != nil {
		t.Errorf("CreateCronJob again = id %q, last run %v; want a new id and no firing", again.ID, again.LastRun)
	}
	checkErr(t, "RecordCronFiring(old id)", s.RecordCronFiring(ctx, "c", created.ID, store.CronFiring{Run: ran}),
		store.ErrNotFound, "")
}

func testCronJobRecordOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	c, err := s.CreateCronJob(ctx, cronJob("c"))
	must(t, "CreateCronJob", err)
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	// Servers recording the same time at once: exactly one record lands, whichever.
	var wg sync.WaitGroup
	var errs atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			if err := s.RecordCronFiring(ctx, "c", c.ID, store.CronFiring{Scheduled: &at, Run: at,
				Job: "job-" + string(rune('a'+i)), Status: api.CronFired}); err != nil {
				errs.Add(1)
			}
		})
	}
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("RecordCronFiring: %d calls failed", errs.Load())
	}
	first, err := s.GetCronJob(ctx, "c")
	must(t, "GetCronJob", err)
	// An earlier or equal time records nothing; a firing by hand always does, keeping Scheduled.
	earlier := at.Add(-time.Hour)
	for _, f := range []store.CronFiring{
		{Scheduled: &at, Run: at.Add(time.Minute), Job: "late", Status: api.CronSkipped},
		{Scheduled: &earlier, Run: at.Add(time.Minute), Job: "older", Status: api.CronFired},
	} {
		must(t, "RecordCronFiring", s.RecordCronFiring(ctx, "c", c.ID, f))
	}
	got, err := s.GetCronJob(ctx, "c")
	must(t, "GetCronJob", err)
	if diff := cmp.Diff(first, got, opts); diff != "" {
		t.Errorf("stale firings changed the cron job (-want +got):\n%s", diff)
	}
	byHand := at.Add(2 * time.Minute)
	must(t, "RecordCronFiring(by hand)", s.RecordCronFiring(ctx, "c", c.ID, store.CronFiring{Run: byHand,
		Job: "manual", Status: api.CronFired}))
	got, err = s.GetCronJob(ctx, "c")
	must(t, "GetCronJob", err)
	if got.LastJob != "manual" || !got.LastRun.Equal(byHand) || got.Scheduled == nil || !got.Scheduled.Equal(at) || got.NextRun != nil {
		t.Errorf("after a firing by hand: last job %q, last run %v, scheduled %v, next %v; want manual, %v, %v, nil",
			got.LastJob, got.LastRun, got.Scheduled, got.NextRun, byHand, at)
	}
	// An empty Job keeps the last one (a skipped time started nothing).
	later := at.Add(time.Hour)
	must(t, "RecordCronFiring(skipped)", s.RecordCronFiring(ctx, "c", c.ID, store.CronFiring{Scheduled: &later,
		Run: later, Status: api.CronSkipped, Message: "previous job still running"}))
	got, err = s.GetCronJob(ctx, "c")
	must(t, "GetCronJob", err)
	if got.LastJob != "manual" || got.LastStatus != api.CronSkipped || got.LastMessage != "previous job still running" {
		t.Errorf("after a skip: last job %q, status %q, message %q", got.LastJob, got.LastStatus, got.LastMessage)
	}
}
