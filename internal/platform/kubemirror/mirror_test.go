package kubemirror_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/kubemirror"
	"github.com/runplane/runplane/internal/platform/kubemirror/doorstest"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/server/servertest"
)

func TestMain(m *testing.M) {
	servertest.MaybeRunLauncher()
	os.Exit(m.Run())
}

var (
	promises  = schema.GroupVersionResource{Group: "platform.kratix.io", Version: "v1alpha1", Resource: "promises"}
	dests     = schema.GroupVersionResource{Group: "platform.kratix.io", Version: "v1alpha1", Resource: "destinations"}
	dirStores = schema.GroupVersionResource{Group: "platform.runplane.dev", Version: "v1alpha1", Resource: "directorystatestores"}
	crds      = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// env is a runplane server mirroring to a private API server.
type env struct {
	dc    dynamic.Interface
	url   string
	token string
}

// TestMirror runs the mirror's cases against one API server and one runplane server (an API server takes
// seconds to start); each case uses names of its own.
func TestMirror(t *testing.T) {
	kube := apiserver.Start(t)
	url := servertest.Start(t, func(c *server.Config) {
		c.Kubeconfig = kube.Kubeconfig
		c.InstallCRDs = true
		c.Isolation = "none" // pipelines see the host's files: the test opens a gate for one (labels_test.go)
	})
	dc, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dc: dc, url: url}
	e.login(t)
	// --install-crds: the server applied runplane's CRDs.
	for _, name := range []string{"promises.platform.kratix.io", "destinations.platform.kratix.io",
		"gitstatestores.platform.kratix.io", "directorystatestores.platform.runplane.dev"} {
		e.eventually(t, "CRD "+name+" installed", func() error {
			_, err := dc.Resource(crds).Get(t.Context(), name, metav1.GetOptions{})
			return err
		})
	}
	for _, gvr := range []schema.GroupVersionResource{promises, dests, dirStores} {
		e.eventually(t, gvr.Resource+" served", func() error {
			_, err := dc.Resource(gvr).List(t.Context(), metav1.ListOptions{})
			return err
		})
	}
	t.Run("KubectlPromiseAndRequest", e.testKubectlPromiseAndRequest)
	t.Run("RESTAppearsInCluster", e.testRESTAppearsInCluster)
	t.Run("InvalidRequestObject", e.testInvalidRequestObject)
	t.Run("ConcurrentEdits", e.testConcurrentEdits)
	t.Run("KratixLabels", e.testKratixLabels)
	t.Run("FailedDeleteRetried", e.testFailedDeleteRetried)
}

// cachePromise is a promise of kind Cache (group name.example.dev) whose configure pipeline (local executor) writes
// a file and a status field, and whose delete pipeline succeeds.
func cachePromise(name string) string {
	return fmt.Sprintf(`apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: %[1]s
spec:
  destinationSelectors:
    - matchLabels: {mirror: %[1]s}
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: caches.%[1]s.example.dev}
    spec:
      group: %[1]s.example.dev
      names: {kind: Cache, plural: caches, singular: cache}
      scope: Namespaced
      versions:
        - name: v1alpha1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    size: {type: string, default: small}
  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: render}
          spec:
            containers:
              - name: render
                image: alpine
                command:
                  - sh
                  - -c
                  - |
                    set -e
                    printf 'name: %%s\n' "$KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
                    printf 'endpoint: %%s.%%s:6379\n' "$KRATIX_OBJECT_NAME" "$KRATIX_OBJECT_NAMESPACE" > "$RUNPLANE_METADATA_DIR/status.yaml"
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: teardown}
          spec:
            containers:
              - {name: teardown, image: alpine, command: [sh, -c, 'test "$KRATIX_WORKFLOW_ACTION" = delete']}
`, name)
}

// plainPromise is a promise of kind Cache without pipelines.
func plainPromise(name string) string {
	p := cachePromise(name)
	return p[:strings.Index(p, "  workflows:")]
}

// testKubectlPromiseAndRequest: a state store, a destination, a promise and a request created in the cluster are
// stored; the promise's CRD is installed; the request's workflow runs and its status reaches the cluster with
// files in the state store; deleting in the cluster runs the delete workflow and removes it from both sides, and
// the promise's CRD goes with the promise.
func (e *env) testKubectlPromiseAndRequest(t *testing.T) {
	ctx := t.Context()
	state := filepath.Join(t.TempDir(), "state")
	e.apply(t, dirStores, "", fmt.Sprintf("apiVersion: platform.runplane.dev/v1alpha1\nkind: DirectoryStateStore\nmetadata: {name: kubectl-local}\nspec: {path: %q}\n", state))
	e.apply(t, dests, "", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata:\n  name: kubectl-dev\n  labels: {mirror: kubectl}\nspec:\n  path: dev\n  stateStoreRef: {kind: DirectoryStateStore, name: kubectl-local}\n")
	e.waitREST(t, "/destinations/kubectl-dev", http.StatusOK)
	e.apply(t, promises, "", cachePromise("kubectl"))
	e.waitREST(t, "/promises/kubectl", http.StatusOK)
	e.eventually(t, "the promise's CRD is installed", func() error {
		_, err := e.dc.Resource(crds).Get(ctx, "caches.kubectl.example.dev", metav1.GetOptions{})
		return err
	})
	e.waitCluster(t, promises, "", "kubectl", "the promise's status is Available", func(u *unstructured.Unstructured) bool {
		s, _, _ := unstructured.NestedString(u.Object, "status", "status")
		return s == "Available"
	})

	caches := schema.GroupVersionResource{Group: "kubectl.example.dev", Version: "v1alpha1", Resource: "caches"}
	e.eventually(t, "the Cache kind is served", func() error {
		_, err := e.dc.Resource(caches).Namespace("default").List(ctx, metav1.ListOptions{})
		return err
	})
	e.apply(t, caches, "default", "apiVersion: kubectl.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: web}\nspec: {size: large}\n")
	var rr map[string]any
	e.waitREST(t, "/resources/kubectl/web?namespace=default", http.StatusOK, &rr)
	if spec, _ := rr["spec"].(map[string]any); spec["size"] != "large" {
		t.Errorf("stored spec = %v, want size large", rr["spec"])
	}
	// The audit log says the request came through the cluster.
	var audit []api.AuditLog
	e.rest(t, "GET", "/audit_logs?event_category=resources&event_type=create", nil, http.StatusOK, &audit)
	if len(audit) != 1 || !strings.Contains(audit[0].EventTarget, "web") || audit[0].Source != kubemirror.AuditSource {
		t.Errorf("audit entries of the request's creation: %+v, want one, with source %q", audit, kubemirror.AuditSource)
	}
	got := e.waitCluster(t, caches, "default", "web", "ConfigureWorkflowCompleted=True in the cluster", func(u *unstructured.Unstructured) bool {
		return condition(u, "ConfigureWorkflowCompleted") == "True"
	})
	if ep, _, _ := unstructured.NestedString(got.Object, "status", "endpoint"); ep != "web.default:6379" {
		t.Errorf("status.endpoint = %q, want web.default:6379 (status %v)", ep, got.Object["status"])
	}
	files, _ := filepath.Glob(filepath.Join(state, "dev/resources/default/kubectl/web/render/*/cache.yaml"))
	if len(files) != 1 {
		t.Fatalf("files in the state store: %v, want one cache.yaml", files)
	}

	if err := e.dc.Resource(caches).Namespace("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, caches, "default", "web")
	e.waitREST(t, "/resources/kubectl/web?namespace=default", http.StatusNotFound)
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Errorf("after the delete %s: %v, want it gone", files[0], err)
	}

	if err := e.dc.Resource(promises).Delete(ctx, "kubectl", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, promises, "", "kubectl")
	e.waitREST(t, "/promises/kubectl", http.StatusNotFound)
	e.eventually(t, "the promise's CRD is removed", func() error {
		_, err := e.dc.Resource(crds).Get(ctx, "caches.kubectl.example.dev", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}

// testRESTAppearsInCluster: objects created through the REST API appear in the cluster with their status; a
// request deleted through the REST API goes from the cluster once its delete workflow ran.
func (e *env) testRESTAppearsInCluster(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	e.rest(t, "POST", "/state_stores", map[string]any{"kind": "DirectoryStateStore", "name": "rest-local", "path": state}, http.StatusOK)
	e.rest(t, "POST", "/destinations", map[string]any{"name": "rest-dev", "labels": map[string]string{"mirror": "rest"},
		"stateStoreRef": map[string]string{"kind": "DirectoryStateStore", "name": "rest-local"}}, http.StatusOK)
	e.rest(t, "POST", "/promises", cachePromise("rest"), http.StatusOK)
	e.waitCluster(t, dirStores, "", "rest-local", "the state store in the cluster", func(u *unstructured.Unstructured) bool {
		p, _, _ := unstructured.NestedString(u.Object, "spec", "path")
		return p == state
	})
	e.waitCluster(t, dests, "", "rest-dev", "the destination in the cluster, Ready", func(u *unstructured.Unstructured) bool {
		return u.GetLabels()["mirror"] == "rest" && condition(u, "Ready") == "True"
	})
	e.waitCluster(t, promises, "", "rest", "the promise in the cluster, Available", func(u *unstructured.Unstructured) bool {
		s, _, _ := unstructured.NestedString(u.Object, "status", "status")
		return s == "Available"
	})
	e.rest(t, "POST", "/resources/rest", "apiVersion: rest.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: api, namespace: default}\nspec: {size: medium}\n", http.StatusOK)
	caches := schema.GroupVersionResource{Group: "rest.example.dev", Version: "v1alpha1", Resource: "caches"}
	got := e.waitCluster(t, caches, "default", "api", "the request in the cluster, configured", func(u *unstructured.Unstructured) bool {
		return condition(u, "ConfigureWorkflowCompleted") == "True"
	})
	if size, _, _ := unstructured.NestedString(got.Object, "spec", "size"); size != "medium" {
		t.Errorf("cluster spec.size = %q, want medium", size)
	}
	e.rest(t, "DELETE", "/resources/rest/api?namespace=default", nil, http.StatusAccepted)
	e.waitGone(t, caches, "default", "api")
	e.rest(t, "DELETE", "/promises/rest", nil, http.StatusOK)
	e.waitGone(t, promises, "", "rest")
}

// testInvalidRequestObject: a request the API server accepts but runplane refuses (a name longer than 63
// characters) is kept in the cluster with Accepted=False naming the field, and is not stored.
func (e *env) testInvalidRequestObject(t *testing.T) {
	e.apply(t, promises, "", plainPromise("invalid"))
	caches := schema.GroupVersionResource{Group: "invalid.example.dev", Version: "v1alpha1", Resource: "caches"}
	e.eventually(t, "the Cache kind is served", func() error {
		_, err := e.dc.Resource(caches).Namespace("default").List(t.Context(), metav1.ListOptions{})
		return err
	})
	name := strings.Repeat("a", 70)
	e.apply(t, caches, "default", "apiVersion: invalid.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: "+name+"}\nspec: {size: large}\n")
	got := e.waitCluster(t, caches, "default", name, "Accepted=False", func(u *unstructured.Unstructured) bool {
		return condition(u, "Accepted") == "False"
	})
	if msg := conditionMessage(got, "Accepted"); !strings.Contains(msg, "metadata.name") {
		t.Errorf("Accepted message = %q, want it to name metadata.name", msg)
	}
	e.rest(t, "GET", "/resources/invalid/"+name+"?namespace=default", nil, http.StatusNotFound)
	// Deleting it in the cluster releases it: nothing was stored.
	if err := e.dc.Resource(caches).Namespace("default").Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(t, caches, "default", name)
}

// testConcurrentEdits: the spec of one request is edited from both doors at once; afterwards both doors show the
// same spec, and it is one of the edits made.
func (e *env) testConcurrentEdits(t *testing.T) {
	ctx := t.Context()
	e.rest(t, "POST", "/promises", plainPromise("race"), http.StatusOK)
	caches := schema.GroupVersionResource{Group: "race.example.dev", Version: "v1alpha1", Resource: "caches"}
	e.rest(t, "POST", "/resources/race", "apiVersion: race.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: db, namespace: default}\nspec: {size: s0}\n", http.StatusOK)
	e.waitCluster(t, caches, "default", "db", "the request in the cluster", func(*unstructured.Unstructured) bool { return true })
	const n = 15
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			e.rest(t, "PATCH", "/resources/race/db?namespace=default", map[string]any{"spec": map[string]any{"size": fmt.Sprintf("rest-%d", i)}}, 0)
		}
	}()
	for i := range n {
		for attempt := 0; attempt < 20; attempt++ {
			u, err := e.dc.Resource(caches).Namespace("default").Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_ = unstructured.SetNestedField(u.Object, fmt.Sprintf("kube-%d", i), "spec", "size")
			if _, err = e.dc.Resource(caches).Namespace("default").Update(ctx, u, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	<-done
	var last string
	e.eventually(t, "both doors show one spec", func() error {
		u, err := e.dc.Resource(caches).Namespace("default").Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return err
		}
		inCluster, _, _ := unstructured.NestedString(u.Object, "spec", "size")
		var rr map[string]any
		e.rest(t, "GET", "/resources/race/db?namespace=default", nil, http.StatusOK, &rr)
		inStore, _ := rr["spec"].(map[string]any)["size"].(string)
		if inCluster != inStore {
			return fmt.Errorf("cluster %q, store %q", inCluster, inStore)
		}
		last = inStore
		return nil
	})
	if last != fmt.Sprintf("rest-%d", n-1) && last != fmt.Sprintf("kube-%d", n-1) {
		t.Errorf("settled on %q, want the last edit of one door", last)
	}
	// Settled stays settled (no ping-pong between the doors). A pass of the mirror is proved by a new request
	// reaching the cluster, which a pass handles after db: two passes let the last marker and status writes land;
	// after two more, neither side of db was written.
	pass := func(name string) {
		e.rest(t, "POST", "/resources/race", "apiVersion: race.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: "+name+", namespace: default}\n", http.StatusOK)
		e.waitCluster(t, caches, "default", name, name+" in the cluster", func(*unstructured.Unstructured) bool { return true })
	}
	pass("dz1")
	pass("dz2")
	u, _ := e.dc.Resource(caches).Namespace("default").Get(ctx, "db", metav1.GetOptions{})
	var before map[string]any
	e.rest(t, "GET", "/resources/race/db?namespace=default", nil, http.StatusOK, &before)
	pass("dz3")
	pass("dz4")
	after, _ := e.dc.Resource(caches).Namespace("default").Get(ctx, "db", metav1.GetOptions{})
	var afterStore map[string]any
	e.rest(t, "GET", "/resources/race/db?namespace=default", nil, http.StatusOK, &afterStore)
	if after.GetResourceVersion() != u.GetResourceVersion() {
		t.Errorf("cluster object written after settling: resourceVersion %s -> %s", u.GetResourceVersion(), after.GetResourceVersion())
	}
	if rv := func(m map[string]any) any { return m["metadata"].(map[string]any)["resourceVersion"] }; rv(before) != rv(afterStore) {
		t.Errorf("stored request written after settling: resourceVersion %v -> %v", rv(before), rv(afterStore))
	}
}

// --- helpers ---

func (e *env) login(t *testing.T) {
	var out struct{ Token string }
	e.rest(t, "POST", "/login", map[string]any{"username": "root", "password": servertest.RootPassword, "provider": "local"}, http.StatusOK, &out)
	e.token = out.Token
}

// rest calls the REST API; body is a string (YAML) or a value sent as JSON; want 0 accepts any status.
func (e *env) rest(t *testing.T, method, path string, body any, want int, out ...any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, e.url+"/api/v1"+path, rd)
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if len(out) > 0 {
		if err := json.Unmarshal(b, out[0]); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// waitREST waits for GET path to answer want.
func (e *env) waitREST(t *testing.T, path string, want int, out ...any) {
	t.Helper()
	e.eventually(t, fmt.Sprintf("GET %s answers %d", path, want), func() error {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		if len(out) > 0 {
			return json.Unmarshal(b, out[0])
		}
		return nil
	})
}

// apply creates a manifest in the cluster, as kubectl create does.
func (e *env) apply(t *testing.T, gvr schema.GroupVersionResource, ns, manifest string) {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	var err error
	if ns != "" {
		_, err = e.dc.Resource(gvr).Namespace(ns).Create(t.Context(), u, metav1.CreateOptions{FieldManager: "kubectl"})
	} else {
		_, err = e.dc.Resource(gvr).Create(t.Context(), u, metav1.CreateOptions{FieldManager: "kubectl"})
	}
	if err != nil {
		t.Fatalf("create %s %s: %v", gvr.Resource, u.GetName(), err)
	}
}

func (e *env) get(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	if ns != "" {
		return e.dc.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	return e.dc.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
}

// waitCluster waits for the cluster object to exist and satisfy cond.
func (e *env) waitCluster(t *testing.T, gvr schema.GroupVersionResource, ns, name, what string, cond func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	e.eventually(t, what, func() error {
		u, err := e.get(t.Context(), gvr, ns, name)
		if err != nil {
			return err
		}
		if !cond(u) {
			return fmt.Errorf("%s %s: status %v", gvr.Resource, name, u.Object["status"])
		}
		got = u
		return nil
	})
	return got
}

func (e *env) waitGone(t *testing.T, gvr schema.GroupVersionResource, ns, name string) {
	t.Helper()
	e.eventually(t, gvr.Resource+" "+name+" gone from the cluster", func() error {
		u, err := e.get(t.Context(), gvr, ns, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there: finalizers %v, status %v", u.GetFinalizers(), u.Object["status"])
	})
}

func (e *env) eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || t.Context().Err() != nil {
			t.Fatalf("%s: not within 90s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// condition is the status of u's condition typ ("" when it has none).
var condition = doorstest.Condition

func conditionMessage(u *unstructured.Unstructured, typ string) string {
	return doorstest.ConditionField(u, typ, "message")
}
