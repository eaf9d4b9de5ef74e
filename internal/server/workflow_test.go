package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// sh is a step command: sh -c script.
func sh(script string) api.Strings { return api.Strings{"sh", "-c", script} }

// fanWorkflow fans out from a to b and c, skips a conditional step, and fans in to d, which reads an output c set
// through the metadata API (with curl, as a step written for Relay would) and an output of a's ^JSON result.
func fanWorkflow() api.Workflow {
	return api.Workflow{
		Name:       "fan",
		Parameters: json.RawMessage(`{"type":"object","properties":{"who":{"type":"string","default":"world"}}}`),
		Steps: []api.Step{
			{Name: "a", Image: "alpine", Command: sh(`echo '^JSON {"n": 2} ^JSON'`)},
			{Name: "b", Image: "alpine", Command: sh(`echo "b got $N"`), Env: api.EnvVars{{Name: "N", Value: "${outputs.a.n}"}}},
			{Name: "c", DependsOn: api.Strings{"a"}, Env: api.EnvVars{{Name: "WHO", Value: "${parameters.who}"}}, Image: "alpine", Command: sh(
				`curl -sSf -X PUT -H "Authorization: Bearer $RUNPLANE_STEP_TOKEN" -H 'Content-Type: text/plain' ` +
					`--data-binary "hello-$WHO" "$RUNPLANE_METADATA_URL/outputs/greeting"`)},
			{Name: "never", DependsOn: api.Strings{"a"}, When: api.Conditions{"${parameters.who == 'nobody'}"}, Image: "alpine", Command: sh("echo no")},
			{Name: "script", Image: "alpine", Input: json.RawMessage(`["echo \"hello ${parameters.who} from $RUNPLANE_STEP\""]`)},
			{Name: "d", DependsOn: api.Strings{"b", "c"}, Env: api.EnvVars{{Name: "G", Value: "${outputs.c.greeting}"}},
				Image: "alpine", Command: sh(`printf '^JSON {"got": "%s"} ^JSON\n' "$G"`)},
		},
	}
}

// TestWorkflowRun: a fan-out/fan-in workflow runs to the end within the wait, each step an ordinary job that names
// its run and step; outputs pass between steps through ^JSON results, env templates and the metadata API; the
// step whose when is false is skipped with the condition named.
func TestWorkflowRun(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: fanWorkflow()}).want(t, http.StatusOK)

	var run api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/fan/runs?wait=2m", body: `{"who":"runplane"}`}).
		want(t, http.StatusOK).decode(t, &run)
	if run.Status != api.RunSucceeded {
		for _, s := range run.Steps {
			if s.Status == api.StepFailed && s.Job != "" {
				var job api.Job
				ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + s.Job}).decode(t, &job)
				t.Logf("failed step %s: job %s: %s", s.Name, job.ID, job.Stdout)
			}
		}
		t.Fatalf("run %s status %s (%s), want succeeded: %+v", run.ID, run.Status, run.Reason, run.Steps)
	}
	steps := map[string]api.StepRun{}
	for _, s := range run.Steps {
		steps[s.Name] = s
	}
	for _, name := range []string{"a", "b", "c", "d", "script"} {
		if s := steps[name]; s.Status != api.StepSucceeded || s.Job == "" {
			t.Errorf("step %s: status %s, job %q; want succeeded with a job", name, s.Status, s.Job)
		}
	}
	if s := steps["never"]; s.Status != api.StepSkipped || !strings.Contains(s.Message, "nobody") {
		t.Errorf("step never: %s %q, want skipped naming its when", s.Status, s.Message)
	}
	if got := string(steps["d"].Outputs["got"]); got != `"hello-runplane"` {
		t.Errorf("d's output got = %s, want \"hello-runplane\" (c's metadata API output)", got)
	}
	if got := string(steps["c"].Outputs["greeting"]); got != `"hello-runplane"` {
		t.Errorf("c's output greeting = %s, want \"hello-runplane\"", got)
	}
	var job api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + steps["b"].Job}).want(t, http.StatusOK).decode(t, &job)
	if job.Run != run.ID || job.Step != "b" || !strings.Contains(job.Stdout, "b got 2") {
		t.Errorf("b's job: run %q step %q stdout %q; want run %s, step b, \"b got 2\"", job.Run, job.Step, job.Stdout, run.ID)
	}
	job = api.Job{}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + steps["script"].Job}).want(t, http.StatusOK).decode(t, &job)
	if !strings.Contains(job.Stdout, "hello runplane from script") {
		t.Errorf("script's log %q: want its input lines run with their templates resolved", job.Stdout)
	}
	// The step's token is masked in its log and gone with its job.
	job = api.Job{}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + steps["c"].Job}).want(t, http.StatusOK).decode(t, &job)
	if strings.Contains(job.Stdout, "eyJ") {
		t.Errorf("c's log shows a token: %q", job.Stdout)
	}

	var listed []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=fan"}).want(t, http.StatusOK).decode(t, &listed)
	if len(listed) != 1 || listed[0].ID != run.ID {
		t.Errorf("GET /runs?workflow=fan = %+v, want run %s", listed, run.ID)
	}

	// Who may read the workflow's runs may list every job of a run (its steps are inline: they name no task),
	// and no other job; who may not, none.
	reader := makePersona(t, ts, "fan-reader", &api.Role{Resource: api.ResourceRuns, ResourceIDs: []string{"fan"}, Access: api.AccessRead})
	stranger := makePersona(t, ts, "stranger", &api.Role{Resource: api.ResourceRuns, ResourceIDs: []string{"other"}, Access: api.AccessRead})
	var jobs []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs?run=" + run.ID, as: reader}).want(t, http.StatusOK).decode(t, &jobs)
	if len(jobs) != 5 {
		t.Errorf("GET /jobs?run= as a reader of fan's runs = %d jobs, want the 5 steps' jobs", len(jobs))
	}
	jobs = nil
	ts.do(t, req{method: "GET", path: "/api/v1/jobs", as: reader}).want(t, http.StatusOK).decode(t, &jobs)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs?run=" + run.ID, as: stranger}).want(t, http.StatusOK).decode(t, &jobs)
	if len(jobs) != 0 {
		t.Errorf("GET /jobs (all, and ?run= as a stranger) = %d jobs, want none", len(jobs))
	}
}

// TestWorkflowBadInput: bad definitions and bad parameters are 400s naming what is wrong, and store nothing.
func TestWorkflowBadInput(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	bad := []struct {
		name string
		w    api.Workflow
		want string
	}{
		{"unknown dependency", api.Workflow{Name: "w", Steps: []api.Step{{Name: "a", Image: "alpine", Command: sh("true"), DependsOn: api.Strings{"nope"}}}}, `dependsOn`},
		{"cycle", api.Workflow{Name: "w", Steps: []api.Step{
			{Name: "a", Image: "alpine", Command: sh("true"), DependsOn: api.Strings{"b"}},
			{Name: "b", Image: "alpine", Command: sh("true"), DependsOn: api.Strings{"a"}}}}, "cycle"},
		{"bad expression", api.Workflow{Name: "w", Steps: []api.Step{{Name: "a", Image: "alpine", Command: sh("true"), When: api.Conditions{"${parameters.}"}}}}, `when`},
		{"unknown task", api.Workflow{Name: "w", Steps: []api.Step{{Name: "a", Task: "ghost"}}}, `unknown task "ghost"`},
		{"unknown runner", api.Workflow{Name: "w", Steps: []api.Step{{Name: "a", Image: "alpine", Command: sh("true"), Runner: "ghost"}}}, `ghost`},
		{"service account token", api.Workflow{Name: "w", Steps: []api.Step{{Name: "a", Image: "alpine", Command: sh("true"),
			Kubernetes: &api.TaskKubernetes{ServiceAccount: "runplane", ServiceAccountToken: true}}}}, `steps[0].kubernetes.serviceAccountToken`},
	}
	for _, tt := range bad {
		e := ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: tt.w}).want(t, http.StatusBadRequest).apiError(t)
		if !strings.Contains(e.Error, tt.want) {
			t.Errorf("%s: error %q, want it to name %q", tt.name, e.Error, tt.want)
		}
	}
	ts.do(t, req{method: "GET", path: "/api/v1/workflows/w"}).want(t, http.StatusNotFound)

	w := fanWorkflow()
	w.Parameters = json.RawMessage(`{"type":"object","properties":{"who":{"type":"string"}},"required":["who"]}`)
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: w}).want(t, http.StatusOK)
	for _, body := range []string{`{"who": 3}`, `{}`, `[1]`, `{"who":`} {
		ts.do(t, req{method: "POST", path: "/api/v1/workflows/fan/runs", body: body}).want(t, http.StatusBadRequest)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/ghost/runs", body: `{}`}).want(t, http.StatusNotFound)
	var listed []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs"}).want(t, http.StatusOK).decode(t, &listed)
	if len(listed) != 0 {
		t.Errorf("bad submissions stored runs: %+v", listed)
	}
}
