package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// testPendingAudit checks store.WithAudit: a change committed under a pending entry writes it in the same
// transaction, once; a change that fails or changes nothing writes nothing; creates name the object they make.
func testPendingAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateRunner", s.CreateRunner(ctx, runner("base")))
	must(t, "CreateTask", s.CreateTask(ctx, task("doomed", "base")))
	owner, err := s.CreateUser(ctx, store.User{User: api.User{Username: "owner", Provider: api.ProviderLocal}})
	must(t, "CreateUser", err)
	tok, err := s.CreateAPIToken(ctx, store.APIToken{APIToken: api.APIToken{Owner: owner.ID}, KeyHash: "hash-1"})
	must(t, "CreateAPIToken", err)
	_, _, err = s.CreateJob(ctx, job("t-keyed", "t", 1))
	must(t, "CreateJob", err)
	must(t, "CreateWorkflow", s.CreateWorkflow(ctx, workflow("doomed")))
	keyedRun := run("run-first", "w", 1)
	keyedRun.IdempotencyKey = "k1"
	firstRun, _, err := s.CreateRun(ctx, keyedRun)
	must(t, "CreateRun", err)
	keyed := job("t-first", "t", 2)
	keyed.IdempotencyKey = "k1"
	_, _, err = s.CreateJob(ctx, keyed)
	must(t, "CreateJob", err)

	var createdUser string
	tests := []struct {
		name   string
		change func(ctx context.Context) error
		// target is the EventTarget the written entry must have; "" when nothing may be written.
		target func() string
	}{
		{"create runner", func(ctx context.Context) error { return s.CreateRunner(ctx, runner("r1")) }, fixed("given")},
		{"create runner taken", func(ctx context.Context) error { return s.CreateRunner(ctx, runner("r1")) }, nil},
		{"update runner", func(ctx context.Context) error { return s.UpdateRunner(ctx, runner("r1")) }, fixed("given")},
		{"update runner absent", func(ctx context.Context) error { return s.UpdateRunner(ctx, runner("nope")) }, nil},
		{"update task absent", func(ctx context.Context) error { return s.UpdateTask(ctx, task("nope", "base")) }, nil},
		{"delete task", func(ctx context.Context) error { return s.DeleteTask(ctx, "doomed") }, fixed("given")},
		{"delete task absent", func(ctx context.Context) error { return s.DeleteTask(ctx, "doomed") }, nil},
		{"delete runner in use", func(ctx context.Context) error {
			must(t, "CreateTask", s.CreateTask(t.Context(), task("user", "r1")))
			return s.DeleteRunner(ctx, "r1")
		}, nil},
		{"create user names its id", func(ctx context.Context) error {
			u, err := s.CreateUser(ctx, store.User{User: api.User{Username: "new", Provider: api.ProviderLocal}})
			createdUser = u.ID
			return err
		}, func() string { return createdUser }},
		{"set password", func(ctx context.Context) error { return s.SetPassword(ctx, owner.ID, "h") }, fixed("given")},
		{"set password absent", func(ctx context.Context) error { return s.SetPassword(ctx, "absent", "h") }, nil},
		{"update api token", func(ctx context.Context) error {
			_, err := s.UpdateAPIToken(ctx, tok)
			return err
		}, fixed("given")},
		{"revoke session", func(ctx context.Context) error {
			return s.RevokeSession(ctx, owner.ID, "session-1", at(1000))
		}, fixed("given")},
		{"revoke credentials", func(ctx context.Context) error { return s.RevokeCredentials(ctx, owner.ID) }, fixed("given")},
		{"delete api token", func(ctx context.Context) error { return s.DeleteAPIToken(ctx, tok.ID) }, fixed("given")},
		{"delete api token absent", func(ctx context.Context) error { return s.DeleteAPIToken(ctx, tok.ID) }, nil},
		{"create job names it", func(ctx context.Context) error {
			_, _, err := s.CreateJob(ctx, job("t-new01", "t", 3))
			return err
		}, fixed("t-new01")},
		{"create job replayed names the first", func(ctx context.Context) error {
			again := job("t-again", "t", 4)
			again.IdempotencyKey = "k1"
			_, _, err := s.CreateJobCapped(ctx, again, 100)
			return err
		}, fixed("t-first")},
		{"create job refused by the cap", func(ctx context.Context) error {
			_, _, err := s.CreateJobCapped(ctx, job("t-over1", "t", 5), 1)
			return err
		}, nil},
		{"cancel job", func(ctx context.Context) error {
			_, err := s.FinishJob(ctx, "t-keyed", store.Finish{Status: api.JobCancelled})
			return err
		}, fixed("given")},
		{"cancel job twice", func(ctx context.Context) error {
			_, err := s.FinishJob(ctx, "t-keyed", store.Finish{Status: api.JobCancelled})
			return err
		}, nil},
		{"create workflow", func(ctx context.Context) error { return s.CreateWorkflow(ctx, workflow("w1")) }, fixed("given")},
		{"create workflow taken", func(ctx context.Context) error { return s.CreateWorkflow(ctx, workflow("w1")) }, nil},
		{"update workflow", func(ctx context.Context) error { return s.UpdateWorkflow(ctx, fullWorkflow("w1")) }, fixed("given")},
		{"update workflow absent", func(ctx context.Context) error { return s.UpdateWorkflow(ctx, workflow("nope")) }, nil},
		{"delete workflow", func(ctx context.Context) error { return s.DeleteWorkflow(ctx, "doomed") }, fixed("given")},
		{"delete workflow absent", func(ctx context.Context) error { return s.DeleteWorkflow(ctx, "doomed") }, nil},
		{"create run names it", func(ctx context.Context) error {
			_, _, err := s.CreateRun(ctx, run("run-new", "w", 2))
			return err
		}, fixed("run-new")},
		{"create run replayed names the first", func(ctx context.Context) error {
			again := run("run-again", "w", 3)
			again.IdempotencyKey = "k1"
			_, _, err := s.CreateRun(ctx, again)
			return err
		}, fixed("run-first")},
		{"create run taken", func(ctx context.Context) error {
			_, _, err := s.CreateRun(ctx, run("run-new", "w", 4))
			return err
		}, nil},
		{"create run with jobs names it", func(ctx context.Context) error {
			r, jobs := runWithJobs("run-jobs", "alice", "", 5)
			_, _, err := s.CreateRunWithJobs(ctx, r, jobs, 0)
			return err
		}, fixed("run-jobs")},
		{"create run with jobs replayed names the first", func(ctx context.Context) error {
			r, jobs := runWithJobs("run-jobs-again", "alice", "k1", 6)
			r.OwnerID = keyedRun.OwnerID
			_, _, err := s.CreateRunWithJobs(ctx, r, jobs, 0)
			return err
		}, fixed("run-first")},
		{"create run with jobs refused by the cap", func(ctx context.Context) error {
			r, jobs := runWithJobs("run-jobs-full", "alice", "", 7)
			_, _, err := s.CreateRunWithJobs(ctx, r, jobs, 1)
			return err
		}, nil},
		{"update run", func(ctx context.Context) error {
			firstRun.Status = api.RunCancelled
			_, err := s.UpdateRun(ctx, firstRun)
			return err
		}, fixed("given")},
		{"update run from a stale version", func(ctx context.Context) error {
			_, err := s.UpdateRun(ctx, firstRun)
			return err
		}, nil},
		{"set run value", func(ctx context.Context) error {
			return s.SetRunValue(ctx, store.RunValue{Run: "run-first", Step: "s", Kind: store.ValueOutput, Name: "n",
				Value: []byte(`1`)})
		}, fixed("given")},
		{"set run value of an absent run", func(ctx context.Context) error {
			return s.SetRunValue(ctx, store.RunValue{Run: "run-absent", Step: "s", Kind: store.ValueOutput, Name: "n",
				Value: []byte(`1`)})
		}, nil},
		{"two changes, one entry", func(ctx context.Context) error {
			if err := s.CreateRunner(ctx, runner("r2")); err != nil {
				return err
			}
			return s.CreateRunner(ctx, runner("r3"))
		}, fixed("given")},
	}
	written := 0
	for i, tt := range tests {
		id := auditID(100 + i)
		p := store.NewPendingAudit(api.AuditLog{ID: id, Username: "ann", EventType: "update",
			EventCategory: "test", EventTarget: "given", Status: api.AuditSuccess, Source: "192.0.2.1"})
		err := tt.change(store.WithAudit(ctx, p))
		got, gerr := s.GetAudit(ctx, id)
		if tt.target == nil {
			if err == nil {
				t.Errorf("%s: change succeeded, want it to fail", tt.name)
			}
			if p.Written() || !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("%s: a failed change wrote its audit entry (Written %v, GetAudit err %v)", tt.name, p.Written(), gerr)
			}
			continue
		}
		must(t, tt.name, err)
		written++
		if !p.Written() || gerr != nil {
			t.Errorf("%s: committed change, audit entry Written %v, GetAudit err %v; want it written", tt.name, p.Written(), gerr)
			continue
		}
		if want := tt.target(); got.EventTarget != want || got.Username != "ann" || got.CreateTime.IsZero() {
			t.Errorf("%s: entry %+v, want target %q, user ann and a time", tt.name, got, want)
		}
	}
	all, err := s.ListAudit(ctx, 0)
	must(t, "ListAudit", err)
	if len(all) != written {
		t.Errorf("ListAudit() = %d entries, want %d (one per committed change)", len(all), written)
	}
}

func fixed(s string) func() string { return func() string { return s } }
