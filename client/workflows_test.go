package client_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// sh is a step command: sh -c script.
func sh(script string) api.Strings { return api.Strings{"sh", "-c", script} }

// pair is a two-step workflow: first prints a ^JSON result, second reads it through an env template and fails
// when asked to.
func pair(name string) api.Workflow {
	return api.Workflow{
		Name:       name,
		Parameters: json.RawMessage(`{"type":"object","properties":{"fail":{"type":"boolean","default":false}}}`),
		Steps: []api.Step{
			{Name: "first", Image: "alpine", Command: sh(`echo '^JSON {"n": 7} ^JSON'`)},
			{Name: "second", DependsOn: api.Strings{"first"}, Image: "alpine",
				Env:     api.EnvVars{{Name: "N", Value: "${outputs.first.n}"}, {Name: "FAIL", Value: "${parameters.fail}"}},
				Command: sh(`echo "got $N"; [ "$FAIL" = false ]`)},
		},
	}
}

func TestWorkflows(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	c := f.c

	w := pair("pair")
	got, err := c.CreateWorkflow(ctx, w)
	if err != nil {
		t.Fatalf("CreateWorkflow: %v", err)
	}
	if got.Name != "pair" || len(got.Steps) != 2 {
		t.Errorf("CreateWorkflow = %+v, want pair with its two steps", got)
	}
	_, err = c.CreateWorkflow(ctx, w)
	checkStatus(t, "CreateWorkflow again", err, 409)
	if !errors.Is(err, client.ErrConflict) {
		t.Errorf("CreateWorkflow again: %v, want ErrConflict", err)
	}

	bad := []struct {
		name string
		w    api.Workflow
		want string
	}{
		{"unknown dependency", api.Workflow{Name: "bad", Steps: []api.Step{{Name: "a", Image: "alpine", Command: sh("true"), DependsOn: api.Strings{"ghost"}}}}, "ghost"},
		{"unknown task", api.Workflow{Name: "bad", Steps: []api.Step{{Name: "a", Task: "ghost"}}}, `unknown task "ghost"`},
		{"bad name", api.Workflow{Name: "Bad Name", Steps: []api.Step{{Name: "a", Task: "hello"}}}, "name"},
	}
	for _, tt := range bad {
		_, err := c.CreateWorkflow(ctx, tt.w)
		ce := checkStatus(t, "CreateWorkflow "+tt.name, err, 400)
		if !strings.Contains(ce.Message, tt.want) {
			t.Errorf("CreateWorkflow %s: %q, want it to name %q", tt.name, ce.Message, tt.want)
		}
	}
	_, err = c.GetWorkflow(ctx, "bad")
	checkStatus(t, "GetWorkflow bad", err, 404)

	w.Description = "two steps"
	if got, err = c.UpdateWorkflow(ctx, w); err != nil || got.Description != "two steps" {
		t.Fatalf("UpdateWorkflow = %+v, %v; want the new description", got, err)
	}
	if _, created, err := c.ApplyWorkflow(ctx, w); err != nil || created {
		t.Errorf("ApplyWorkflow(existing) created=%v err=%v, want replaced", created, err)
	}
	if _, created, err := c.ApplyWorkflow(ctx, pair("pair2")); err != nil || !created {
		t.Errorf("ApplyWorkflow(new) created=%v err=%v, want created", created, err)
	}

	relay := "version: v1\ndescription: from Relay\nparameters:\n  who: {default: world}\nsteps:\n" +
		"  - name: hi\n    image: alpine\n    env:\n      WHO: !Parameter who\n    input:\n      - echo \"hi $WHO\"\n"
	if got, err = c.CreateWorkflowYAML(ctx, []byte(relay), "relay"); err != nil || got.Name != "relay" || got.Steps[0].Env[0].Value != "${parameters.who}" {
		t.Fatalf("CreateWorkflowYAML(relay) = %+v, %v; want workflow relay with !Parameter read as a template", got, err)
	}
	if got, err = c.UpdateWorkflowYAML(ctx, "relay", []byte(strings.Replace(relay, "from Relay", "again", 1))); err != nil || got.Description != "again" {
		t.Errorf("UpdateWorkflowYAML = %+v, %v", got, err)
	}
	_, err = c.CreateWorkflowYAML(ctx, []byte("steps: [\n"), "broken")
	checkStatus(t, "CreateWorkflowYAML(broken)", err, 400)

	list, err := c.ListWorkflows(ctx)
	if err != nil {
		t.Fatalf("ListWorkflows: %v", err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if strings.Join(names, ",") != "pair,pair2,relay" {
		t.Errorf("ListWorkflows names = %v, want pair, pair2, relay", names)
	}
	if err := c.DeleteWorkflow(ctx, "pair2"); err != nil {
		t.Fatalf("DeleteWorkflow: %v", err)
	}
	checkStatus(t, "DeleteWorkflow again", c.DeleteWorkflow(ctx, "pair2"), 404)
}

func TestRuns(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	c := f.c
	if _, err := c.CreateWorkflow(ctx, pair("pair")); err != nil {
		t.Fatalf("CreateWorkflow: %v", err)
	}
	slow := api.Workflow{Name: "slow", Steps: []api.Step{{Name: "wait", Image: "alpine", Command: sh("sleep 120")}}}
	if _, err := c.CreateWorkflow(ctx, slow); err != nil {
		t.Fatalf("CreateWorkflow(slow): %v", err)
	}

	run, finished, err := c.StartRun(ctx, "pair", nil, client.SubmitOptions{Wait: ptr(time.Minute)})
	if err != nil || !finished || run.Status != api.RunSucceeded || len(run.Steps) != 2 {
		t.Fatalf("StartRun(wait) = %+v, %v, %v; want a succeeded run with two steps", run, finished, err)
	}
	if got := string(run.Steps[0].Outputs["n"]); got != "7" || run.Steps[1].Job == "" {
		t.Errorf("steps = %+v, want first's output n = 7 and second's job", run.Steps)
	}
	job, err := c.GetJob(ctx, run.Steps[1].Job)
	if err != nil || job.Run != run.ID || job.Step != "second" || !strings.Contains(job.Stdout, "got 7") {
		t.Errorf("second's job = %+v, %v; want it to name the run and step and print got 7", job, err)
	}

	async, finished, err := c.StartRun(ctx, "pair", []byte(`{"fail": true}`), client.SubmitOptions{Wait: ptr(time.Duration(0)), IdempotencyKey: "k1"})
	if err != nil || finished || async.ID == "" || async.Workflow != "pair" {
		t.Fatalf("StartRun(wait=0) = %+v, %v, %v; want an id, not finished", async, finished, err)
	}
	again, _, err := c.StartRun(ctx, "pair", []byte(`{"fail": true}`), client.SubmitOptions{Wait: ptr(time.Duration(0)), IdempotencyKey: "k1"})
	if err != nil || again.ID != async.ID {
		t.Errorf("StartRun with the same key = %+v, %v; want run %s again", again, err, async.ID)
	}
	failed, err := c.WaitRun(ctx, async.ID, time.Minute)
	if err != nil || failed.Status != api.RunFailed {
		t.Fatalf("WaitRun = %+v, %v; want failed", failed, err)
	}
	if failed.Steps[1].Status != api.StepFailed {
		t.Errorf("second step = %+v, want failed", failed.Steps[1])
	}

	_, _, err = c.StartRun(ctx, "pair", []byte(`{"fail": "yes"}`), client.SubmitOptions{})
	checkStatus(t, "StartRun(bad parameters)", err, 400)
	_, _, err = c.StartRun(ctx, "ghost", nil, client.SubmitOptions{})
	checkStatus(t, "StartRun(ghost)", err, 404)

	re, err := c.RerunRun(ctx, failed.ID, true)
	if err != nil || re.ID == "" || re.ID == failed.ID {
		t.Fatalf("RerunRun(from failed) = %+v, %v; want a new run", re, err)
	}
	if re, err = c.WaitRun(ctx, re.ID, time.Minute); err != nil || re.Status != api.RunFailed {
		t.Errorf("the rerun = %+v, %v; want it failed again (same parameters)", re, err)
	} else if re.Steps[0].Job != failed.Steps[0].Job {
		t.Errorf("rerun from failed ran first again (job %s, was %s): want its result reused", re.Steps[0].Job, failed.Steps[0].Job)
	}

	live, _, err := c.StartRun(ctx, "slow", nil, client.SubmitOptions{})
	if err != nil {
		t.Fatalf("StartRun(slow): %v", err)
	}
	cancelled, err := c.CancelRun(ctx, live.ID)
	if err != nil {
		t.Fatalf("CancelRun: %v", err)
	}
	if cancelled, err = c.WaitRun(ctx, cancelled.ID, time.Minute); err != nil || cancelled.Status != api.RunCancelled {
		t.Errorf("cancelled run = %+v, %v; want cancelled", cancelled, err)
	}
	_, err = c.CancelRun(ctx, live.ID)
	checkStatus(t, "CancelRun(ended)", err, 409)
	_, err = c.GetRun(ctx, "nope")
	checkStatus(t, "GetRun(nope)", err, 404)

	page, total, err := c.ListRunsPage(ctx, client.RunListOptions{Workflow: "pair", Limit: 1})
	if err != nil || len(page) != 1 || total != 3 {
		t.Errorf("ListRunsPage(pair, limit 1) = %d runs of %d, %v; want 1 of 3", len(page), total, err)
	}
	fails, err := c.AllRuns(ctx, client.RunListOptions{Status: []api.RunStatus{api.RunFailed}, Limit: 1})
	if err != nil || len(fails) != 2 {
		t.Errorf("AllRuns(failed) = %d runs, %v; want 2", len(fails), err)
	}
	for _, r := range fails {
		if r.Status != api.RunFailed {
			t.Errorf("AllRuns(failed) holds run %s %s", r.ID, r.Status)
		}
	}
	got, err := c.GetRun(ctx, run.ID)
	if err != nil || got.ID != run.ID || got.Status != api.RunSucceeded {
		t.Errorf("GetRun = %+v, %v", got, err)
	}
}
