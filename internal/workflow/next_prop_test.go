package workflow

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/runplane/runplane/api"
)

// randomWorkflow draws a DAG of up to 8 steps: explicit and implicit (output) edges to earlier steps, when
// entries that are constant or read a dependency's status, retries.
func randomWorkflow(t *rapid.T) api.Workflow {
	n := rapid.IntRange(1, 8).Draw(t, "steps")
	w := api.Workflow{Name: "prop"}
	for i := range n {
		s := api.Step{Name: fmt.Sprintf("s%d", i), Image: "x", Retries: rapid.IntRange(0, 2).Draw(t, "retries")}
		var deps []string
		for j := range i {
			switch rapid.IntRange(0, 3).Draw(t, "edge") {
			case 1:
				s.DependsOn = append(s.DependsOn, fmt.Sprintf("s%d", j))
				deps = append(deps, fmt.Sprintf("s%d", j))
			case 2:
				s.Input = json.RawMessage(fmt.Sprintf(`["echo ${outputs.s%d.o}"]`, j))
				deps = append(deps, fmt.Sprintf("s%d", j))
			}
		}
		switch rapid.IntRange(0, 4).Draw(t, "when") {
		case 1:
			s.When = api.Conditions{"true"}
		case 2:
			s.When = api.Conditions{"${false}"}
		case 3, 4:
			if len(deps) > 0 {
				d := rapid.SampledFrom(deps).Draw(t, "whenDep")
				field := rapid.SampledFrom(statusFields).Draw(t, "field")
				s.When = api.Conditions{fmt.Sprintf("steps.%s.%s || steps.%s.succeeded", d, field, d)}
			}
		}
		w.Steps = append(w.Steps, s)
	}
	return w
}

// TestNextTerminates runs random workflows with random step outcomes (and now and then a cancel) through Next
// as an engine would, and checks that every run ends with every step final, that no step is submitted twice
// for one attempt, and that Next is deterministic and does not repeat itself.
func TestNextTerminates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := randomWorkflow(t)
		p, err := Compile(w)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		state := State{Status: api.RunQueued, Steps: map[string]StepState{}}
		submitted := map[string]bool{}
		for round := 0; ; round++ {
			if round > 200 {
				t.Fatalf("the run did not end after %d rounds: %+v", round, state)
			}
			d := p.Next(state)
			if again := p.Next(state); !cmp.Equal(d, again, cmpopts.EquateEmpty()) {
				t.Fatalf("Next is not deterministic: %+v then %+v", d, again)
			}
			apply(t, &state, d, submitted)
			if next := p.Next(state); !next.Empty(state.Status) && len(next.Cancel) == 0 {
				t.Fatalf("Next after applying %+v decides again: %+v", d, next)
			}
			if state.Status.Final() {
				for _, s := range w.Steps {
					if c := state.Steps[s.Name]; !p.finalFor(s.Name, &cur{c.Status, c.Attempt}) {
						t.Fatalf("run %s with step %s %s (attempt %d)", state.Status, s.Name, c.Status, c.Attempt)
					}
				}
				if state.CancelRequested && state.Status != api.RunCancelled {
					t.Fatalf("cancelled run ended %s", state.Status)
				}
				return
			}
			var running []string
			for _, s := range w.Steps {
				if state.Steps[s.Name].Status == api.StepRunning {
					running = append(running, s.Name)
				}
			}
			if len(running) == 0 {
				t.Fatalf("the run is stuck: %s with nothing running: %+v", state.Status, state.Steps)
			}
			if !state.CancelRequested && rapid.IntRange(0, 20).Draw(t, "cancel") == 0 {
				state.CancelRequested = true
				continue
			}
			name := rapid.SampledFrom(running).Draw(t, "finishes")
			s := state.Steps[name]
			s.Status = rapid.SampledFrom([]api.StepStatus{api.StepSucceeded, api.StepSucceeded, api.StepFailed, api.StepCancelled}).Draw(t, "outcome")
			if s.Status == api.StepSucceeded && rapid.IntRange(0, 5).Draw(t, "output") > 0 {
				s.Outputs = map[string]json.RawMessage{"o": json.RawMessage(`1`)}
			}
			state.Steps[name] = s
		}
	})
}

// apply does what the engine does with a decision, checking that no attempt is submitted twice.
func apply(t *rapid.T, state *State, d Decision, submitted map[string]bool) {
	for _, s := range d.Submit {
		key := fmt.Sprintf("%s#%d", s.Step, s.Attempt)
		if submitted[key] {
			t.Fatalf("%s submitted twice", key)
		}
		submitted[key] = true
		old := state.Steps[s.Step]
		if old.Status == api.StepRunning || s.Attempt != old.Attempt+1 {
			t.Fatalf("submit %s attempt %d over %s attempt %d", s.Step, s.Attempt, old.Status, old.Attempt)
		}
		state.Steps[s.Step] = StepState{Status: api.StepRunning, Attempt: s.Attempt}
	}
	set := func(marks []Mark, status api.StepStatus) {
		for _, m := range marks {
			if state.Steps[m.Step].Status == api.StepRunning {
				t.Fatalf("mark %s %s while it runs", m.Step, status)
			}
			state.Steps[m.Step] = StepState{Status: status, Attempt: m.Attempt}
		}
	}
	set(d.Skip, api.StepSkipped)
	set(d.Fail, api.StepFailed)
	set(d.Cancelled, api.StepCancelled)
	state.Status = d.Status
}
