package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
)

// durable presents an executor's attempts as outliving the server (as Kubernetes Jobs do).
type durable struct{ executor.Executor }

func (durable) Durable() bool { return true }

// TestShutdownLeavesDurableJobsRunning: a server shutting down leaves a durable executor's jobs running (not
// "interrupted") with their leases released, and the next engine re-attaches to them and records how they end.
func TestShutdownLeavesDurableJobsRunning(t *testing.T) {
	e := newEnv(t, jobs.Options{Exclusive: true, ShutdownGrace: time.Minute, ServerID: "first"}, nil)
	e.eng = jobs.New(e.st, durable{e.ex}, e.logs, jobs.Options{Exclusive: true, ShutdownGrace: time.Minute, ServerID: "first"})
	flag := filepath.Join(t.TempDir(), "go")
	e.task(t, api.Task{Name: "slow", Command: "echo before; while [ ! -e " + flag + " ]; do sleep 0.05; done; echo after"})
	e.start(t)
	j, err := e.eng.Submit(t.Context(), jobs.Request{Task: "slow", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, j.ID, api.JobRunning)
	start := time.Now()
	e.stop(t)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown took %v; want it not to wait for the durable job", took)
	}
	got, err := e.st.GetJob(t.Context(), j.ID)
	if err != nil || got.Status != api.JobRunning || got.Handle == "" {
		t.Fatalf("after shutdown job = %s %q (handle %q), %v; want still running", got.Status, got.Reason, got.Handle, err)
	}
	if !got.Lease.Until.Before(time.Now().Add(time.Second)) {
		t.Errorf("lease of the job left running ends %v; want it released at shutdown", got.Lease.Until)
	}

	e.eng = jobs.New(e.st, durable{e.ex}, e.logs, jobs.Options{Exclusive: true, ServerID: "second"})
	e.start(t)
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	done := e.await(t, j.ID)
	// (Its output is the executor's business: the local one writes to the first engine's pipe, which no one reads
	// any more. The Kubernetes tests check that a re-attached job's log is whole.)
	if done.Status != api.JobSucceeded {
		t.Errorf("re-attached job = %s %q; want succeeded", done.Status, done.Reason)
	}
}

// finder finds one job's attempt by its id, as the Kubernetes executor does by label.
type finder struct {
	executor.Executor
	id string
	h  executor.Handle
}

func (f finder) Find(_ context.Context, id string) (executor.Handle, error) {
	if id == f.id {
		return f.h, nil
	}
	return "", executor.ErrNotFound
}

// TestAdoptFindsUnrecordedAttempt: a job left running without a handle (its server stopped between starting the
// attempt and recording it) is found by its id and re-attached, not orphaned; one the executor cannot find is.
func TestAdoptFindsUnrecordedAttempt(t *testing.T) {
	e := newEnv(t, jobs.Options{Exclusive: true}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	ctx := t.Context()
	var ids []string
	for range 2 {
		j, err := e.eng.Submit(ctx, jobs.Request{Task: "t", Owner: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.ClaimJob(ctx, time.Now(), store.Lease{Owner: "crashed", Until: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	// The attempt the crashed server started for the first job, still running.
	h, err := e.ex.Start(ctx, executor.Spec{JobID: ids[0], Task: "t", Runner: "r", Owner: "a",
		Repo: executor.Repo{URL: e.repo}, Command: "sleep 0.3; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	e.eng = jobs.New(e.st, finder{Executor: e.ex, id: ids[0], h: h}, e.logs, jobs.Options{Exclusive: true})
	e.start(t)
	if j := e.await(t, ids[0]); j.Status != api.JobFailed || j.ExitCode == nil || *j.ExitCode != 3 || j.Handle != string(h) {
		t.Errorf("found job = %s %q (exit %v, handle %q); want failed with the attempt's exit code 3 and its handle", j.Status, j.Reason, j.ExitCode, j.Handle)
	}
	if j := e.await(t, ids[1]); j.Status != api.JobFailed || j.Reason != api.ReasonOrphaned {
		t.Errorf("job without an attempt = %s %q, want failed, orphaned", j.Status, j.Reason)
	}
}

// TestAdoptedJobKeepsItsTimeout: a job re-attached after a restart ends when its timeout, counted from its start,
// runs out; a restart gives it no more time.
func TestAdoptedJobKeepsItsTimeout(t *testing.T) {
	e := newEnv(t, jobs.Options{Exclusive: true}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	ctx := t.Context()
	j, err := e.eng.Submit(ctx, jobs.Request{Task: "t", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// Started an hour ago by a server that crashed, and still running.
	started := time.Now().Add(-time.Hour)
	if _, err := e.st.ClaimJob(ctx, started, store.Lease{Owner: "crashed", Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h, err := e.ex.Start(ctx, executor.Spec{JobID: j.ID, Task: "t", Runner: "r", Owner: "a",
		Repo: executor.Repo{URL: e.repo}, Command: "exec sleep 600"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetJobHandle(ctx, j.ID, string(h)); err != nil {
		t.Fatal(err)
	}
	e.eng = jobs.New(e.st, e.ex, e.logs, jobs.Options{Exclusive: true, DefaultTimeout: 30 * time.Minute, StopGrace: 200 * time.Millisecond})
	e.start(t)
	if got := e.await(t, j.ID); got.Status != api.JobFailed || got.Reason != api.ReasonTimeout {
		t.Errorf("re-attached job past its timeout = %s %q, want failed %q", got.Status, got.Reason, api.ReasonTimeout)
	}
}
