package promise

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func fixtureAPI(t testing.TB, file string) *API {
	t.Helper()
	p, err := Parse(readFixture(t, file))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAPI(p.Spec.API)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func request(apiVersion, kind, name, spec string) api.ResourceRequest {
	return api.ResourceRequest{APIVersion: apiVersion, Kind: kind, Metadata: api.ObjectMeta{Name: name}, Spec: json.RawMessage(spec)}
}

// TestDefaultingGolden pins the stored spec of requests after pruning and defaulting, one golden file per case.
func TestDefaultingGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, apiVersion, kind, spec string
	}{
		{"redis-empty", "redis.yaml", "marketplace.example.dev/v1alpha1", "redis", `{}`},
		{"redis-null-spec", "redis.yaml", "marketplace.example.dev/v1alpha1", "redis", `null`},
		{"redis-given", "redis.yaml", "marketplace.example.dev/v1alpha1", "redis", `{"size": "large", "replicas": 3}`},
		{"redis-null-field-defaulted", "redis.yaml", "marketplace.example.dev/v1alpha1", "redis", `{"size": null}`},
		{"postgresql-minimal", "postgresql.yaml", "marketplace.example.dev/v1", "postgresql", `{"teamId": "acid"}`},
		{"postgresql-nested", "postgresql.yaml", "marketplace.example.dev/v1", "postgresql",
			`{"teamId": "acid", "backup": {}, "storage": {"class": null}, "users": [{"name": "a"}, {"name": "b", "role": "owner"}],
			  "extensions": {"postgis": {}, "pgcrypto": {"version": "1.3"}}, "settings": {"anything": {"goes": [1, 2]}}, "port": "pg"}`},
		{"postgresql-old-version-preserves", "postgresql.yaml", "marketplace.example.dev/v1alpha1", "postgresql", `{"free": {"form": true}}`},
		{"jenkins-cluster", "jenkins.json", "marketplace.example.dev/v1alpha1", "jenkins", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := fixtureAPI(t, tt.file)
			got, err := CheckRequest(a, request(tt.apiVersion, tt.kind, "r1", tt.spec))
			if err != nil {
				t.Fatalf("CheckRequest(%s) = %v", tt.spec, err)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, got.Spec, "", "  "); err != nil {
				t.Fatal(err)
			}
			buf.WriteString("\n")
			golden := filepath.Join("testdata", "defaulting", tt.name+".json")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("CheckRequest(%s).Spec (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestCheckRequestRefuses(t *testing.T) {
	t.Parallel()
	const pgv1 = "marketplace.example.dev/v1"
	tests := []struct {
		name, file, apiVersion, kind, spec string
		namespace                          string
		want                               string // the whole message
		paths                              []string
	}{
		{name: "enum", file: "redis.yaml", apiVersion: "marketplace.example.dev/v1alpha1", kind: "redis", spec: `{"size": "xl"}`,
			want:  `redis.marketplace.example.dev "r1" is invalid: spec.size: Unsupported value: "xl": supported values: "small", "large"`,
			paths: []string{"spec.size"}},
		{name: "type and bound", file: "redis.yaml", apiVersion: "marketplace.example.dev/v1alpha1", kind: "redis", spec: `{"replicas": "three"}`,
			want:  `redis.marketplace.example.dev "r1" is invalid: spec.replicas: Invalid value: "three": spec.replicas in body must be of type integer: "string"`,
			paths: []string{"spec.replicas"}},
		{name: "maximum", file: "redis.yaml", apiVersion: "marketplace.example.dev/v1alpha1", kind: "redis", spec: `{"replicas": 9}`,
			want:  `redis.marketplace.example.dev "r1" is invalid: spec.replicas: Invalid value: 9: maximum: got 9, want 5`,
			paths: []string{"spec.replicas"}},
		{name: "unknown field", file: "redis.yaml", apiVersion: "marketplace.example.dev/v1alpha1", kind: "redis", spec: `{"sise": "small"}`,
			want:  `redis.marketplace.example.dev "r1" is invalid: spec.sise: Invalid value: unknown field "spec.sise"`,
			paths: []string{"spec.sise"}},
		{name: "several", file: "postgresql.yaml", apiVersion: pgv1, kind: "postgresql",
			spec: `{"users": [{"role": "admin"}], "backup": {"enabled": "yes"}, "port": 1.5}`,
			want: `postgresql.marketplace.example.dev "r1" is invalid: [spec.backup.enabled: Invalid value: "yes": spec.backup.enabled in body must be of type boolean: "string", ` +
				`spec.port: Invalid value: 1.5: spec.port in body must be of type integer or string: "number", spec.teamId: Required value, ` +
				`spec.users[0].name: Required value, spec.users[0].role: Unsupported value: "admin": supported values: "owner", "reader"]`,
			paths: []string{"spec.backup.enabled", "spec.port", "spec.teamId", "spec.users[0].name", "spec.users[0].role"}},
		{name: "pattern in an array item", file: "postgresql.yaml", apiVersion: pgv1, kind: "postgresql", spec: `{"teamId": "Acid"}`,
			want:  `postgresql.marketplace.example.dev "r1" is invalid: spec.teamId: Invalid value: "Acid": does not match pattern '^[a-z]+$'`,
			paths: []string{"spec.teamId"}},
		{name: "null not nullable without default is dropped then required", file: "postgresql.yaml", apiVersion: pgv1, kind: "postgresql", spec: `{"teamId": null}`,
			want:  `postgresql.marketplace.example.dev "r1" is invalid: spec.teamId: Required value`,
			paths: []string{"spec.teamId"}},
		{name: "spec not an object", file: "redis.yaml", apiVersion: "marketplace.example.dev/v1alpha1", kind: "redis", spec: `[1]`,
			want: `redis.marketplace.example.dev "r1" is invalid: spec: Invalid value: [1]: spec must be an object`},
		{name: "wrong kind", file: "redis.yaml", apiVersion: "marketplace.example.dev/v1alpha1", kind: "Redis", spec: `{}`,
			want: `kind: Unsupported value: "Redis": supported values: "redis"`},
		{name: "wrong apiVersion", file: "redis.yaml", apiVersion: "marketplace.example.dev/v2", kind: "redis", spec: `{}`,
			want: `apiVersion: Unsupported value: "marketplace.example.dev/v2": supported values: "marketplace.example.dev/v1alpha1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request(tt.apiVersion, tt.kind, "r1", tt.spec)
			r.Metadata.Namespace = tt.namespace
			_, err := CheckRequest(fixtureAPI(t, tt.file), r)
			var ie *api.InvalidError
			if !errors.As(err, &ie) || err.Error() != tt.want {
				t.Fatalf("CheckRequest(%s) = %v,\nwant %s", tt.spec, err, tt.want)
			}
			var paths []string
			for _, f := range ie.Fields {
				paths = append(paths, f.Path)
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("CheckRequest(%s) paths (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestCheckRequestFillsIn(t *testing.T) {
	t.Parallel()
	cluster := request("marketplace.example.dev/v1alpha1", "jenkins", "ci", `{}`)
	cluster.Metadata.Namespace = "team-a"
	if got, err := CheckRequest(fixtureAPI(t, "jenkins.json"), cluster); err != nil || got.Metadata.Namespace != "" {
		t.Errorf("CheckRequest(cluster-scoped, namespace team-a) = namespace %q, %v; want none", got.Metadata.Namespace, err)
	}
	got, err := CheckRequest(fixtureAPI(t, "postgresql.yaml"), request("marketplace.example.dev/v1alpha1", "postgresql", "db", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Namespace != "default" || got.APIVersion != "marketplace.example.dev/v1" {
		t.Errorf("CheckRequest namespace, apiVersion = %q, %q, want default, the storage version", got.Metadata.Namespace, got.APIVersion)
	}
}

func TestStatusRequirements(t *testing.T) {
	t.Parallel()
	p, err := Parse(readFixture(t, "namespace-requirements.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ParseAPI(p.Spec.API)
	tests := []struct {
		name      string
		installed map[string]string
		status    string
		states    []string
		message   string
	}{
		{"none installed", map[string]string{}, "Unavailable", []string{RequirementNotInstalled, RequirementNotInstalled},
			"Unavailable: required promise kafka at version v1.2.0: Requirement not installed"},
		{"one at another version", map[string]string{"kafka": "v1.1.0", "telemetry": "v1.1.0"}, "Unavailable",
			[]string{RequirementNotInstalledAtVersion, RequirementInstalled},
			"Unavailable: required promise kafka at version v1.2.0: Requirement not installed at the specified version"},
		{"all installed", map[string]string{"kafka": "v1.2.0", "telemetry": "v1.1.0"}, "Available",
			[]string{RequirementInstalled, RequirementInstalled}, "Available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := Status(p, a, tt.installed, api.PromiseStatus{}, fixedNow)
			var states []string
			for _, r := range st.RequiredPromises {
				states = append(states, r.State)
			}
			if st.Status != tt.status || st.Message != tt.message || !cmp.Equal(states, tt.states) {
				t.Errorf("Status = %s %q %v, want %s %q %v", st.Status, st.Message, states, tt.status, tt.message, tt.states)
			}
			if Available(st) != (tt.status == "Available") {
				t.Errorf("Available = %v", Available(st))
			}
			fulfilled := st.Conditions[0]
			if fulfilled.Type != ConditionRequirementsFulfilled || (fulfilled.Status == "True") != (tt.status == "Available") {
				t.Errorf("conditions = %+v", st.Conditions)
			}
			if st.Kind != "namespace" || st.APIVersion != "marketplace.example.dev/v1alpha1" {
				t.Errorf("Status kind, apiVersion = %q, %q", st.Kind, st.APIVersion)
			}
		})
	}
}

// Status keeps what the promise's workflows set (the controller's bookkeeping, their conditions, counters and
// outputs): a write of the promise, or of one it requires, must not make the controller forget where its files went.
func TestStatusKeepsWorkflows(t *testing.T) {
	t.Parallel()
	p, err := Parse(readFixture(t, "namespace-requirements.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ParseAPI(p.Spec.API)
	del := fixedNow.Add(-time.Minute)
	prev := api.PromiseStatus{
		Conditions: []api.Condition{{Type: "ConfigureWorkflowCompleted", Status: "True", Reason: "PipelinesExecutedSuccessfully"}},
		Workflows:  1, WorkflowsSucceeded: 1,
		Kratix: &api.KratixStatus{
			Workflows:         api.KratixWorkflows{Pipelines: []api.PipelineStatus{{Name: "setup", Phase: "Succeeded"}}, Action: "configure", Round: 3},
			DeletionTimestamp: &del,
			Outputs:           []api.KratixOutput{{Pipeline: "setup", Group: "5058f", Destination: "dev"}},
		},
	}
	st := Status(p, a, map[string]string{}, prev, fixedNow)
	if !cmp.Equal(st.Kratix.Workflows, prev.Kratix.Workflows) || !cmp.Equal(st.Kratix.Outputs, prev.Kratix.Outputs) ||
		st.Kratix.DeletionTimestamp == nil || st.Workflows != 1 || st.WorkflowsSucceeded != 1 {
		t.Errorf("Status dropped the workflows' status: %+v %+v", st, st.Kratix)
	}
	var types []string
	for _, c := range st.Conditions {
		types = append(types, c.Type)
	}
	if want := []string{ConditionRequirementsFulfilled, ConditionAvailable, "ConfigureWorkflowCompleted"}; !cmp.Equal(types, want) {
		t.Errorf("conditions %v, want %v", types, want)
	}
}

func FuzzApply(f *testing.F) {
	f.Add(`{"teamId": "acid", "users": [{"name": "a"}], "storage": null, "extensions": {"x": {}}}`)
	f.Add(`{"size": "xl", "replicas": "1"}`)
	f.Add(`{"settings": {"a": [null, {"b": 1e400}]}, "port": 80}`)
	f.Add(`[]`)
	a := fixtureAPI(f, "postgresql.yaml")
	r := fixtureAPI(f, "redis.yaml")
	f.Fuzz(func(t *testing.T, spec string) {
		for _, x := range []struct {
			a       *API
			version string
		}{{a, "marketplace.example.dev/v1"}, {r, "marketplace.example.dev/v1alpha1"}} {
			got, err := CheckRequest(x.a, request(x.version, x.a.Names.Kind, "r", spec))
			if err != nil {
				var ie *api.InvalidError
				if !errors.As(err, &ie) {
					t.Fatalf("CheckRequest error %T %v", err, err)
				}
				continue
			}
			// Defaulting is idempotent: the stored spec checks again to itself.
			again, err := CheckRequest(x.a, request(x.version, x.a.Names.Kind, "r", string(got.Spec)))
			if err != nil {
				t.Fatalf("CheckRequest(stored spec %s) = %v", got.Spec, err)
			}
			if !bytes.Equal(again.Spec, got.Spec) {
				t.Fatalf("defaulting is not idempotent: %s then %s", got.Spec, again.Spec)
			}
		}
	})
}

var fixedNow = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
