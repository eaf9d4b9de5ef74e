package runs_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// TestStartOneWrite: a new run is stored with its first decisions applied — the steps ready at once running,
// their jobs created — in one write (the run's version 1, its jobs there), and runs from there as any run.
func TestStartOneWrite(t *testing.T) {
	tests := []struct {
		name        string
		w           func(ran string) api.Workflow
		wantStatus  api.RunStatus
		wantRunning []string // steps running, each with its job, in the run Start returns
		wantFailed  []string
		wantEnd     api.RunStatus
	}{
		{"one first step", func(ran string) api.Workflow { return fanIn("fan", ran) },
			api.RunRunning, []string{"a"}, nil, api.RunSucceeded},
		{"two first steps", func(ran string) api.Workflow {
			return api.Workflow{Name: "two", Steps: []api.Step{sh("a", mark(ran)), sh("b", mark(ran)), sh("c", mark(ran), "a", "b")}}
		}, api.RunRunning, []string{"a", "b"}, nil, api.RunSucceeded},
		{"a first step that cannot run", func(ran string) api.Workflow {
			bad := api.Step{Name: "a", Task: "no-such-task"}
			return api.Workflow{Name: "bad", Steps: []api.Step{bad, sh("b", mark(ran), "a")}}
		}, api.RunFailed, nil, []string{"a"}, api.RunFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ran := filepath.Join(e.dir, "ran")
			w := tt.w(ran)
			e.workflow(t, w)
			gate := make(chan struct{})
			e.mu.Lock()
			e.gate = gate // the first steps' jobs wait to start: nothing advances the run meanwhile
			e.mu.Unlock()
			r := e.addEngine(t, engineOpts{})
			run := e.start(t, r, w.Name, `{}`)
			stored, err := e.st.GetRun(t.Context(), run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Version != 1 || stored.Status != tt.wantStatus {
				t.Errorf("run %s as stored: %s, version %d; want %s, version 1 (one write)", run.ID, stored.Status, stored.Version, tt.wantStatus)
			}
			jobs := map[string]store.Job{}
			for _, j := range e.jobsOf(t, run.ID) {
				jobs[j.Step] = j
			}
			if len(jobs) != len(tt.wantRunning) {
				t.Errorf("run %s has jobs of steps %v, want %v", run.ID, keys(jobs), tt.wantRunning)
			}
			for _, name := range tt.wantRunning {
				s := step(t, stored, name)
				j, ok := jobs[name]
				if s.Status != api.StepRunning || s.Attempt != 1 || !ok || s.Job != j.ID ||
					j.IdempotencyKey != fmt.Sprintf("run/%s/%s/1", run.ID, name) {
					t.Errorf("step %s = %s attempt %d job %q (job of the step: %q, key %q); want running, attempt 1, its job with the attempt's key",
						name, s.Status, s.Attempt, s.Job, j.ID, j.IdempotencyKey)
				}
			}
			for _, name := range tt.wantFailed {
				if s := step(t, stored, name); s.Status != api.StepFailed || s.Message == "" {
					t.Errorf("step %s = %s (%q), want failed, saying why", name, s.Status, s.Message)
				}
			}
			close(gate)
			done := e.await(t, r, run.ID)
			if done.Status != tt.wantEnd {
				t.Fatalf("run %s ended %s (%s), want %s", run.ID, done.Status, done.Reason, tt.wantEnd)
			}
			if tt.wantEnd == api.RunSucceeded {
				checkOnce(t, e, ran, []store.Run{done})
			}
		})
	}
}

// TestStartKeyOnce: a run started twice with one idempotency key is created once, with one set of first jobs.
func TestStartKeyOnce(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	e.workflow(t, fanIn("fan", ran))
	r := e.addEngine(t, engineOpts{})
	req := runs.Request{Workflow: "fan", Owner: "ann", OwnerID: "u-ann", IdempotencyKey: "k"}
	first, created, err := r.Start(t.Context(), req)
	if err != nil || !created {
		t.Fatalf("Start = created %v, %v; want created", created, err)
	}
	again, created, err := r.Start(t.Context(), req)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("Start again = %q, created %v, %v; want %q, created false", again.ID, created, err, first.ID)
	}
	checkOnce(t, e, ran, []store.Run{e.await(t, r, first.ID)})
	list, _, err := e.st.ListJobs(t.Context(), store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 {
		t.Errorf("%d jobs, want 5: one per step of the one run", len(list))
	}
}

func keys(m map[string]store.Job) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
