package promise

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "promises", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		name     string
		kind     string // "" when the promise has no API
		group    string
		scope    string
		storage  string
		version  string
		required int
		configs  int
	}{
		{file: "redis.yaml", name: "redis", kind: "redis", group: "marketplace.example.dev", scope: "Namespaced", storage: "v1alpha1", version: "v0.2.0", configs: 1},
		{file: "postgresql.yaml", name: "postgresql", kind: "postgresql", group: "marketplace.example.dev", scope: "Namespaced", storage: "v1", version: "v1.0.0", configs: 1},
		{file: "namespace-requirements.yaml", name: "namespace", kind: "namespace", group: "marketplace.example.dev", scope: "Namespaced", storage: "v1alpha1", required: 2},
		{file: "dependencies-only.yaml", name: "operators"},
		{file: "empty-api.yaml", name: "empty"},
		{file: "crd-v1alpha1.yaml", name: "pipelines", kind: "pipelines", group: "marketplace.example.dev", scope: "Namespaced", storage: "v1alpha1"},
		{file: "jenkins.json", name: "jenkins", kind: "jenkins", group: "marketplace.example.dev", scope: "Cluster", storage: "v1alpha1", version: "v0.3.1", configs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("Parse(%s) = %v", tt.file, err)
			}
			if p.Metadata.Name != tt.name || PromiseVersion(p) != tt.version {
				t.Errorf("Parse(%s) name, version = %q, %q, want %q, %q", tt.file, p.Metadata.Name, PromiseVersion(p), tt.name, tt.version)
			}
			if p.Metadata.Namespace != "" || p.Metadata.Generation != 0 || p.Metadata.UID != "" || p.Metadata.ResourceVersion != "" || p.Metadata.CreationTimestamp != nil {
				t.Errorf("Parse(%s) kept server-set metadata: %+v", tt.file, p.Metadata)
			}
			if p.Status.Status != "" || len(p.Status.Conditions) != 0 {
				t.Errorf("Parse(%s) kept the status: %+v", tt.file, p.Status)
			}
			if len(p.Spec.RequiredPromises) != tt.required || len(p.Spec.Workflows.Resource.Configure) != tt.configs {
				t.Errorf("Parse(%s): %d required, %d configure pipelines, want %d, %d", tt.file,
					len(p.Spec.RequiredPromises), len(p.Spec.Workflows.Resource.Configure), tt.required, tt.configs)
			}
			if tt.kind == "" {
				if p.Spec.API != nil {
					t.Errorf("Parse(%s).Spec.API = %s, want none", tt.file, p.Spec.API)
				}
				return
			}
			a, err := ParseAPI(p.Spec.API)
			if err != nil {
				t.Fatalf("ParseAPI(%s) = %v", tt.file, err)
			}
			if a.Names.Kind != tt.kind || a.Group != tt.group || a.Scope != tt.scope || a.StorageVersion().Name != tt.storage {
				t.Errorf("ParseAPI(%s) = %s %s %s %s, want %s %s %s %s", tt.file, a.Names.Kind, a.Group, a.Scope,
					a.StorageVersion().Name, tt.kind, tt.group, tt.scope, tt.storage)
			}
			if a.Names.ListKind != a.Names.Kind+"List" {
				t.Errorf("ParseAPI(%s).Names.ListKind = %q", tt.file, a.Names.ListKind)
			}
		})
	}
}

func TestParseKeepsPipelinesAsKratixWritesThem(t *testing.T) {
	t.Parallel()
	p, err := Parse(readFixture(t, "postgresql.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pl := p.Spec.Workflows.Resource.Configure[0]
	want := api.Pipeline{
		APIVersion: api.KratixAPIVersion, Kind: "Pipeline",
		Metadata: api.PipelineMetadata{Name: "instance-configure"},
		Spec: api.PipelineSpec{
			Containers: []api.PipelineContainer{{Name: "configure", Image: "registry.example.dev/postgresql-configure:v1.0.0",
				Env: []api.KubeEnvVar{{Name: "TEAM", Value: "acid"}}}},
			RBAC: &api.PipelineRBAC{Permissions: []api.PipelinePermission{{APIGroups: []string{""}, Verbs: []string{"*"}, Resources: []string{"secrets"}}}},
		},
	}
	if diff := cmp.Diff(want, pl); diff != "" {
		t.Errorf("configure pipeline (-want +got):\n%s", diff)
	}
	if p.Spec.Workflows.Config.ReconciliationInterval != "1h" || len(p.Spec.Workflows.Promise.Configure) != 1 ||
		len(p.Spec.Workflows.Resource.Delete) != 1 || len(p.Spec.Dependencies) != 1 {
		t.Errorf("workflows = %+v, dependencies %d", p.Spec.Workflows, len(p.Spec.Dependencies))
	}
}

// spec.workflows.config.pipelineNamespace, a namespace name, is kept as written.
func TestParsePipelineNamespace(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte("apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {config: {pipelineNamespace: team-a}}}\n"))
	if err != nil || p.Spec.Workflows.Config.PipelineNamespace != "team-a" {
		t.Fatalf("Parse = %+v, %v; want pipelineNamespace team-a", p.Spec.Workflows.Config, err)
	}
}

const crdHead = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata: {name: p}
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
`

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "  \n", "document is empty"},
		{"bad yaml", "kind: [Promise", "document is not valid YAML"},
		{"duplicate key", "kind: Promise\nkind: Promise\n", "document is not valid YAML"},
		{"bad json", `{"kind": `, "document is not valid JSON"},
		{"not a mapping", "- a\n- b\n", "a promise must be a mapping"},
		{"wrong apiVersion", "apiVersion: v1\nkind: Promise\nmetadata: {name: p}\n", `apiVersion: Unsupported value: "v1"`},
		{"wrong kind", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: p}\n", `kind: Unsupported value: "Destination"`},
		{"no name", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nspec: {}\n", "metadata.name: Required value"},
		{"bad name", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: Redis_1}\n", `metadata.name: Invalid value: "Redis_1"`},
		{"api not an object", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {api: [1]}\n", "spec.api: Invalid value: must be object, not array"},
		{"api not a crd", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {api: {apiVersion: v1, kind: ConfigMap}}\n", `spec.api.apiVersion: Unsupported value: "v1"`},
		{"crd without group", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}]}\n", "spec.api.spec.group: Required value"},
		{"crd without kind", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}]}\n", "spec.api.spec.names.kind: Required value"},
		{"crd name mismatch", crdHead + "    metadata: {name: ys.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}]}\n", `spec.api.metadata.name: Invalid value: "ys.example.dev"`},
		{"crd bad scope", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Global, versions: [{name: v1, served: true, storage: true}]}\n", `spec.api.spec.scope: Unsupported value: "Global"`},
		{"crd no versions", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced}\n", "spec.api.spec.versions: Required value"},
		{"crd two storage", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}, {name: v2, served: true, storage: true}]}\n", "exactly one version marked as storage version, found 2"},
		{"schema bad type", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: dict}}}}}]}\n", `properties[spec].type: Unsupported value: "dict"`},
		{"schema untyped field", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {description: x}}}}}]}\n", "type: Required value"},
		{"schema bad default", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: string, enum: [s, l], default: xl}}}}}}}]}\n", `default: Invalid value: default: Unsupported value: "xl"`},
		{"schema bad pattern", crdHead + "    metadata: {name: xs.example.dev}\n    spec: {group: example.dev, names: {kind: X, plural: xs}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: string, pattern: '('}}}}}]}\n", "openAPIV3Schema: Invalid value"},
		{"required promise without version", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {requiredPromises: [{name: kafka}]}\n", "spec.requiredPromises[0].version: Required value"},
		{"pipeline without containers", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {resource: {configure: [{kind: Pipeline, metadata: {name: a}, spec: {}}]}}}\n", "spec.workflows.resource.configure[0].spec.containers: Required value"},
		{"pipeline without image", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {promise: {delete: [{kind: Pipeline, metadata: {name: a}, spec: {containers: [{name: c}]}}]}}}\n", "spec.workflows.promise.delete[0].spec.containers[0].image: Required value"},
		{"duplicate pipeline", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {resource: {configure: [{metadata: {name: a}, spec: {containers: [{name: c, image: i}]}}, {metadata: {name: a}, spec: {containers: [{name: c, image: i}]}}]}}}\n", `configure[1].metadata.name: Duplicate value: "a"`},
		{"pipelineNamespace with a dot", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {config: {pipelineNamespace: team.a}}}\n", `spec.workflows.config.pipelineNamespace: Invalid value: "team.a": a lowercase RFC 1123 label`},
		{"pipelineNamespace upper case", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {config: {pipelineNamespace: Team}}}\n", `spec.workflows.config.pipelineNamespace: Invalid value: "Team"`},
		{"pipelineNamespace too long", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {config: {pipelineNamespace: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}}\n", `spec.workflows.config.pipelineNamespace: Invalid value: "aaaaaaaaaaaaaaaaaaaa"...: must be no more than 63 characters`},
		{"bad interval", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {workflows: {config: {reconciliationInterval: soon}}}\n", `reconciliationInterval: Invalid value: "soon"`},
		{"dependency not an object", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {dependencies: [hello]}\n", "spec.dependencies[0]: Invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.doc))
			var ie *api.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) = %v, want an *api.InvalidError containing %q", tt.name, err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"redis.yaml", "postgresql.yaml", "namespace-requirements.yaml", "dependencies-only.yaml", "jenkins.json",
		"empty-api.yaml", "crd-v1alpha1.yaml"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(crdHead))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse error %T %v is not an *api.InvalidError", err, err)
			}
			return
		}
		if err := Validate(&p); err != nil {
			t.Fatalf("Validate(Parse(doc)) = %v", err)
		}
		if p.Spec.API != nil {
			if _, err := ParseAPI(p.Spec.API); err != nil {
				t.Fatalf("ParseAPI of a parsed promise = %v", err)
			}
		}
	})
}
