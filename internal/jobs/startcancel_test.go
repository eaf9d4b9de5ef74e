package jobs_test

import (
	"context"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
)

// TestCancelWhileStarting: a job cancelled while it is being prepared (here, while its workflow step's
// environment is fetched) ends cancelled, not failed with the start's "context canceled".
func TestCancelWhileStarting(t *testing.T) {
	preparing := make(chan struct{})
	e := newEnv(t, jobs.Options{StepEnv: func(ctx context.Context, _ store.Job) (jobs.Step, error) {
		close(preparing)
		<-ctx.Done()
		return jobs.Step{}, ctx.Err()
	}}, nil)
	e.task(t, api.Task{Name: "step", Command: "echo ran"})
	e.start(t)
	job, err := e.eng.Submit(t.Context(), jobs.Request{Task: "step", Owner: "alice", Run: "w-12345", Step: "a"})
	if err != nil {
		t.Fatal(err)
	}
	<-preparing
	if _, err := e.eng.Cancel(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.await(t, job.ID); got.Status != api.JobCancelled || got.Reason != api.ReasonCancelled {
		t.Errorf("job cancelled while starting = %s (%q), want cancelled (%q)", got.Status, got.Reason, api.ReasonCancelled)
	}
}
