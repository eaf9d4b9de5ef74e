package runs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// TestStepEnvMasksSensitiveOutputs: a step's job starting once another job of the run may have set values (a
// step running beside it, an earlier attempt of its own step) has the run's sensitive outputs masked in its log;
// only the first job of a run, which nothing can have preceded, skips reading them.
func TestStepEnvMasksSensitiveOutputs(t *testing.T) {
	const secret = "s3cret-value"
	tests := []struct {
		name  string
		w     api.Workflow
		hold  string                   // the key's tail of the job to hold at its start
		gated func(s api.StepRun) bool // that job's step, as the run records it
	}{
		{"beside a step that set it", api.Workflow{Name: "w", Steps: []api.Step{sh("a", "true"), sh("b", "true")}},
			"/b/1", func(s api.StepRun) bool { return s.Name == "b" && s.Status == api.StepRunning }},
		{"a second attempt", api.Workflow{Name: "w", Steps: []api.Step{{Name: "a", Image: "alpine", Retries: 1,
			Command: api.Strings{"sh", "-c", `test "$RUNPLANE_ATTEMPT" = 2`}}}},
			"/a/2", func(s api.StepRun) bool { return s.Name == "a" && s.Status == api.StepRunning && s.Attempt == 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.workflow(t, tt.w)
			gate := make(chan struct{})
			e.mu.Lock()
			e.gateJob = func(j store.Job) bool { return strings.HasSuffix(j.IdempotencyKey, tt.hold) }
			e.gate = gate
			e.mu.Unlock()
			r := e.addEngine(t, engineOpts{})
			run := e.start(t, r, "w", `{}`)
			var held api.StepRun
			waitFor(t, "the step's job to be recorded running", func() bool {
				now, err := e.st.GetRun(t.Context(), run.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range now.Steps {
					if tt.gated(s) {
						held = s
						return true
					}
				}
				return false
			})
			v, _ := json.Marshal(secret)
			if err := e.st.SetRunValue(t.Context(), store.RunValue{Run: run.ID, Step: "a", Kind: store.ValueOutput, Name: "tok",
				Value: v, Sensitive: true}); err != nil {
				t.Fatal(err)
			}
			job := store.Job{Job: api.Job{ID: held.Job, Run: run.ID, Step: held.Name},
				IdempotencyKey: fmt.Sprintf("run/%s/%s/%d", run.ID, held.Name, held.Attempt)}
			s, err := r.StepEnv(t.Context(), job)
			if err != nil {
				t.Fatalf("StepEnv: %v", err)
			}
			if !slices.Contains(s.Masks, secret) {
				t.Errorf("StepEnv of step %s attempt %d masks %q, want a's sensitive output among them", held.Name, held.Attempt, s.Masks)
			}
			close(gate)
			if done := e.await(t, r, run.ID); done.Status != api.RunSucceeded {
				t.Errorf("run = %s (%s), want succeeded", done.Status, done.Reason)
			}
		})
	}
}

// setGo sets output go of step a to "yes" once a's job is submitted, as a's job would through the metadata API.
type setGo struct {
	*jobs.Engine
	st store.Runs
}

func (s *setGo) Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error) {
	if r.Step == "a" {
		if err := s.st.SetRunValue(ctx, store.RunValue{Run: r.Run, Step: "a", Kind: store.ValueOutput, Name: "go",
			Value: json.RawMessage(`"yes"`)}); err != nil {
			return jobs.Submitted{}, err
		}
	}
	return s.Engine.Submit(ctx, r)
}

// TestWhenReadsOutputsOfTheMetadataAPI: the advance at a step's end, with steps still to start, decides their
// whens over the outputs the ended step set through the metadata API (the run's values, which an advance with no
// step left to start does not read).
func TestWhenReadsOutputsOfTheMetadataAPI(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	yes, no := sh("yes", mark(ran), "a"), sh("no", mark(ran), "a")
	yes.When = api.Conditions{"${outputs.a.go == 'yes'}"}
	no.When = api.Conditions{"${outputs.a.go == 'no'}"}
	e.workflow(t, api.Workflow{Name: "w", Steps: []api.Step{sh("a", mark(ran)), yes, no}})
	r := e.addEngine(t, engineOpts{wrap: func(j runs.Jobs) runs.Jobs { return &setGo{Engine: j.(*jobs.Engine), st: e.st} }})
	run := e.await(t, r, e.start(t, r, "w", `{}`).ID)
	if run.Status != api.RunSucceeded || step(t, run, "yes").Status != api.StepSucceeded || step(t, run, "no").Status != api.StepSkipped {
		t.Errorf("run = %s (%s): %+v; want succeeded, yes succeeded, no skipped", run.Status, run.Reason, run.Steps)
	}
}
