package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// redisPromise is a promise as the Kratix marketplace writes one (YAML, a namespaced API with an enum, defaults
// and a bound, one configure pipeline), of the given name, version and requirements.
func redisPromise(name, version, requires string) string {
	return fmt.Sprintf(`apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: %[1]s
  labels:
    kratix.io/promise-version: %[2]s
spec:
  %[3]s
  destinationSelectors:
    - matchLabels:
        environment: dev
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: %[1]ss.marketplace.example.dev
    spec:
      group: marketplace.example.dev
      names:
        kind: %[1]s
        plural: %[1]ss
        singular: %[1]s
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
                  required: [team]
                  properties:
                    team:
                      type: string
                    size:
                      type: string
                      enum: [small, large]
                      default: small
                    replicas:
                      type: integer
                      minimum: 1
                      maximum: 5
                      default: 1
                    users:
                      type: array
                      items:
                        type: object
                        properties:
                          name: {type: string}
                          role: {type: string, default: reader}
  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata:
            name: instance-configure
          spec:
            containers:
              - image: registry.example.dev/%[1]s-configure:%[2]s
                name: configure
`, name, version, requires)
}

func redisRequest(promise, name, spec string) string {
	return fmt.Sprintf(`apiVersion: marketplace.example.dev/v1alpha1
kind: %s
metadata:
  name: %s
  namespace: team-a
spec:
%s
`, promise, name, spec)
}

// TestPromiseLifecycle: a promise and a request written for Kratix are stored as Kratix would show them, the
// request's spec defaulted and its status Pending; a promise with requests is not deleted.
func TestPromiseLifecycle(t *testing.T) {
	t.Parallel()
	testPromiseLifecycle(t, startServer(t))
}

// TestPromiseLifecycleOnPostgres: the same on PostgreSQL.
func TestPromiseLifecycleOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	testPromiseLifecycle(t, startServer(t, func(c *Config) { c.Store = dsn }))
}

func testPromiseLifecycle(t *testing.T, ts *testServer) {
	var p api.Promise
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise("redis", "v1.0.0", "")}).
		want(t, http.StatusOK).decode(t, &p)
	if p.Metadata.Generation != 1 || p.Metadata.UID == "" || p.Status.Status != api.PromiseStatusAvailable ||
		p.Status.Kind != "redis" || p.Status.APIVersion != "marketplace.example.dev/v1alpha1" || p.Status.Version != "v1.0.0" {
		t.Errorf("POST /promises = %+v %+v, want generation 1, Available, the API's kind and version", p.Metadata, p.Status)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise("redis", "v1.0.0", "")}).want(t, http.StatusConflict)
	var list []api.Promise
	ts.do(t, req{method: "GET", path: "/api/v1/promises"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 || list[0].Metadata.Name != "redis" {
		t.Errorf("GET /promises = %+v", list)
	}

	// A dry run answers as for real and stores nothing.
	var rr api.ResourceRequest
	ts.do(t, req{method: "POST", path: "/api/v1/resources/redis?dryRun=All", body: redisRequest("redis", "cache", "  team: a")}).
		want(t, http.StatusOK).decode(t, &rr)
	if rr.Metadata.Name != "cache" || string(rr.Spec) != `{"replicas":1,"size":"small","team":"a"}` {
		t.Errorf("dry run answered %+v %s", rr.Metadata, rr.Spec)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis/cache?namespace=team-a"}).want(t, http.StatusNotFound)
	ts.do(t, req{method: "POST", path: "/api/v1/resources/redis", body: redisRequest("redis", "cache", "  team: a\n  users: [{name: ann}]")}).
		want(t, http.StatusOK).decode(t, &rr)
	if got, want := string(rr.Spec), `{"replicas":1,"size":"small","team":"a","users":[{"name":"ann","role":"reader"}]}`; got != want {
		t.Errorf("stored spec = %s, want %s", got, want)
	}
	var st struct {
		Message    string          `json:"message"`
		Conditions []api.Condition `json:"conditions"`
	}
	if err := json.Unmarshal(rr.Status, &st); err != nil {
		t.Fatal(err)
	}
	if st.Message != "Pending" || len(st.Conditions) != 1 || st.Conditions[0].Type != "ConfigureWorkflowCompleted" ||
		st.Conditions[0].Status != "False" || st.Conditions[0].Reason != "PipelinesInProgress" {
		t.Errorf("status = %s, want Kratix's Pending status", rr.Status)
	}
	if rr.Metadata.Namespace != "team-a" || rr.Metadata.Generation != 1 || rr.Kind != "redis" {
		t.Errorf("request metadata = %+v", rr.Metadata)
	}

	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis/cache?namespace=team-a"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis/cache"}).want(t, http.StatusNotFound) // namespace default
	var rrs []api.ResourceRequest
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis"}).want(t, http.StatusOK).decode(t, &rrs)
	if len(rrs) != 1 {
		t.Errorf("GET /resources/redis = %d requests, want 1", len(rrs))
	}
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis?namespace=other"}).want(t, http.StatusOK).decode(t, &rrs)
	if len(rrs) != 0 {
		t.Errorf("GET /resources/redis?namespace=other = %d requests, want 0", len(rrs))
	}

	// A merge patch of the spec moves the generation; of labels alone, not.
	ts.do(t, req{method: "PATCH", path: "/api/v1/resources/redis/cache?namespace=team-a", body: `{"spec": {"size": "large", "users": null}}`}).
		want(t, http.StatusOK).decode(t, &rr)
	if got, want := string(rr.Spec), `{"replicas":1,"size":"large","team":"a"}`; got != want || rr.Metadata.Generation != 2 {
		t.Errorf("PATCH spec = %s generation %d, want %s generation 2", got, rr.Metadata.Generation, want)
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/resources/redis/cache?namespace=team-a", body: `{"metadata": {"labels": {"tier": "gold"}}}`}).
		want(t, http.StatusOK).decode(t, &rr)
	if rr.Metadata.Generation != 2 || rr.Metadata.Labels["tier"] != "gold" {
		t.Errorf("PATCH labels = %+v, want generation 2 and the label", rr.Metadata)
	}
	e := ts.do(t, req{method: "PATCH", path: "/api/v1/resources/redis/cache?namespace=team-a", body: `{"spec": {"size": "xl"}}`}).
		want(t, http.StatusBadRequest).apiError(t)
	if !strings.Contains(e.Error, `spec.size: Unsupported value: "xl": supported values: "small", "large"`) {
		t.Errorf("PATCH to xl = %q", e.Error)
	}
	// PUT replaces, conditionally on resourceVersion.
	stale := rr.Metadata.ResourceVersion
	ts.do(t, req{method: "PUT", path: "/api/v1/resources/redis/cache", body: redisRequest("redis", "cache", "  team: b")}).
		want(t, http.StatusOK).decode(t, &rr)
	if string(rr.Spec) != `{"replicas":1,"size":"small","team":"b"}` || rr.Metadata.Generation != 3 {
		t.Errorf("PUT = %s generation %d", rr.Spec, rr.Metadata.Generation)
	}
	withVersion := strings.Replace(redisRequest("redis", "cache", "  team: c"), "  namespace: team-a", "  namespace: team-a\n  resourceVersion: \""+stale+"\"", 1)
	ts.do(t, req{method: "PUT", path: "/api/v1/resources/redis/cache", body: withVersion}).want(t, http.StatusConflict)

	e = ts.do(t, req{method: "DELETE", path: "/api/v1/promises/redis"}).want(t, http.StatusConflict).apiError(t)
	if !strings.Contains(e.Error, `promise "redis" has 1 resource request`) {
		t.Errorf("DELETE promise with a request = %q", e.Error)
	}
	// Its configure pipeline may still run (its image has no command for local processes: it fails): then the
	// controller takes the delete over (202) and removes the request once nothing runs.
	if got := ts.do(t, req{method: "DELETE", path: "/api/v1/resources/redis/cache?namespace=team-a"}).status; got != http.StatusOK && got != http.StatusAccepted {
		t.Fatalf("DELETE request = %d, want 200 or 202", got)
	}
	ts.waitGone(t, "/api/v1/resources/redis/cache?namespace=team-a")
	ts.do(t, req{method: "DELETE", path: "/api/v1/resources/redis/cache?namespace=team-a"}).want(t, http.StatusNotFound)
	ts.do(t, req{method: "DELETE", path: "/api/v1/promises/redis"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/promises/redis"}).want(t, http.StatusNotFound)
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis"}).want(t, http.StatusNotFound)

	// Every change is audited, naming the request by promise, namespace and name.
	ts.Server.audit.Flush()
	var logs []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?limit=100"}).want(t, http.StatusOK).decode(t, &logs)
	seen := map[string]int{}
	for _, l := range logs {
		seen[l.EventCategory+" "+l.EventType+" "+l.EventTarget+" "+l.Status]++
	}
	for _, want := range []string{"promises create redis success", "promises delete redis success", "promises delete redis failure",
		"resources create redis/team-a/cache success", "resources update redis/team-a/cache success", "resources delete redis/team-a/cache success"} {
		if seen[want] == 0 {
			t.Errorf("audit log has no %q entry; it has %v", want, seen)
		}
	}
}

// TestPromiseRefusals: bad promises and requests get a 400 naming the field (the request's failures as a
// Kubernetes API server words them, with their paths), unknown ones a 404, and nothing is stored.
func TestPromiseRefusals(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise("redis", "v1.0.0", "")}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: deps}\nspec:\n  dependencies: [{apiVersion: v1, kind: Namespace, metadata: {name: x}}]\n"}).
		want(t, http.StatusOK)
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
		fields                   []string
	}{
		{name: "bad yaml", method: "POST", path: "/api/v1/promises", body: "kind: [Promise", status: 400, want: "document is not valid YAML"},
		{name: "not a promise", method: "POST", path: "/api/v1/promises", body: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", status: 400, want: `apiVersion: Unsupported value: "v1"`},
		{name: "bad crd", method: "POST", path: "/api/v1/promises", body: strings.Replace(redisPromise("pg", "v1", ""), "scope: Namespaced", "scope: Global", 1), status: 400, want: `spec.api.spec.scope: Unsupported value: "Global"`},
		{name: "bad schema", method: "POST", path: "/api/v1/promises", body: strings.Replace(redisPromise("pg", "v1", ""), "type: integer", "type: int", 1), status: 400, want: `type: Unsupported value: "int"`},
		{name: "put name mismatch", method: "PUT", path: "/api/v1/promises/other", body: redisPromise("pg", "v1", ""), status: 400, want: `does not match promise "other"`},
		{name: "request failing the schema", method: "POST", path: "/api/v1/resources/redis",
			body: redisRequest("redis", "r1", "  size: xl\n  replicas: 9\n  colour: red"), status: 400,
			want:   `redis.marketplace.example.dev "r1" is invalid: [spec.colour: Invalid value: unknown field "spec.colour", spec.replicas: Invalid value: 9: maximum: got 9, want 5, spec.size: Unsupported value: "xl": supported values: "small", "large", spec.team: Required value]`,
			fields: []string{"spec.colour", "spec.replicas", "spec.size", "spec.team"}},
		{name: "request of the wrong kind", method: "POST", path: "/api/v1/resources/redis", body: redisRequest("Redis", "r1", "  team: a"), status: 400, want: `kind: Unsupported value: "Redis": supported values: "redis"`},
		{name: "request of the wrong version", method: "POST", path: "/api/v1/resources/redis", body: strings.Replace(redisRequest("redis", "r1", "  team: a"), "v1alpha1", "v2", 1), status: 400, want: `apiVersion: Unsupported value: "marketplace.example.dev/v2"`},
		{name: "request namespace mismatch", method: "POST", path: "/api/v1/resources/redis?namespace=team-b", body: redisRequest("redis", "r1", "  team: a"), status: 400, want: `does not match namespace "team-b"`},
		{name: "request bad yaml", method: "POST", path: "/api/v1/resources/redis", body: "spec: [", status: 400, want: "document is not valid YAML"},
		{name: "request of a promise without API", method: "POST", path: "/api/v1/resources/deps", body: redisRequest("redis", "r1", "  team: a"), status: 400, want: `promise "deps" has no API`},
		{name: "patch of another field", method: "PATCH", path: "/api/v1/resources/redis/r0?namespace=team-a", body: `{"status": {}}`, status: 404},
		{name: "request of an unknown promise", method: "POST", path: "/api/v1/resources/nope", body: redisRequest("redis", "r1", "  team: a"), status: 404, want: `promise "nope" not found`},
		{name: "unknown request", method: "GET", path: "/api/v1/resources/redis/nope", status: 404, want: `redis "nope" not found in namespace "default"`},
		{name: "unknown promise", method: "GET", path: "/api/v1/promises/nope", status: 404, want: `promise "nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ts.do(t, req{method: tt.method, path: tt.path, body: tt.body}).want(t, tt.status).apiError(t)
			if !strings.Contains(e.Error, tt.want) {
				t.Errorf("%s %s = %q, want it to contain %q", tt.method, tt.path, e.Error, tt.want)
			}
			if tt.fields != nil {
				var got []string
				for _, f := range e.Fields {
					got = append(got, f.Path)
				}
				if diff := cmp.Diff(tt.fields, got); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
		})
	}
	var rrs []api.ResourceRequest
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis"}).want(t, http.StatusOK).decode(t, &rrs)
	var ps []api.Promise
	ts.do(t, req{method: "GET", path: "/api/v1/promises"}).want(t, http.StatusOK).decode(t, &ps)
	if len(rrs) != 0 || len(ps) != 2 {
		t.Errorf("after the refusals: %d requests, %d promises stored, want 0 and 2", len(rrs), len(ps))
	}
}

// TestPromiseRequirements: a promise whose required promise is missing or at another version is stored
// Unavailable, as Kratix shows it, and refuses requests until the right version is installed.
func TestPromiseRequirements(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	requires := "requiredPromises: [{name: kafka, version: v2.0.0}]"
	var p api.Promise
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise("app", "v1", requires)}).want(t, http.StatusOK).decode(t, &p)
	if p.Status.Status != "Unavailable" || p.Status.RequiredPromises[0].State != "Requirement not installed" {
		t.Errorf("promise requiring a missing one: %+v", p.Status)
	}
	e := ts.do(t, req{method: "POST", path: "/api/v1/resources/app", body: redisRequest("app", "r1", "  team: a")}).
		want(t, http.StatusConflict).apiError(t)
	if !strings.Contains(e.Error, `promise "app" is not available`) || !strings.Contains(e.Error, "kafka at version v2.0.0") {
		t.Errorf("request for an unavailable promise = %q", e.Error)
	}
	ts.do(t, req{method: "PUT", path: "/api/v1/promises/kafka", body: redisPromise("kafka", "v1.0.0", "")}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/promises/app"}).want(t, http.StatusOK).decode(t, &p)
	if p.Status.Status != "Unavailable" || p.Status.RequiredPromises[0].State != "Requirement not installed at the specified version" {
		t.Errorf("promise requiring another version: %+v", p.Status)
	}
	ts.do(t, req{method: "PUT", path: "/api/v1/promises/kafka", body: redisPromise("kafka", "v2.0.0", "")}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/promises/app"}).want(t, http.StatusOK).decode(t, &p)
	if p.Status.Status != "Available" || p.Status.Conditions[0].Type != "RequirementsFulfilled" || p.Status.Conditions[0].Status != "True" {
		t.Errorf("promise whose requirement was installed: %+v", p.Status)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/resources/app", body: redisRequest("app", "r1", "  team: a")}).want(t, http.StatusOK)

	// Deleting the required promise makes the one requiring it Unavailable again; its request stays.
	ts.do(t, req{method: "DELETE", path: "/api/v1/promises/kafka"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/promises/app"}).want(t, http.StatusOK).decode(t, &p)
	if p.Status.Status != "Unavailable" || p.Status.RequiredPromises[0].State != "Requirement not installed" {
		t.Errorf("promise whose requirement was deleted: %+v", p.Status)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/resources/app/r1?namespace=team-a"}).want(t, http.StatusOK)
}

// TestPromiseRBAC: a team allowed to request redis (resources, redis) can do that and nothing else.
func TestPromiseRBAC(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, name := range []string{"redis", "postgres"} {
		ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise(name, "v1", "")}).want(t, http.StatusOK)
	}
	team := makePersona(t, ts, "team", &api.Role{Resource: api.ResourceResources, ResourceIDs: []string{"redis"}, Access: api.AccessWrite})
	ts.do(t, req{method: "POST", path: "/api/v1/resources/redis", body: redisRequest("redis", "r1", "  team: a"), as: team}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/resources/redis", as: team}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/resources/postgres", body: redisRequest("postgres", "r1", "  team: a"), as: team}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "GET", path: "/api/v1/resources/postgres", as: team}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise("mine", "v1", ""), as: team}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "PUT", path: "/api/v1/promises/redis", body: redisPromise("redis", "v2", ""), as: team}).want(t, http.StatusForbidden)
	// The team reads the promise it may request from (its API), and no other.
	var seen []api.Promise
	ts.do(t, req{method: "GET", path: "/api/v1/promises", as: team}).want(t, http.StatusOK).decode(t, &seen)
	if len(seen) != 1 || seen[0].Metadata.Name != "redis" {
		t.Errorf("GET /promises as the redis team = %d promises, want redis alone", len(seen))
	}
	ts.do(t, req{method: "GET", path: "/api/v1/promises/redis", as: team}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/promises/postgres", as: team}).want(t, http.StatusForbidden)
	if got := ts.do(t, req{method: "DELETE", path: "/api/v1/resources/redis/r1?namespace=team-a", as: team}).status; got != http.StatusOK && got != http.StatusAccepted {
		t.Errorf("DELETE request as the redis team = %d, want 200 or 202", got)
	}

	reader := makePersona(t, ts, "reader", &api.Role{Resource: api.ResourcePromises, ResourceIDs: []string{"redis"}, Access: api.AccessRead})
	var ps []api.Promise
	ts.do(t, req{method: "GET", path: "/api/v1/promises", as: reader}).want(t, http.StatusOK).decode(t, &ps)
	if len(ps) != 1 || ps[0].Metadata.Name != "redis" {
		t.Errorf("GET /promises as a reader of redis = %d promises, want redis alone", len(ps))
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/promises/redis", as: reader}).want(t, http.StatusForbidden)
}

// waitGone waits until GET path answers 404.
func (ts *testServer) waitGone(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for ts.do(t, req{method: "GET", path: path}).status != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still there after 30s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
