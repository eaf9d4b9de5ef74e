package workflow

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
)

// fanOut is a fan-out/fan-in workflow with a conditional step and one that runs on failure.
const fanOut = `
parameters: {deploy: {default: true}}
steps:
- {name: build, image: x, retries: 1}
- {name: test-a, image: x, dependsOn: build}
- {name: test-b, image: x, dependsOn: build, input: ['run ${outputs.build.artifact}']}
- {name: deploy, image: x, dependsOn: [test-a, test-b], when: !Parameter deploy}
- {name: cleanup, image: x, dependsOn: deploy, when: '${steps.deploy.failed || steps.deploy.skipped}'}
`

func st(status api.StepStatus, attempt int) StepState {
	return StepState{Status: status, Attempt: attempt}
}

func TestNext(t *testing.T) {
	p, err := Compile(mustParse(t, fanOut))
	if err != nil {
		t.Fatal(err)
	}
	built := StepState{Status: api.StepSucceeded, Attempt: 1, Outputs: map[string]json.RawMessage{"artifact": json.RawMessage(`"app.tar"`)}}
	tests := []struct {
		name  string
		state State
		want  Decision
	}{
		{"new run", State{Status: api.RunQueued},
			Decision{Submit: []Submit{{Step: "build", Attempt: 1}}, Status: api.RunRunning}},
		{"waiting", State{Status: api.RunRunning, Steps: map[string]StepState{"build": st(api.StepRunning, 1)}},
			Decision{Status: api.RunRunning}},
		{"retry", State{Status: api.RunRunning, Steps: map[string]StepState{"build": st(api.StepFailed, 1)}},
			Decision{Submit: []Submit{{Step: "build", Attempt: 2}}, Status: api.RunRunning}},
		{"no retry left: dependents skipped, run failed", State{Status: api.RunRunning, Steps: map[string]StepState{"build": st(api.StepFailed, 2)}},
			Decision{Skip: []Mark{
				{Step: "deploy", Message: `dependency "test-a" was skipped`},
				{Step: "test-a", Message: `dependency "build" failed`},
				{Step: "test-b", Message: `dependency "build" failed`},
			}, Submit: []Submit{{Step: "cleanup", Attempt: 1}}, Status: api.RunRunning}}, // cleanup runs on skip
		{"the failure ends the run", State{Status: api.RunRunning, Steps: map[string]StepState{"build": st(api.StepFailed, 2),
			"test-a": st(api.StepSkipped, 0), "test-b": st(api.StepSkipped, 0), "deploy": st(api.StepSkipped, 0), "cleanup": st(api.StepSucceeded, 1)}},
			Decision{Status: api.RunFailed, Reason: `failed: "build"`}},
		{"a running step of a finished run is cancelled", State{Status: api.RunFailed, Steps: map[string]StepState{"test-a": st(api.StepRunning, 1)}},
			Decision{Cancel: []string{"test-a"}, Status: api.RunFailed}},
		{"fan out", State{Status: api.RunRunning, Steps: map[string]StepState{"build": built}},
			Decision{Submit: []Submit{{Step: "test-a", Attempt: 1}, {Step: "test-b", Attempt: 1, Input: json.RawMessage(`["run app.tar"]`)}}, Status: api.RunRunning}},
		{"fan in waits for both", State{Status: api.RunRunning, Steps: map[string]StepState{"build": built,
			"test-a": st(api.StepSucceeded, 1), "test-b": st(api.StepRunning, 1)}},
			Decision{Status: api.RunRunning}},
		{"condition false, run-on-skip runs", State{Status: api.RunRunning, Parameters: json.RawMessage(`{"deploy": false}`),
			Steps: map[string]StepState{"build": built, "test-a": st(api.StepSucceeded, 1), "test-b": st(api.StepSucceeded, 1)}},
			Decision{Skip: []Mark{{Step: "deploy", Message: "when[0] is false: ${parameters.deploy}"}},
				Submit: []Submit{{Step: "cleanup", Attempt: 1}}, Status: api.RunRunning}},
		{"condition true", State{Status: api.RunRunning,
			Steps: map[string]StepState{"build": built, "test-a": st(api.StepSucceeded, 1), "test-b": st(api.StepSucceeded, 1)}},
			Decision{Submit: []Submit{{Step: "deploy", Attempt: 1}}, Status: api.RunRunning}},
		{"succeeded: the skipped cleanup does not fail the run", State{Status: api.RunRunning, Steps: map[string]StepState{"build": built,
			"test-a": st(api.StepSucceeded, 1), "test-b": st(api.StepSucceeded, 1), "deploy": st(api.StepSucceeded, 1)}},
			Decision{Skip: []Mark{{Step: "cleanup", Message: "when[0] is false: ${steps.deploy.failed || steps.deploy.skipped}"}},
				Status: api.RunSucceeded}},
		{"run on failure", State{Status: api.RunRunning, Steps: map[string]StepState{"build": built,
			"test-a": st(api.StepSucceeded, 1), "test-b": st(api.StepSucceeded, 1), "deploy": st(api.StepFailed, 1)}},
			Decision{Submit: []Submit{{Step: "cleanup", Attempt: 1}}, Status: api.RunRunning}},
		{"input does not resolve", State{Status: api.RunRunning, Steps: map[string]StepState{"build": st(api.StepSucceeded, 1)}},
			Decision{Submit: []Submit{{Step: "test-a", Attempt: 1}},
				Fail:   []Mark{{Step: "test-b", Attempt: 1, Message: `input[0]: expression "outputs.build.artifact": no such key: artifact`}},
				Status: api.RunRunning}},
		{"cancel", State{Status: api.RunRunning, CancelRequested: true, Steps: map[string]StepState{"build": built,
			"test-a": st(api.StepRunning, 1), "test-b": st(api.StepSucceeded, 1)}},
			Decision{Cancel: []string{"test-a"}, Cancelled: []Mark{{Step: "cleanup", Message: "the run was cancelled"},
				{Step: "deploy", Message: "the run was cancelled"}}, Status: api.RunRunning}},
		{"cancelled once nothing runs", State{Status: api.RunRunning, CancelRequested: true, Steps: map[string]StepState{"build": built,
			"test-a": st(api.StepCancelled, 1), "test-b": st(api.StepSucceeded, 1), "deploy": st(api.StepCancelled, 0), "cleanup": st(api.StepCancelled, 0)}},
			Decision{Status: api.RunCancelled, Reason: "cancelled"}},
		{"timed out", State{Status: api.RunRunning, DeadlinePassed: true, Steps: map[string]StepState{"build": st(api.StepFailed, 1)}},
			Decision{Cancelled: []Mark{{Step: "build", Attempt: 1, Message: "the run timed out"}, {Step: "cleanup", Message: "the run timed out"},
				{Step: "deploy", Message: "the run timed out"}, {Step: "test-a", Message: "the run timed out"}, {Step: "test-b", Message: "the run timed out"}},
				Status: api.RunFailed, Reason: "the run timed out"}},
		{"finished run stays", State{Status: api.RunSucceeded}, Decision{Status: api.RunSucceeded}},
		{"garbage statuses read as pending", State{Steps: map[string]StepState{"build": {Status: "exploded", Attempt: -4}, "nope": st(api.StepRunning, 1)}},
			Decision{Submit: []Submit{{Step: "build", Attempt: 1}}, Status: api.RunRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Next(tt.state)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Next (-want +got):\n%s", d)
			}
			if again := p.Next(tt.state); !cmp.Equal(got, again, cmpopts.EquateEmpty()) {
				t.Errorf("Next is not idempotent: %+v, then %+v", got, again)
			}
		})
	}
}

func TestNextSecretsAndInvalidDefinition(t *testing.T) {
	w := mustParse(t, "steps:\n- {name: a, image: x, env: {T: !Secret tok}}\n")
	if d := Next(w, State{}); len(d.Submit) != 1 || d.Submit[0].Secrets[0] != "tok" {
		t.Errorf("Next = %+v, want a submit of a that names secret tok", d)
	}
	w.Steps[0].Retries = -1
	d := Next(w, State{Status: api.RunRunning, Steps: map[string]StepState{"a": st(api.StepRunning, 1)}})
	want := Decision{Cancel: []string{"a"}, Status: api.RunRunning,
		Reason: `the workflow definition is invalid: steps[0] "a".retries: -1 is out of range: 0 to 10`}
	if diff := cmp.Diff(want, d, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Next of an invalid definition (-want +got):\n%s", diff)
	}
}
