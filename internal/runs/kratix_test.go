package runs_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// Kratix pipelines run as local processes: each container a shell script using the shared directories through
// RUNPLANE_INPUT_DIR, _OUTPUT_DIR and _METADATA_DIR (the same directories are /kratix/* where the executor mounts).
var kratixPipelines = []api.Pipeline{
	{
		APIVersion: "platform.kratix.io/v1alpha1", Kind: "Pipeline",
		Metadata: api.PipelineMetadata{Name: "render"},
		Spec: api.PipelineSpec{Containers: []api.PipelineContainer{
			{Name: "read", Image: "alpine", Command: []string{"sh", "-c", `set -e
grep -q '^  name: team-a-cache$' "$RUNPLANE_INPUT_DIR/object.yaml"
test "$KRATIX_OBJECT_NAME" = team-a-cache
test "$KRATIX_OBJECT_NAMESPACE" = team-a
test "$KRATIX_PIPELINE_NAME" = render
test "$KRATIX_WORKFLOW_ACTION/$KRATIX_WORKFLOW_TYPE" = configure/resource
mkdir -p "$RUNPLANE_OUTPUT_DIR/app"
printf 'kind: Deployment\nname: %s\nsize: %s\n' "$KRATIX_OBJECT_NAME" "$(sed -n 's/^  size: //p' "$RUNPLANE_INPUT_DIR/object.yaml")" > "$RUNPLANE_OUTPUT_DIR/app/deployment.yaml"
printf 'endpoint: cache.team-a:6379\nconditions:\n- {type: Ready, status: "False", reason: Provisioning}\n' > "$RUNPLANE_METADATA_DIR/status.yaml"
`}},
			{Name: "select", Image: "alpine", Command: []string{"sh", "-c", `set -e
test -f "$RUNPLANE_OUTPUT_DIR/app/deployment.yaml"
printf -- '- matchLabels: {environment: dev}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"
`}},
		}},
	},
	{
		APIVersion: "platform.kratix.io/v1alpha1", Kind: "Pipeline",
		Metadata: api.PipelineMetadata{Name: "notify"},
		Spec: api.PipelineSpec{Containers: []api.PipelineContainer{
			{Name: "notify", Image: "alpine", Command: []string{"sh", "-c", `set -e
test "$KRATIX_PIPELINE_NAME" = notify
# What the pipeline before it set in the status, when the object was read again before this pipeline.
sed -n 's/^  endpoint: //p' "$RUNPLANE_INPUT_DIR/object.yaml" > "$RUNPLANE_OUTPUT_DIR/seen-endpoint.txt"
echo notified > "$RUNPLANE_OUTPUT_DIR/notify.txt"
printf 'conditions:\n- {type: Ready, status: "True", reason: Provisioned}\n' > "$RUNPLANE_METADATA_DIR/status.yaml"
`}},
		}},
	},
}

// kratixRequest is the resource request the pipelines run for, with its status.
func kratixRequest(status map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "marketplace.example.com/v1alpha1",
		"kind":       "Cache",
		"metadata":   map[string]any{"name": "team-a-cache", "namespace": "team-a", "generation": 1},
		"spec":       map[string]any{"size": "small"},
		"status":     status,
	}
}

var kratixTarget = kratix.ResourceTarget("cache", kratix.ActionConfigure, "marketplace.example.com/v1alpha1", "Cache",
	"caches", "team-a-cache", "team-a", false)

// runKratix runs w through the run engine and returns the run, succeeded.
func runKratix(t *testing.T, e *env, r *runs.Engine, w api.Workflow) store.Run {
	t.Helper()
	run, _, err := r.Start(t.Context(), runs.Request{Workflow: w.Name, Definition: &w, Owner: "kratix", OwnerID: "u-kratix"})
	if err != nil {
		t.Fatalf("start %s: %v", w.Name, err)
	}
	run = e.await(t, r, run.ID)
	if run.Status != api.RunSucceeded {
		for _, j := range e.jobsOf(t, run.ID) {
			t.Logf("job %s of step %s: %s %q", j.ID, j.Step, j.Status, j.Reason)
		}
		t.Fatalf("run %s: %s (%s), want succeeded", run.ID, run.Status, run.Reason)
	}
	return run
}

// kept reads the output file path job id kept.
func kept(t *testing.T, e *env, id, path string) string {
	t.Helper()
	f, _, err := e.files.OpenFile(id, path)
	if err != nil {
		t.Fatalf("job %s kept no %s: %v", id, path, err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

// after applies the end of job (step i's) to status, as a controller does.
func after(t *testing.T, status map[string]any, job store.Job, i int) kratix.After {
	t.Helper()
	end := kratix.JobEnd{Succeeded: job.Status == api.JobSucceeded, Reason: job.Reason, Generation: 1}
	if md := job.Metadata; md != nil {
		end.StatusYAML, end.ControlYAML = md.Status, md.WorkflowControl
	}
	return kratix.AfterPipeline(status, kratixTarget, kratix.Names(kratixPipelines), i, end, kratix.Policy{}, job.CompletionTime.UTC())
}

// A two-pipeline workflow built by kratix.Build runs through the run and job engines with local processes: each
// pipeline one job of its containers, object.yaml in their input directory, what they wrote to the output and
// metadata directories kept with the job and readable afterwards, and their status.yaml merged into the request's
// status in order.
func TestKratixWorkflow(t *testing.T) {
	e := newEnv(t)
	r := e.addEngine(t, engineOpts{})
	status := kratix.ResetPipelines(map[string]any{"message": "Pending"}, kratixTarget, kratix.Names(kratixPipelines), now())
	w, err := kratix.Build(kratix.Input{Name: "kratix-cache-team-a-cache-configure", Target: kratixTarget,
		Object: kratixRequest(status), Pipelines: kratixPipelines})
	if err != nil {
		t.Fatal(err)
	}
	run := runKratix(t, e, r, w)

	render, notify := step(t, run, "render"), step(t, run, "notify")
	if got := kept(t, e, render.Job, "app/deployment.yaml"); got != "kind: Deployment\nname: team-a-cache\nsize: small\n" {
		t.Errorf("render's app/deployment.yaml = %q", got)
	}
	if got := kept(t, e, notify.Job, "notify.txt"); got != "notified\n" {
		t.Errorf("notify's notify.txt = %q", got)
	}
	files, err := e.files.List(render.Job)
	if err != nil || len(files) != 1 {
		t.Errorf("render kept %v, %v; want app/deployment.yaml alone", files, err)
	}

	status = run1(t, e, status, render.Job, 0)
	// Both containers of one job wrote to the one metadata directory.
	job, _ := e.st.GetJob(t.Context(), render.Job)
	if sel := string(job.Metadata.DestinationSelectors); sel != `[{"matchLabels":{"environment":"dev"}}]` {
		t.Errorf("render's destination-selectors.yaml = %s", sel)
	}
	status = run1(t, e, status, notify.Job, 1)
	want := map[string]string{"message": "Resource requested", "endpoint": "cache.team-a:6379"}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("status.%s = %v, want %q", k, status[k], v)
		}
	}
	if c, _ := kratix.FindCondition(status, "Ready"); c.Status != "True" || c.Reason != "Provisioned" {
		t.Errorf("Ready = %+v, want True from notify's status.yaml", c)
	}
	if c, _ := kratix.FindCondition(status, kratix.ConditionConfigureWorkflowCompleted); c.Status != "True" {
		t.Errorf("ConfigureWorkflowCompleted = %+v, want True", c)
	}
	ps, _ := kratix.Pipelines(status)
	if len(ps) != 2 || ps[0].Phase != kratix.PhaseSucceeded || ps[1].Phase != kratix.PhaseSucceeded {
		t.Errorf("pipelines = %+v, want both succeeded", ps)
	}
}

// run1 applies job (pipeline i's) to status and returns the new status; the workflow goes on.
func run1(t *testing.T, e *env, status map[string]any, id string, i int) map[string]any {
	t.Helper()
	job, err := e.st.GetJob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if job.Metadata == nil || len(job.Metadata.Status) == 0 {
		t.Fatalf("job %s kept no status.yaml: %+v", id, job.Metadata)
	}
	a := after(t, status, job, i)
	if a.Do != kratix.Continue {
		t.Fatalf("after pipeline %d: %s, want continue: %v", i, a.Do, a.Status)
	}
	return a.Status
}

// Run pipeline by pipeline (BuildPipeline), as Kratix does, a pipeline reads the object as the ones before it left
// it: notify's object.yaml has the endpoint render's status.yaml set.
func TestKratixPipelineByPipeline(t *testing.T) {
	e := newEnv(t)
	r := e.addEngine(t, engineOpts{})
	names := kratix.Names(kratixPipelines)
	status := kratix.ResetPipelines(map[string]any{"message": "Pending"}, kratixTarget, names, now())
	var last store.Job
	for i, name := range names {
		status = kratix.StartPipeline(status, kratixTarget, name, now())
		w, err := kratix.BuildPipeline(kratix.Input{Name: "kratix-cache-team-a-cache-configure-" + name, Target: kratixTarget,
			Object: kratixRequest(status), Pipelines: kratixPipelines}, i)
		if err != nil {
			t.Fatal(err)
		}
		run := runKratix(t, e, r, w)
		last, _ = e.st.GetJob(t.Context(), run.Steps[0].Job)
		a := after(t, status, last, i)
		if a.Do != kratix.Continue || a.Last != (i == len(names)-1) {
			t.Fatalf("after %s: %s, last %v", name, a.Do, a.Last)
		}
		status = a.Status
	}
	if got := kept(t, e, last.ID, "seen-endpoint.txt"); got != "cache.team-a:6379\n" {
		t.Errorf("notify read endpoint %q from its object.yaml, want the one render set", got)
	}
	b, _ := json.Marshal(status)
	if !strings.Contains(string(b), `"message":"Resource requested"`) {
		t.Errorf("status = %s, want the workflow completed", b)
	}
}

// now is the time a controller stamps the status with.
func now() time.Time { return time.Now() }
