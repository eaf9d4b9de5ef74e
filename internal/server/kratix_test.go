package server

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// cachePromise is a promise whose configure pipeline renders a file from the request's spec and sets the status,
// and whose delete pipeline succeeds.
const cachePromise = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: cache
spec:
  destinationSelectors:
    - matchLabels: {environment: dev}
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: caches.marketplace.example.dev}
    spec:
      group: marketplace.example.dev
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
                    size=$(sed -n 's/^  size: //p' "$RUNPLANE_INPUT_DIR/object.yaml")
                    printf 'kind: Deployment\nname: %s\nsize: %s\n' "$KRATIX_OBJECT_NAME" "$size" > "$RUNPLANE_OUTPUT_DIR/deployment.yaml"
                    printf 'endpoint: %s.%s:6379\n' "$KRATIX_OBJECT_NAME" "$KRATIX_OBJECT_NAMESPACE" > "$RUNPLANE_METADATA_DIR/status.yaml"
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: teardown}
          spec:
            containers:
              - {name: teardown, image: alpine, command: [sh, -c, 'test "$KRATIX_WORKFLOW_ACTION" = delete']}
`

// TestKratixRequestWorkflow: through the API, a request's configure pipeline runs, its status is merged, its
// output is written at Kratix's path in the destination's directory state store; reconcile runs it again; a
// delete answers 202, runs the delete pipeline, removes the files and then the request.
func TestKratixRequestWorkflow(t *testing.T) {
	t.Parallel()
	testKratixRequestWorkflow(t, startServer(t))
}

// TestKratixRequestWorkflowOnPostgres: the same on PostgreSQL.
func TestKratixRequestWorkflowOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	testKratixRequestWorkflow(t, startServer(t, func(c *Config) { c.Store = dsn }))
}

func testKratixRequestWorkflow(t *testing.T, ts *testServer) {
	state := filepath.Join(t.TempDir(), "state")
	ts.do(t, req{method: "POST", path: "/api/v1/state_stores", json: map[string]any{"kind": "DirectoryStateStore", "name": "local", "path": state}}).
		want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/destinations", json: map[string]any{"name": "dev", "labels": map[string]string{"environment": "dev"},
		"stateStoreRef": map[string]string{"kind": "DirectoryStateStore", "name": "local"}}}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: cachePromise}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/resources/cache", body: "apiVersion: marketplace.example.dev/v1alpha1\nkind: Cache\nmetadata:\n  name: web\n  namespace: team-a\nspec:\n  size: large\n"}).
		want(t, http.StatusOK)

	path := "/api/v1/resources/cache/web?namespace=team-a"
	rr := ts.waitRequest(t, path, "configure completes", func(st map[string]any) bool { return conditionIs(st, "ConfigureWorkflowCompleted", "True") })
	var st map[string]any
	json.Unmarshal(rr.Status, &st)
	if st["message"] != "Resource requested" || st["endpoint"] != "web.team-a:6379" {
		t.Errorf("status message %v, endpoint %v", st["message"], st["endpoint"])
	}
	file := filepath.Join(state, "dev/resources/team-a/cache/web/render/5058f/deployment.yaml")
	if b, err := os.ReadFile(file); err != nil || string(b) != "kind: Deployment\nname: web\nsize: large\n" {
		t.Errorf("%s = %q, %v", file, b, err)
	}

	ts.do(t, req{method: "POST", path: "/api/v1/resources/cache/web/resume?namespace=team-a"}).want(t, http.StatusConflict)
	ts.do(t, req{method: "POST", path: "/api/v1/resources/cache/web/reconcile?namespace=team-a"}).want(t, http.StatusOK)
	ts.waitRequest(t, path, "configure completes again", func(st map[string]any) bool {
		k, _ := st["kratix"].(map[string]any)
		w, _ := k["workflows"].(map[string]any)
		return conditionIs(st, "ConfigureWorkflowCompleted", "True") && w["round"] == 2.0
	})

	ts.do(t, req{method: "DELETE", path: path}).want(t, http.StatusAccepted)
	ts.waitGone(t, path)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("after delete %s: %v, want it gone", file, err)
	}
}

// waitRequest waits until cond holds for the request at path's status.
func (ts *testServer) waitRequest(t *testing.T, path, what string, cond func(st map[string]any) bool) api.ResourceRequest {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var rr api.ResourceRequest
	for time.Now().Before(deadline) {
		ts.do(t, req{method: "GET", path: path}).want(t, http.StatusOK).decode(t, &rr)
		var st map[string]any
		json.Unmarshal(rr.Status, &st)
		if cond(st) {
			return rr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: %s: not within a minute; status %s", path, what, rr.Status)
	return rr
}

func conditionIs(st map[string]any, typ, status string) bool {
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return strings.EqualFold(m["status"].(string), status)
		}
	}
	return false
}
