package kubemirror_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/runplane/runplane/internal/platform/kubemirror/doorstest"
)

// gatedPromise is a promise of kind Cache whose configure pipeline only sets a status field and whose delete
// pipeline fails until the file gate exists.
func gatedPromise(name, gate string) string {
	return plainPromise(name) + fmt.Sprintf(`  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: note}
          spec:
            containers:
              - {name: note, image: alpine, command: [sh, -c, 'echo "noted: yes" > "$RUNPLANE_METADATA_DIR/status.yaml"']}
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: gated}
          spec:
            containers:
              - {name: gated, image: alpine, command: [sh, -c, 'test -e %s']}
`, gate)
}

func round(u *unstructured.Unstructured) int64 {
	r, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "kratix", "workflows", "round")
	switch v := r.(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

// testKratixLabels: kratix.io/manual-reconciliation=true set in the cluster runs the configure workflow again and
// is removed; kratix.io/paused reaches the store, where the controller honours it (a reconcile is then refused,
// and the round stays).
func (e *env) testKratixLabels(t *testing.T) {
	ctx := t.Context()
	e.apply(t, promises, "", gatedPromise("labels", filepath.Join(t.TempDir(), "gate")))
	caches := schema.GroupVersionResource{Group: "labels.example.dev", Version: "v1alpha1", Resource: "caches"}
	e.eventually(t, "the Cache kind is served", func() error {
		_, err := e.dc.Resource(caches).Namespace("default").List(ctx, metav1.ListOptions{})
		return err
	})
	e.apply(t, caches, "default", "apiVersion: labels.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: lab}\nspec: {size: large}\n")
	e.waitCluster(t, caches, "default", "lab", "configured once", func(u *unstructured.Unstructured) bool {
		return condition(u, "ConfigureWorkflowCompleted") == "True" && round(u) == 1
	})
	e.label(t, caches, "lab", "kratix.io/manual-reconciliation", "true")
	e.waitCluster(t, caches, "default", "lab", "configured again, label removed", func(u *unstructured.Unstructured) bool {
		_, has := u.GetLabels()["kratix.io/manual-reconciliation"]
		return !has && condition(u, "ConfigureWorkflowCompleted") == "True" && round(u) == 2
	})

	e.label(t, caches, "lab", "kratix.io/paused", "true")
	e.eventually(t, "the paused label is stored", func() error {
		var rr struct {
			Metadata struct{ Labels map[string]string }
		}
		e.rest(t, "GET", "/resources/labels/lab?namespace=default", nil, http.StatusOK, &rr)
		if rr.Metadata.Labels["kratix.io/paused"] != "true" {
			return fmt.Errorf("stored labels %v", rr.Metadata.Labels)
		}
		return nil
	})
	e.rest(t, "POST", "/resources/labels/lab/reconcile?namespace=default", nil, http.StatusConflict)
}

// testFailedDeleteRetried: a request deleted in the cluster whose delete workflow fails stays, in both doors,
// with DeleteWorkflowCompleted=False; kratix.io/manual-reconciliation=true retries it, and once it succeeds the
// request is gone from both.
func (e *env) testFailedDeleteRetried(t *testing.T) {
	ctx := t.Context()
	gate := filepath.Join(t.TempDir(), "gate")
	e.apply(t, promises, "", gatedPromise("flaky", gate))
	caches := schema.GroupVersionResource{Group: "flaky.example.dev", Version: "v1alpha1", Resource: "caches"}
	e.eventually(t, "the Cache kind is served", func() error {
		_, err := e.dc.Resource(caches).Namespace("default").List(ctx, metav1.ListOptions{})
		return err
	})
	e.apply(t, caches, "default", "apiVersion: flaky.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: doomed}\nspec: {size: large}\n")
	e.waitCluster(t, caches, "default", "doomed", "configured", func(u *unstructured.Unstructured) bool {
		return condition(u, "ConfigureWorkflowCompleted") == "True"
	})
	if err := e.dc.Resource(caches).Namespace("default").Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitCluster(t, caches, "default", "doomed", "the failed delete shows", func(u *unstructured.Unstructured) bool {
		return u.GetDeletionTimestamp() != nil && condition(u, "DeleteWorkflowCompleted") == "False" &&
			conditionReason(u, "DeleteWorkflowCompleted") != "DeleteWorkflowSuspended" && failedPipeline(u)
	})
	e.rest(t, "GET", "/resources/flaky/doomed?namespace=default", nil, http.StatusOK)

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.label(t, caches, "doomed", "kratix.io/manual-reconciliation", "true")
	e.waitGone(t, caches, "default", "doomed")
	e.rest(t, "GET", "/resources/flaky/doomed?namespace=default", nil, http.StatusNotFound)
}

func failedPipeline(u *unstructured.Unstructured) bool {
	ps, _, _ := unstructured.NestedSlice(u.Object, "status", "kratix", "workflows", "pipelines")
	for _, p := range ps {
		if m, _ := p.(map[string]any); m["phase"] == "Failed" {
			return true
		}
	}
	return false
}

func conditionReason(u *unstructured.Unstructured, typ string) string {
	return doorstest.ConditionField(u, typ, "reason")
}

// label sets a label on a cluster object in namespace default (retrying on conflicts, as kubectl label does).
func (e *env) label(t *testing.T, gvr schema.GroupVersionResource, name, key, value string) {
	t.Helper()
	for range 20 {
		u, err := e.dc.Resource(gvr).Namespace("default").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[key] = value
		u.SetLabels(l)
		if _, err = e.dc.Resource(gvr).Namespace("default").Update(t.Context(), u, metav1.UpdateOptions{}); err == nil {
			return
		}
	}
	t.Fatalf("label %s %s: conflicts", gvr.Resource, name)
}
