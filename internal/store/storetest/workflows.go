package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func workflow(name string) api.Workflow {
	return api.Workflow{Name: name, Steps: []api.Step{{Name: "only", Task: "t"}}}
}

// fullWorkflow is a workflow with every field of it and of its steps set. Raw JSON in it is compact: a stored
// definition reads back compacted.
func fullWorkflow(name string) api.Workflow {
	return api.Workflow{
		Name:        name,
		Description: "fan out, fan in <with> & escapes",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","default":3}}}`),
		Steps: []api.Step{
			{Name: "prepare", Task: "t", Input: json.RawMessage(`{"n":"${parameters.n}","s":"a<b"}`),
				Timeout: api.Duration(time.Minute), Retries: 2},
			{Name: "left", DependsOn: []string{"prepare"}, Image: "alpine:3", Command: api.Strings{"sh"},
				Args: []string{"-c"}, Input: json.RawMessage(`["echo left","ni ${outputs.prepare.x}"]`),
				Env: api.EnvVars{{Name: "TOKEN", Value: "${secrets.token}"}}, Spec: json.RawMessage(`{"k":[1,2]}`)},
			{Name: "right", DependsOn: []string{"prepare"}, Containers: containers(), Runner: "r",
				When: api.Conditions{"parameters.n > 1", "true"}},
			{Name: "join", DependsOn: []string{"left", "right"}, When: api.Conditions{"steps.right.failed"},
				Task: "t2"},
		},
		Timeout:     api.Duration(time.Hour),
		Synchronous: true,
		SyncTimeout: api.Duration(30 * time.Second),
	}
}

func testWorkflowRoundTrip(t *testing.T, s store.Store) {
	for _, w := range []api.Workflow{workflow("minimal"), fullWorkflow("everything")} {
		t.Run(w.Name, func(t *testing.T) {
			must(t, "CreateWorkflow", s.CreateWorkflow(t.Context(), w))
			got, err := s.GetWorkflow(t.Context(), w.Name)
			must(t, "GetWorkflow", err)
			if diff := cmp.Diff(w, got, opts); diff != "" {
				t.Errorf("GetWorkflow(%q) mismatch (-want +got):\n%s", w.Name, diff)
			}
		})
	}
}

func testWorkflowErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateWorkflow", s.CreateWorkflow(ctx, workflow("w")))
	checkErr(t, `CreateWorkflow("w") again`, s.CreateWorkflow(ctx, fullWorkflow("w")), store.ErrConflict,
		`workflow "w" already exists`)
	_, err := s.GetWorkflow(ctx, "nope")
	checkErr(t, `GetWorkflow("nope")`, err, store.ErrNotFound, `workflow "nope" not found`)
	checkErr(t, `UpdateWorkflow("nope")`, s.UpdateWorkflow(ctx, workflow("nope")), store.ErrNotFound,
		`workflow "nope" not found`)
	checkErr(t, `DeleteWorkflow("nope")`, s.DeleteWorkflow(ctx, "nope"), store.ErrNotFound, `workflow "nope" not found`)
	got, err := s.GetWorkflow(ctx, "w")
	must(t, "GetWorkflow", err)
	if diff := cmp.Diff(workflow("w"), got, opts); diff != "" {
		t.Errorf("GetWorkflow after a refused create mismatch (-want +got):\n%s", diff)
	}
}

func testWorkflowList(t *testing.T, s store.Store) {
	ctx := t.Context()
	empty, err := s.ListWorkflows(ctx)
	must(t, "ListWorkflows", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListWorkflows() of an empty store = %#v, want an empty list", empty)
	}
	want := []api.Workflow{workflow("a"), fullWorkflow("b"), workflow("b.c"), workflow("b_d")}
	for _, i := range []int{2, 0, 3, 1} {
		must(t, "CreateWorkflow", s.CreateWorkflow(ctx, want[i]))
	}
	got, err := s.ListWorkflows(ctx)
	must(t, "ListWorkflows", err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("ListWorkflows() mismatch (-want +got):\n%s", diff)
	}
}

func testWorkflowUpdateDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateWorkflow", s.CreateWorkflow(ctx, workflow("w")))
	_, _, err := s.CreateRun(ctx, run("run-1", "w", 1))
	must(t, "CreateRun", err)
	for _, w := range []api.Workflow{fullWorkflow("w"), workflow("w")} {
		must(t, "UpdateWorkflow", s.UpdateWorkflow(ctx, w))
		got, err := s.GetWorkflow(ctx, "w")
		must(t, "GetWorkflow", err)
		if diff := cmp.Diff(w, got, opts); diff != "" {
			t.Errorf("GetWorkflow after UpdateWorkflow mismatch (-want +got):\n%s", diff)
		}
	}
	must(t, "DeleteWorkflow", s.DeleteWorkflow(ctx, "w"))
	_, err = s.GetWorkflow(ctx, "w")
	checkErr(t, `GetWorkflow("w") after DeleteWorkflow`, err, store.ErrNotFound, "")
	// Its runs stay, with the definition they started with; the name can be used again.
	r, err := s.GetRun(ctx, "run-1")
	must(t, "GetRun after DeleteWorkflow", err)
	if diff := cmp.Diff(fullWorkflow("w"), r.Definition, opts); diff != "" {
		t.Errorf("GetRun(run-1).Definition after the workflow changed and went (-want +got):\n%s", diff)
	}
	must(t, "CreateWorkflow after delete", s.CreateWorkflow(ctx, workflow("w")))
}
