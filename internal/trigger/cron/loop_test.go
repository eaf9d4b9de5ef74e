package cron_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
	"github.com/runplane/runplane/internal/trigger"
	"github.com/runplane/runplane/internal/trigger/cron"
)

// env is a real SQLite store with a task "hello", a user "ops" allowed to run its jobs and a user "nobody" who may
// not, and the real Firer; the job engine is not running, so what fires stays queued (live).
type env struct {
	st     *sqlite.Store
	jobs   *jobs.Engine
	firer  *trigger.Firer
	ops    store.User
	nobody store.User
	audit  *auditLog
}

type auditLog struct {
	mu      sync.Mutex
	entries []api.AuditLog
}

func (a *auditLog) Record(_ context.Context, e api.AuditLog) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	must(t, err)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "runplane.db"), sqlite.Options{Cipher: c})
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.CreateRunner(ctx, api.Runner{Name: "r", Image: "alpine", GitURL: "https://example.com/r.git", Branch: "main"}))
	must(t, st.CreateTask(ctx, api.Task{Name: "hello", Runner: "r", Command: "echo hi",
		Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)}))
	must(t, st.CreateWorkflow(ctx, api.Workflow{Name: "flow", Steps: []api.Step{{Name: "one", Task: "hello"}}}))
	ops, err := st.CreateUser(ctx, store.User{User: api.User{Username: "ops", Provider: api.ProviderLocal}})
	must(t, err)
	nobody, err := st.CreateUser(ctx, store.User{User: api.User{Username: "nobody", Provider: api.ProviderLocal}})
	must(t, err)
	g, err := st.CreateGroup(ctx, api.Group{Name: "operators", Provider: api.ProviderLocal, UserIDs: []string{ops.ID}})
	must(t, err)
	for _, r := range []api.Role{
		{Name: "run-hello", Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessWrite},
		{Name: "run-flow", Resource: api.ResourceRuns, ResourceIDs: []string{"flow"}, Access: api.AccessWrite},
	} {
		role, err := st.CreateRole(ctx, r)
		must(t, err)
		_, err = st.CreateRoleBinding(ctx, api.RoleBinding{Name: r.Name, RoleID: role.ID, GroupID: g.ID})
		must(t, err)
	}
	a, err := auth.New(st, []byte("0123456789abcdef0123456789abcdef"), auth.Options{})
	must(t, err)
	js := jobs.New(st, nil, nil, jobs.Options{})
	return &env{st: st, jobs: js, firer: trigger.NewFirer(a, js, runs.New(st, js, runs.Options{})), ops: ops,
		nobody: nobody, audit: &auditLog{}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) create(t *testing.T, c api.CronJob, owner store.User) store.CronJob {
	t.Helper()
	if _, err := cron.Check(&c); err != nil {
		t.Fatal(err)
	}
	c.Owner = owner.Username
	stored, err := e.st.CreateCronJob(t.Context(), store.CronJob{CronJob: c, OwnerID: owner.ID})
	must(t, err)
	return stored
}

// start runs a loop (a server) until the test ends.
func (e *env) start(t *testing.T, opts cron.Options) *cron.Loop {
	ctx, cancel := context.WithCancel(t.Context())
	opts.Audit = e.audit
	opts.CancelJob = func(ctx context.Context, id string) error { _, err := e.jobs.Cancel(ctx, id); return err }
	l := cron.New(e.st, e.firer, opts)
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return l
}

// fired returns the jobs cron job name started, oldest first, by scheduled time.
func (e *env) fired(t *testing.T, name string) []store.Job {
	t.Helper()
	all, _, err := e.st.ListJobs(t.Context(), store.JobFilter{})
	must(t, err)
	var out []store.Job
	for _, j := range all {
		if j.Trigger != nil && j.Trigger.Kind == api.TriggerCron && j.Trigger.Name == name {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b store.Job) int { return a.Trigger.ScheduledTime.Compare(*b.Trigger.ScheduledTime) })
	return out
}

func scheduledTimes(js []store.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Trigger.ScheduledTime.Format("15:04:05"))
	}
	return out
}

func (e *env) get(t *testing.T, name string) store.CronJob {
	t.Helper()
	c, err := e.st.GetCronJob(t.Context(), name)
	must(t, err)
	return c
}

// In a synctest bubble the clock starts at 2000-01-01 00:00:00 UTC.

func TestFiresEachTimeOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.create(t, api.CronJob{Name: "tick", Task: "hello", Schedule: "* * * * *", ExtraVars: json.RawMessage(`{"n":7}`)}, e.ops)
		// Two servers on one store: each time still starts one job.
		e.start(t, cron.Options{})
		e.start(t, cron.Options{})
		time.Sleep(3*time.Minute + 30*time.Second)
		synctest.Wait()
		got := e.fired(t, "tick")
		if want := []string{"00:01:00", "00:02:00", "00:03:00"}; !slices.Equal(scheduledTimes(got), want) {
			t.Fatalf("fired at %v, want %v", scheduledTimes(got), want)
		}
		for _, j := range got {
			j, err := e.st.GetJob(t.Context(), j.ID) // a listed job has no input
			must(t, err)
			if j.Owner != "ops" || string(j.Input) != `{"n":7}` || j.Task != "hello" {
				t.Errorf("job %s: owner %q task %q input %s; want ops, hello, {\"n\":7}", j.ID, j.Owner, j.Task, j.Input)
			}
		}
		c := e.get(t, "tick")
		if c.LastJob != got[2].ID || c.LastStatus != api.CronFired || c.NextRun == nil ||
			c.NextRun.Format("15:04:05") != "00:04:00" || c.LastRun == nil {
			t.Errorf("cron job after firing: last job %q status %q next %v last %v; want %s fired 00:04:00", c.LastJob,
				c.LastStatus, c.NextRun, c.LastRun, got[2].ID)
		}
	})
}

func TestSecondsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.create(t, api.CronJob{Name: "fast", Task: "hello", Schedule: "*/10 * * * * *"}, e.ops)
		e.start(t, cron.Options{})
		time.Sleep(35 * time.Second)
		synctest.Wait()
		if got, want := scheduledTimes(e.fired(t, "fast")), []string{"00:00:10", "00:00:20", "00:00:30"}; !slices.Equal(got, want) {
			t.Fatalf("fired at %v, want %v", got, want)
		}
	})
}

func TestMissedWhileDown(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration
		want     []string // scheduled times fired at start, then at 00:11
		status   string   // after the start
	}{
		{"no deadline: the latest missed time once", 0, []string{"00:10:00", "00:11:00"}, api.CronFired},
		{"within the deadline", time.Minute, []string{"00:10:00", "00:11:00"}, api.CronFired},
		{"past the deadline: skipped", 10 * time.Second, []string{"00:11:00"}, api.CronSkipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				e.create(t, api.CronJob{Name: "m", Task: "hello", Schedule: "* * * * *",
					StartingDeadline: api.Duration(tt.deadline)}, e.ops)
				// No server runs for ten minutes and a half.
				time.Sleep(10*time.Minute + 30*time.Second)
				e.start(t, cron.Options{})
				synctest.Wait()
				if c := e.get(t, "m"); c.LastStatus != tt.status || c.Scheduled == nil || c.Scheduled.Format("15:04:05") != "00:10:00" {
					t.Errorf("at start: status %q scheduled %v; want %q for 00:10:00 (%s)", c.LastStatus, c.Scheduled, tt.status, c.LastMessage)
				}
				time.Sleep(time.Minute)
				synctest.Wait()
				if got := scheduledTimes(e.fired(t, "m")); !slices.Equal(got, tt.want) {
					t.Errorf("fired at %v, want %v", got, tt.want)
				}
			})
		})
	}
}

func TestRestartDoesNotFireAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.create(t, api.CronJob{Name: "r", Task: "hello", Schedule: "* * * * *"}, e.ops)
		ctx, stop := context.WithCancel(t.Context())
		l := cron.New(e.st, e.firer, cron.Options{})
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		time.Sleep(time.Minute + 30*time.Second)
		stop()
		must(t, <-done)
		// Restarted within the same minute: 00:01 was handled and does not fire again.
		e.start(t, cron.Options{})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got, want := scheduledTimes(e.fired(t, "r")), []string{"00:01:00", "00:02:00"}; !slices.Equal(got, want) {
			t.Fatalf("fired at %v, want %v", got, want)
		}
	})
}

func TestConcurrencyPolicy(t *testing.T) {
	tests := []struct {
		policy    api.ConcurrencyPolicy
		jobs      int
		statuses  []api.JobStatus // of the jobs, oldest first
		cronState string
	}{
		{api.ConcurrencyAllow, 2, []api.JobStatus{api.JobQueued, api.JobQueued}, api.CronFired},
		{api.ConcurrencyForbid, 1, []api.JobStatus{api.JobQueued}, api.CronSkipped},
		{api.ConcurrencyReplace, 2, []api.JobStatus{api.JobCancelled, api.JobQueued}, api.CronFired},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				// No engine runs: each job stays queued, live, until cancelled.
				e.create(t, api.CronJob{Name: "p", Task: "hello", Schedule: "* * * * *", ConcurrencyPolicy: tt.policy}, e.ops)
				e.start(t, cron.Options{})
				time.Sleep(2*time.Minute + 30*time.Second)
				synctest.Wait()
				got := e.fired(t, "p")
				var statuses []api.JobStatus
				for _, j := range got {
					statuses = append(statuses, j.Status)
				}
				if !slices.Equal(statuses, tt.statuses) {
					t.Errorf("jobs %v with statuses %v, want %v", scheduledTimes(got), statuses, tt.statuses)
				}
				if c := e.get(t, "p"); c.LastStatus != tt.cronState {
					t.Errorf("last status %q (%s), want %q", c.LastStatus, c.LastMessage, tt.cronState)
				}
			})
		})
	}
}

func TestRefusedOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.create(t, api.CronJob{Name: "x", Task: "hello", Schedule: "* * * * *"}, e.nobody)
		e.start(t, cron.Options{})
		// Three times refused: recorded each time, audited once, when it started being refused.
		time.Sleep(3*time.Minute + 30*time.Second)
		synctest.Wait()
		if got := e.fired(t, "x"); len(got) != 0 {
			t.Fatalf("a refused owner's cron job started %d jobs", len(got))
		}
		c := e.get(t, "x")
		if c.LastStatus != api.CronRefused || !strings.Contains(c.LastMessage, `nobody may not write jobs of "hello"`) ||
			c.LastRun == nil || c.LastRun.Format("15:04:05") != "00:03:00" || c.LastJob != "" {
			t.Errorf("cron job: status %q message %q last run %v last job %q; want refused", c.LastStatus, c.LastMessage,
				c.LastRun, c.LastJob)
		}
		e.audit.mu.Lock()
		defer e.audit.mu.Unlock()
		if len(e.audit.entries) != 1 || e.audit.entries[0].Status != api.AuditDenied ||
			e.audit.entries[0].EventTarget != "x" || e.audit.entries[0].Username != "nobody" {
			t.Errorf("audit entries %+v, want one denied entry for x by nobody", e.audit.entries)
		}
	})
}

func TestChangedWakesTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		l := e.start(t, cron.Options{Resync: time.Hour})
		synctest.Wait() // the loop sleeps: no cron job, an hour to the next look
		e.create(t, api.CronJob{Name: "late", Task: "hello", Schedule: "* * * * *"}, e.ops)
		l.Changed()
		time.Sleep(time.Minute + 30*time.Second)
		synctest.Wait()
		if got := scheduledTimes(e.fired(t, "late")); !slices.Equal(got, []string{"00:01:00"}) {
			t.Fatalf("fired at %v, want [00:01:00]", got)
		}
	})
}

func TestDisabledAndFireNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.create(t, api.CronJob{Name: "off", Task: "hello", Schedule: "* * * * *", Disable: true}, e.ops)
		l := e.start(t, cron.Options{})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := e.fired(t, "off"); len(got) != 0 {
			t.Fatalf("a disabled cron job fired %d times", len(got))
		}
		f, err := l.FireNow(t.Context(), c)
		must(t, err)
		again, err := l.FireNow(t.Context(), c)
		must(t, err)
		if !f.Created || !again.Created || f.Job == again.Job {
			t.Fatalf("FireNow twice = %+v, %+v; want two new jobs", f, again)
		}
		if got := e.get(t, "off"); got.LastJob != again.Job || got.LastStatus != api.CronFired {
			t.Errorf("after FireNow: last job %q status %q, want %s fired", got.LastJob, got.LastStatus, again.Job)
		}
	})
}

// TestChangeOnAnotherServer: a cron job disabled through another server (whose loop alone is woken) fires no more
// on this one, though this one's loop resyncs only hourly: it reads the cron jobs again whenever it wakes to fire.
func TestChangeOnAnotherServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.create(t, api.CronJob{Name: "c", Task: "hello", Schedule: "* * * * *"}, e.ops)
		e.start(t, cron.Options{Resync: time.Hour})
		time.Sleep(time.Minute + 30*time.Second)
		synctest.Wait()
		c.Disable = true
		_, err := e.st.UpdateCronJob(t.Context(), c)
		must(t, err)
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if got := scheduledTimes(e.fired(t, "c")); !slices.Equal(got, []string{"00:01:00"}) {
			t.Fatalf("fired at %v, want only [00:01:00] before it was disabled", got)
		}
	})
}

// TestWorkflowTarget: a cron job of a workflow starts runs, marked with the cron job and the time; with Forbid, a
// time that comes while the previous run is live is skipped.
func TestWorkflowTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.create(t, api.CronJob{Name: "wf", Workflow: "flow", Schedule: "* * * * *", ConcurrencyPolicy: api.ConcurrencyForbid}, e.ops)
		e.start(t, cron.Options{})
		time.Sleep(2*time.Minute + 30*time.Second)
		synctest.Wait()
		list, _, err := e.st.ListRuns(t.Context(), store.RunFilter{Workflow: "flow"})
		must(t, err)
		if len(list) != 1 || list[0].Trigger == nil || list[0].Trigger.Name != "wf" || list[0].Owner != "ops" ||
			list[0].Trigger.ScheduledTime.Format("15:04:05") != "00:01:00" {
			t.Fatalf("runs = %+v, want one of 00:01:00 by ops started by wf", list)
		}
		if c := e.get(t, "wf"); c.LastJob != list[0].ID || c.LastStatus != api.CronSkipped {
			t.Errorf("cron job: last job %q status %q (%s); want %s, skipped", c.LastJob, c.LastStatus, c.LastMessage, list[0].ID)
		}
	})
}
