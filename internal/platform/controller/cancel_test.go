package controller_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/controller"
)

// A spec change while a pipeline of the last round still runs cancels that run (its outcome would be ignored),
// and the workflow runs again for the new spec.
func TestSpecChangeCancelsRunningPipeline(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	// Generation 1 (size small) hangs until canceled; generation 2 (size large) ends at once.
	render := e.pipeline("render", `echo "$KRATIX_OBJECT_NAME" >> "$TESTDIR/render.runs"
if grep -q 'size: small' "$RUNPLANE_INPUT_DIR/object.yaml"; then exec sleep 600; fi
echo 'kind: Cache' > "$RUNPLANE_OUTPUT_DIR/cache.yaml"`)
	p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
	e.request(t, c, p, "cache", `{"size":"small"}`, nil)
	deadline := time.Now().Add(time.Minute)
	for e.count("render.runs") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first round's pipeline did not start within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}

	r, _, _ := e.get(t, "cache")
	r.Spec = []byte(`{"size":"large"}`)
	r2, err := e.st.UpdateResourceRequest(t.Context(), "cache", r.ResourceRequest, r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcileRequest(t.Context(), httpapi.ChangeUpdated, p, r2); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "cache", "configure of generation 2 completes", func(st map[string]any) bool {
		return completed(st) && fmt.Sprint(st["observedGeneration"]) == "2"
	})
	var statuses []api.JobStatus
	for time.Now().Before(deadline.Add(time.Minute)) {
		statuses = statuses[:0]
		for _, j := range e.pipelineJobs(t) {
			statuses = append(statuses, j.Status)
		}
		if len(statuses) == 2 && statuses[1] == api.JobCancelled {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Newest first: generation 2's job, then generation 1's.
	if len(statuses) != 2 || statuses[0] != api.JobSucceeded || statuses[1] != api.JobCancelled {
		t.Errorf("pipeline jobs = %v, want [succeeded cancelled] (the first round's canceled)", statuses)
	}
}
