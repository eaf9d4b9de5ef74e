package controller_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/platform/schedule"
	"github.com/runplane/runplane/internal/store"
)

// waitPromise waits until cond holds for promise name's status (nil once it is gone).
func (e *env) waitPromise(t *testing.T, name, what string, cond func(st map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var st map[string]any
	for time.Now().Before(deadline) {
		p, err := e.st.GetPromise(t.Context(), name)
		st = nil
		if err == nil {
			remarshal(p.Status, &st)
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	t.Fatalf("promise %s: %s: not within a minute; status:\n%s", name, what, b)
	return nil
}

// A promise's configure workflow runs when it is created, its output and its static dependencies go to ALL the
// destinations it selects (none: every destination) under dependencies/; deleting it runs its delete workflow,
// then removes those files and the promise.
func TestPromiseWorkflows(t *testing.T) {
	e := newEnv(t, true)
	c, _ := e.controller(t, controller.Options{})
	p, err := e.st.CreatePromise(t.Context(), api.Promise{APIVersion: kratix.PromiseAPIVersion, Kind: "Promise",
		Metadata: api.ObjectMeta{Name: "infra", Labels: map[string]string{api.PromiseVersionLabel: "v1"}},
		Spec: api.PromiseSpec{
			Dependencies: []json.RawMessage{json.RawMessage(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"infra-system"}}`)},
			Workflows: api.PromiseWorkflows{Promise: api.WorkflowActions{
				Configure: []api.Pipeline{e.pipeline("setup", `test "$KRATIX_WORKFLOW_TYPE/$KRATIX_OBJECT_KIND" = promise/Promise
grep -q '^  name: infra$' "$RUNPLANE_INPUT_DIR/object.yaml"
echo 'kind: Operator' > "$RUNPLANE_OUTPUT_DIR/operator.yaml"
echo 'message: operator installed' > "$RUNPLANE_METADATA_DIR/status.yaml"`)},
				Delete: []api.Pipeline{e.pipeline("teardown", `echo run >> "$TESTDIR/teardown.runs"`)},
			}}},
		Status: api.PromiseStatus{Status: api.PromiseStatusAvailable}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeCreated, p); err != nil {
		t.Fatal(err)
	}
	// app requires infra: it is Unavailable once infra's delete workflow removed it.
	if _, err := e.st.CreatePromise(t.Context(), api.Promise{APIVersion: kratix.PromiseAPIVersion, Kind: "Promise",
		Metadata: api.ObjectMeta{Name: "app"}, Spec: api.PromiseSpec{RequiredPromises: []api.RequiredPromise{{Name: "infra", Version: "v1"}}},
		Status: api.PromiseStatus{Status: api.PromiseStatusAvailable}}); err != nil {
		t.Fatal(err)
	}
	st := e.waitPromise(t, "infra", "configure completes", completed)
	if st["message"] != "operator installed" || st["status"] != api.PromiseStatusAvailable {
		t.Errorf("message %v, status %v; want the pipeline's message, Available kept", st["message"], st["status"])
	}
	sid := schedule.ShortID(schedule.GroupID("."))
	var want []string
	for _, d := range []string{"dev", "prod"} {
		want = append(want, d+"/dependencies/infra/"+sid+"/static/infra-dependencies.yaml", d+"/dependencies/infra/setup/"+sid+"/operator.yaml")
	}
	slices.Sort(want)
	files := e.files_(t)
	got := keys(files)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("state store holds %v, want %v", got, want)
	}
	if d := files["dev/dependencies/infra/"+sid+"/static/infra-dependencies.yaml"]; !strings.Contains(d, "name: infra-system") {
		t.Errorf("dependencies file = %q", d)
	}
	if outs := outputsOf(st); len(outs) != 4 {
		t.Errorf("status.kratix.outputs = %+v, want 4 (two groups at two destinations)", outs)
	}

	p, _ = e.st.GetPromise(t.Context(), "infra")
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeDeleting, p); !errors.Is(err, httpapi.ErrDeleteDeferred) {
		t.Fatalf("deleting: %v, want ErrDeleteDeferred", err)
	}
	e.waitPromise(t, "infra", "the promise is removed", gone)
	e.waitPromise(t, "app", "app is Unavailable", func(st map[string]any) bool { return st["status"] == api.PromiseStatusUnavailable })
	if n := e.count("teardown.runs"); n != 1 {
		t.Errorf("the promise's delete pipeline ran %d times", n)
	}
	if files := e.files_(t); len(files) != 0 {
		t.Errorf("after delete the state store holds %v", keys(files))
	}
}

// A promise whose delete pipeline fails stays, DeleteWorkflowCompleted False; reconcile is refused while it is being
// deleted; retry (POST /promises/{name}/retry) runs the delete again and the promise and its files go.
func TestPromiseDeleteRetry(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	p, err := e.st.CreatePromise(t.Context(), api.Promise{APIVersion: kratix.PromiseAPIVersion, Kind: "Promise",
		Metadata: api.ObjectMeta{Name: "infra"},
		Spec: api.PromiseSpec{
			Dependencies: []json.RawMessage{json.RawMessage(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"infra-system"}}`)},
			Workflows: api.PromiseWorkflows{Promise: api.WorkflowActions{
				Delete: []api.Pipeline{e.pipeline("teardown", `echo run >> "$TESTDIR/teardown.runs"; test -f "$TESTDIR/fixed"`)},
			}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeCreated, p); err != nil {
		t.Fatal(err)
	}
	e.waitPromise(t, "infra", "configure completes", completed)
	if n := len(e.files_(t)); n != 2 {
		t.Fatalf("state store holds %v, want the dependencies at dev and prod", keys(e.files_(t)))
	}
	p, _ = e.st.GetPromise(t.Context(), "infra")
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeDeleting, p); !errors.Is(err, httpapi.ErrDeleteDeferred) {
		t.Fatalf("deleting: %v", err)
	}
	e.waitPromise(t, "infra", "the delete fails", func(st map[string]any) bool {
		s, _, _ := condition(st, kratix.ConditionDeleteWorkflowCompleted)
		return s == "False" && strings.Contains(phases(st), "Failed")
	})
	if _, err := c.ActOnPromise(t.Context(), httpapi.ActionReconcile, p); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reconcile while deleting: %v, want a conflict", err)
	}
	e.touch(t, "fixed")
	if _, err := c.ActOnPromise(t.Context(), httpapi.ActionRetry, p); err != nil {
		t.Fatalf("retry: %v", err)
	}
	e.waitPromise(t, "infra", "the promise is removed", gone)
	if n := e.count("teardown.runs"); n != 2 {
		t.Errorf("teardown ran %d times, want 2", n)
	}
	if files := e.files_(t); len(files) != 0 {
		t.Errorf("after delete the state store holds %v", keys(files))
	}
}

// The selectors a promise's own workflow writes for its default group (destination-selectors.yaml) apply, with
// the promise's destinationSelectors, to its requests' output, as Kratix's promise-workflow source does.
func TestPromiseWorkflowSelectors(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	gold := api.Destination{Name: "gold", Labels: map[string]string{"environment": "dev", "tier": "gold"},
		StateStoreRef: api.StateStoreRef{Kind: api.KindDirectoryStateStore, Name: "local"}}
	gold.Default()
	if err := e.st.CreateDestination(t.Context(), gold); err != nil {
		t.Fatal(err)
	}
	w := e.cacheWorkflows()
	w.Promise.Configure = []api.Pipeline{e.pipeline("select", `echo 'kind: Operator' > "$RUNPLANE_OUTPUT_DIR/operator.yaml"
printf -- '- matchLabels: {tier: gold}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`)}
	p := e.promise(t, w)
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeCreated, p); err != nil {
		t.Fatal(err)
	}
	st := e.waitPromise(t, "cache", "configure completes", completed)
	if outs := outputsOf(st); len(outs) != 1 || outs[0].Destination != "gold" || outs[0].Selectors["tier"] != "gold" {
		t.Fatalf("promise outputs = %+v, want operator.yaml at gold alone, with its selectors", outs)
	}
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		e.request(t, c, p, n, `{"size":"small"}`, nil)
	}
	for _, n := range names {
		st := e.waitFor(t, n, "configure completes", completed)
		if outs := outputsOf(st); len(outs) != 1 || outs[0].Destination != "gold" {
			t.Errorf("request %s went to %+v, want gold (environment: dev from the promise, tier: gold from its workflow)", n, outs)
		}
	}
}
