package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/server/servertest"
)

// deployWorkflow has a parameter "who" (required, lower-case letters), a first step, a step "wait" that waits on
// the test's gate, and a step "report" that needs "wait" only implicitly: its input reads wait's output.
const deployWorkflow = `{"name":"deploy","description":"builds, waits for the gate, reports",
 "parameters":{"type":"object","required":["who"],"properties":{"who":{"type":"string","pattern":"^[a-z]+$","description":"who deploys"}}},
 "steps":[
  {"name":"build","task":"hello","input":{"who":"${parameters.who}"}},
  {"name":"wait","task":"gated","dependsOn":["build"]},
  {"name":"report","task":"hello","input":{"from":"${outputs.wait.greeting}"}}]}`

// gate is an HTTP endpoint a workflow step polls until the test opens it.
type gate struct {
	open atomic.Bool
	url  string
}

func newGate(t *testing.T) *gate {
	g := &gate{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.open.Load() {
			http.Error(w, "closed", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// withWorkflow adds task "gated" (it waits for g, then says hello) and workflow "deploy" to f's server.
func withWorkflow(t *testing.T, f fixture, g *gate) *http.Client {
	t.Helper()
	if _, err := f.c.CreateTask(t.Context(), api.Task{Name: "gated", Runner: "scripts",
		Command: "until curl -sf " + g.url + "; do sleep 0.2; done; ./hello.sh"}); err != nil {
		t.Fatalf("CreateTask(gated): %v", err)
	}
	root := f.browser(t, "root", servertest.RootPassword)
	if status, _, body := fetch(t, root, "POST", f.url+"/api/v1/workflows", f.url, deployWorkflow); status != http.StatusOK {
		t.Fatalf("create workflow = %d %s", status, body)
	}
	return root
}

// TestWorkflowGraphAPI: the graph of a workflow and of a run list each step's explicit and implicit needs.
func TestWorkflowGraphAPI(t *testing.T) {
	f := setup(t)
	g := newGate(t)
	root := withWorkflow(t, f, g)
	status, _, body := fetch(t, root, "POST", f.url+"/api/v1/workflows/deploy/runs", f.url, `{"who":"api"}`)
	if status != http.StatusOK {
		t.Fatalf("start run = %d %s", status, body)
	}
	var created api.RunCreated
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	want := api.WorkflowGraph{Workflow: "deploy", Steps: []api.GraphStep{
		{Name: "build", Task: "hello", Needs: []string{}},
		{Name: "wait", Task: "gated", Needs: []string{"build"}},
		{Name: "report", Task: "hello", Needs: []string{"wait"}},
	}}
	for _, path := range []string{"/api/v1/workflows/deploy/graph", "/api/v1/runs/" + created.ID + "/graph"} {
		status, _, body := fetch(t, root, "GET", f.url+path, "", "")
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, status, body)
		}
		var got api.WorkflowGraph
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", path, diff)
		}
	}
	viewer := f.browser(t, "viewer", viewerPassword)
	for _, tc := range []struct {
		name, path string
		hc         *http.Client
		status     int
	}{
		{"unknown workflow", "/api/v1/workflows/nope/graph", root, 404},
		{"unknown run", "/api/v1/runs/nope-abcde/graph", root, 404},
		{"viewer, workflow", "/api/v1/workflows/deploy/graph", viewer, 403},
		{"viewer, run", "/api/v1/runs/" + created.ID + "/graph", viewer, 403},
		{"root, runnable workflows", "/api/v1/workflows?runnable=true", root, 200},
		{"bad runnable", "/api/v1/workflows?runnable=maybe", root, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, body := fetch(t, tc.hc, "GET", f.url+tc.path, "", ""); status != tc.status {
				t.Errorf("GET %s = %d %s, want %d", tc.path, status, body, tc.status)
			}
		})
	}
	g.open.Store(true)
}

// TestWorkflowPages reads the workflow pages without JavaScript: the list, the workflow with its graph and form,
// the runs, and a run whose graph shows each step's state and job.
func TestWorkflowPages(t *testing.T) {
	f := setup(t)
	g := newGate(t)
	root := withWorkflow(t, f, g)
	g.open.Store(true)
	status, _, body := fetch(t, root, "POST", f.url+"/api/v1/workflows/deploy/runs?wait=60s", f.url, `{"who":"pages"}`)
	if status != http.StatusOK || !strings.Contains(body, `"status":"succeeded"`) {
		t.Fatalf("run = %d %s, want it succeeded", status, body)
	}
	var run api.Run
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	viewer := f.browser(t, "viewer", viewerPassword)
	checkPages(t, f, viewer, []pageCase{
		{name: "viewer list refused in words", path: "/workflows", status: 403, want: []string{"The server answered 403"}},
		{name: "viewer run refused in words", path: "/runs/" + run.ID, status: 403, want: []string{"The server answered 403"}},
	})
	// The viewer may now read workflows and their runs, but start none: no form, no buttons, and the API refuses.
	groups, err := f.c.ListGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	gi := slices.IndexFunc(groups, func(g api.Group) bool { return g.Name == "viewers" })
	grant := func(res string) {
		t.Helper()
		r, err := f.c.CreateRole(t.Context(), api.Role{Name: "read-" + res, Resource: res, ResourceIDs: []string{"*"}, Access: api.AccessRead})
		if err != nil {
			t.Fatalf("CreateRole: %v", err)
		}
		if _, err := f.c.CreateRoleBinding(t.Context(), api.RoleBinding{Name: "viewers-" + res, RoleID: r.ID, GroupID: groups[gi].ID}); err != nil {
			t.Fatalf("CreateRoleBinding: %v", err)
		}
	}
	grant(api.ResourceWorkflows)
	checkPages(t, f, viewer, []pageCase{
		{name: "workflows reader: workflow without its runs", path: "/workflows/deploy", status: 200,
			want: []string{`data-step="report"`}, not: []string{"Recent runs", `id="run"`}},
	})
	grant(api.ResourceRuns)
	checkPages(t, f, viewer, []pageCase{
		{name: "reader: list, read only", path: "/workflows", status: 200, want: []string{`href="/workflows/deploy"`, "(read only)"}},
		{name: "reader: workflow without the form", path: "/workflows/deploy", status: 200,
			want: []string{"may read this workflow but not start it", `data-step="report"`}, not: []string{`id="run"`}},
		{name: "reader: run without buttons", path: "/runs/" + run.ID, status: 200, want: []string{"succeeded"},
			not: []string{`id="run-rerun"`, `id="run-cancel"`}},
	})
	// A reader of runs alone (not of workflows) reads the run page too, without buttons.
	u, err := f.c.CreateUser(t.Context(), api.User{Username: "runreader", Password: viewerPassword, Provider: api.ProviderLocal})
	if err != nil {
		t.Fatal(err)
	}
	grp, err := f.c.CreateGroup(t.Context(), api.Group{Name: "runreaders", Provider: api.ProviderLocal, UserIDs: []string{u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := f.c.GetRole(t.Context(), "read-"+api.ResourceRuns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateRoleBinding(t.Context(), api.RoleBinding{Name: "runreaders", RoleID: rr.ID, GroupID: grp.ID}); err != nil {
		t.Fatal(err)
	}
	checkPages(t, f, f.browser(t, "runreader", viewerPassword), []pageCase{
		{name: "runs reader: run page", path: "/runs/" + run.ID, status: 200, want: []string{`data-step="wait"`, "succeeded"},
			not: []string{`id="run-rerun"`}},
	})
	for _, path := range []string{"/api/v1/workflows/deploy/runs", "/api/v1/runs/" + run.ID + "/rerun"} {
		if status, _, body := fetch(t, viewer, "POST", f.url+path, f.url, `{"who":"eve"}`); status != http.StatusForbidden {
			t.Errorf("reader POST %s = %d %s, want 403", path, status, body)
		}
	}
	checkPages(t, f, root, []pageCase{
		{name: "list", path: "/workflows", status: 200, want: []string{`href="/workflows/deploy"`, "builds, waits for the gate"}},
		{name: "workflow", path: "/workflows/deploy", status: 200, want: []string{
			`id="run"`, `data-action="/api/v1/workflows/deploy/runs"`, "who deploys", `data-step="report"`,
			`data-from="wait" data-to="report"`, `data-from="build" data-to="wait"`, `href="/runs/` + run.ID + `"`}},
		{name: "unknown workflow", path: "/workflows/nope", status: 404, want: []string{"The server answered 404"}},
		{name: "runs", path: "/runs?workflow=deploy", status: 200, want: []string{`href="/runs/` + run.ID + `"`, "1 run(s)"}},
		{name: "runs bad filter in words", path: "/runs?status=bogus", status: 400, want: []string{"The server answered 400"}},
		{name: "run", path: "/runs/" + run.ID, status: 200, want: []string{
			`class="node s-succeeded" data-step="wait" href="/jobs/` + run.Steps[1].Job + `"`, `id="run-rerun"`, "pages"},
			not: []string{`id="run-cancel"`}},
		{name: "unknown run", path: "/runs/nope-abcde", status: 404, want: []string{"The server answered 404"}},
	})
}
