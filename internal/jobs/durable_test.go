package jobs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/jobs"
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
