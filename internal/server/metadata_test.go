package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// metaScript is a step that calls every route of the metadata API with curl, as a step written for Relay would,
// and reports what it got as its ^JSON result.
const metaScript = `set -e
auth="Authorization: Bearer $RUNPLANE_STEP_TOKEN"; u="$RUNPLANE_METADATA_URL"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
spec=$(curl -sSf -H "$auth" "$u/spec?q=%7B.greeting%7D")
env=$(curl -sSf -H "$auth" "$u/environment/WHO")
nosecret=$(code -H "$auth" "$u/secrets/other")
notoken=$(code "$u/spec")
badtoken=$(code -H "Authorization: Bearer x.y.z" "$u/spec")
curl -sSf -X PUT -H "$auth" -H 'Content-Type: application/json' --data '{"a":[1,2]}' "$u/outputs/obj"
curl -sSf -X PUT -H "$auth" --data-binary 'hunter2-pw' "$u/outputs/pw"
curl -sSf -X PUT -H "$auth" -H 'Content-Type: application/json' --data '{"sensitive":true}' "$u/outputs/pw/metadata"
echo "s1 says its pw is hunter2-pw"
curl -sSf -X PUT -H "$auth" --data-binary "$RUNPLANE_STEP_TOKEN" "$u/outputs/tok"
curl -sSf -X PUT -H "$auth" --data-binary 'v1' "$u/state/k"
state=$(curl -sSf -H "$auth" "$u/state/k")
cond=$(curl -sSf -H "$auth" "$u/conditions")
ev=$(code -X POST -H "$auth" -H 'Content-Type: application/json' --data '{"data":{"x":1}}' "$u/events")
badjson=$(code -X PUT -H "$auth" -H 'Content-Type: application/json' --data '{bad' "$u/outputs/x")
missing=$(code -H "$auth" "$u/outputs/s1/nothing")
printf '^JSON {"spec": %s, "env": %s, "nosecret": %s, "notoken": %s, "badtoken": %s, "state": %s, "cond": %s, "ev": %s, "badjson": %s, "missing": %s} ^JSON\n' \
	"$spec" "$env" "$nosecret" "$notoken" "$badtoken" "$state" "$cond" "$ev" "$badjson" "$missing"
`

// TestMetadataAPI: a running step reaches every route of the metadata API with its token and Relay's shapes;
// no token or a bad one is 401, a secret it does not reference 403, bad JSON 400; a sensitive output is masked in
// API answers and in the log of a later step whose env holds it; a step's token is worthless once its job ended,
// and worthless for the rest of the API always, as a session token is for the metadata API.
func TestMetadataAPI(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	w := api.Workflow{
		Name:       "meta",
		Parameters: json.RawMessage(`{"type":"object","properties":{"who":{"type":"string"}}}`),
		Steps: []api.Step{
			{Name: "s1", Image: "alpine", Command: sh(metaScript), Spec: json.RawMessage(`{"greeting":"hi-${parameters.who}"}`),
				Env: api.EnvVars{{Name: "WHO", Value: "${parameters.who}"}}},
			{Name: "s2", DependsOn: api.Strings{"s1"}, Image: "alpine", Env: api.EnvVars{{Name: "PW", Value: "${outputs.s1.pw}"}},
				Command: sh(`echo "pw is $PW"; curl -sSf -H "Authorization: Bearer $RUNPLANE_STEP_TOKEN" "$RUNPLANE_METADATA_URL/outputs/s1/obj"`)},
		},
	}
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: w}).want(t, http.StatusOK)
	var run api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/meta/runs?wait=2m", body: `{"who":"ann"}`}).want(t, http.StatusOK).decode(t, &run)
	steps := map[string]api.StepRun{}
	for _, s := range run.Steps {
		steps[s.Name] = s
	}
	if run.Status != api.RunSucceeded {
		for _, s := range run.Steps {
			var job api.Job
			ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + s.Job}).decode(t, &job)
			t.Logf("step %s (%s): %s", s.Name, s.Status, job.Stdout)
		}
		t.Fatalf("run %s: %s (%s), want succeeded", run.ID, run.Status, run.Reason)
	}
	out := steps["s1"].Outputs
	want := map[string]string{
		"spec":     `{"complete":true,"value":"hi-ann"}`,
		"env":      `{"value":"ann"}`,
		"nosecret": `403`, "notoken": `401`, "badtoken": `401`, "badjson": `400`, "missing": `404`, "ev": `202`,
		"state": `{"key":"k","value":"v1"}`,
		"cond":  `{"message":"every when condition held","resolved":true,"success":true}`,
		"obj":   `{"a":[1,2]}`,
		"pw":    `"` + api.Mask + `"`,
	}
	for k, v := range want {
		if got := compact(t, out[k]); got != v {
			t.Errorf("s1 output %s = %s, want %s", k, got, v)
		}
	}
	var job api.Job
	// s1 printed its output after marking it sensitive: masked in its own log too.
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + steps["s1"].Job}).want(t, http.StatusOK).decode(t, &job)
	if strings.Contains(job.Stdout, "hunter2-pw") || !strings.Contains(job.Stdout, "s1 says its pw is ***") {
		t.Errorf("s1's log = %q: want the output it marked sensitive masked", job.Stdout)
	}
	job = api.Job{}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + steps["s2"].Job}).want(t, http.StatusOK).decode(t, &job)
	if strings.Contains(job.Stdout, "hunter2-pw") || !strings.Contains(job.Stdout, "pw is ***") {
		t.Errorf("s2's log = %q: want the sensitive output masked", job.Stdout)
	}
	if !strings.Contains(job.Stdout, `"value":{"a":[1,2]}`) || !strings.Contains(job.Stdout, `"task_name":"s1"`) {
		t.Errorf("s2's log = %q: want s1's output obj in Relay's shape", job.Stdout)
	}

	var tok string
	if err := json.Unmarshal(out["tok"], &tok); err != nil || !strings.HasPrefix(tok, "eyJ") {
		t.Fatalf("s1's token output %s: %v", out["tok"], err)
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/metadata/spec", as: tok}, // its job ended
		{method: "PUT", path: "/api/v1/metadata/outputs/late", body: "x", as: tok},
		{method: "GET", path: "/api/v1/metadata/spec"}, // a session token
		{method: "GET", path: "/api/v1/metadata/spec", noAuth: true},
		{method: "GET", path: "/api/v1/tasks", as: tok}, // the rest of the API
		{method: "GET", path: "/api/v1/runs/" + run.ID, as: tok},
	} {
		ts.do(t, r).want(t, http.StatusUnauthorized)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if raw == nil {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWorkflowAccess: runs are guarded by their workflow's name. A user allowed to start one workflow's runs
// starts them and reads them and their steps' jobs, and nothing of another workflow's; an author may not save a
// workflow that runs a task whose jobs they may not start (whoever may start the workflow would run it).
func TestWorkflowAccess(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "guarded", Runner: "repo", Command: "echo guarded"})
	for _, name := range []string{"w1", "w2"} {
		ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: api.Workflow{Name: name,
			Steps: []api.Step{{Name: "s", Image: "alpine", Command: sh("echo " + name)}}}}).want(t, http.StatusOK)
	}
	var other api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/w2/runs?wait=1m"}).want(t, http.StatusOK).decode(t, &other)

	starter := makePersona(t, ts, "starter", &api.Role{Resource: api.ResourceRuns, ResourceIDs: []string{"w1"}, Access: api.AccessWrite})
	var mine api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/w1/runs?wait=1m", as: starter}).want(t, http.StatusOK).decode(t, &mine)
	if mine.Status != api.RunSucceeded || mine.Owner != "starter" {
		t.Fatalf("starter's run: %s owned by %q, want succeeded, starter's", mine.Status, mine.Owner)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + mine.ID, as: starter}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + mine.Steps[0].Job, as: starter}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + mine.Steps[0].Job + "/log", as: starter}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/w2/runs", as: starter}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + other.ID, as: starter}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + other.Steps[0].Job, as: starter}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "POST", path: "/api/v1/runs/" + other.ID + "/rerun", as: starter}).want(t, http.StatusForbidden)
	var listed []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs", as: starter}).want(t, http.StatusOK).decode(t, &listed)
	if len(listed) != 1 || listed[0].ID != mine.ID {
		t.Errorf("starter lists %d runs (%+v), want only their own workflow's", len(listed), listed)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/workflows/w1", as: starter}).want(t, http.StatusForbidden)

	author := makePersona(t, ts, "author", &api.Role{Resource: api.ResourceWorkflows, ResourceIDs: []string{"*"}, Access: api.AccessWrite})
	guarded := api.Workflow{Name: "w3", Steps: []api.Step{{Name: "s", Task: "guarded"}}}
	e := ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: guarded, as: author}).want(t, http.StatusForbidden).apiError(t)
	if !strings.Contains(e.Error, `task "guarded"`) {
		t.Errorf("error %q, want it to name the task", e.Error)
	}
	withRunner := api.Workflow{Name: "w4", Steps: []api.Step{{Name: "s", Image: "alpine", Command: sh("true"), Runner: "repo"}}}
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: withRunner, as: author}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: api.Workflow{Name: "w5",
		Steps: []api.Step{{Name: "s", Image: "alpine", Command: sh("true")}}}, as: author}).want(t, http.StatusOK)
}
