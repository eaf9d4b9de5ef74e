package kratix

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/workflow"
)

// fixture is a testdata/build file: a workflow to build.
type fixture struct {
	Name      string          `json:"name"`
	Target    Target          `json:"target"`
	Object    json.RawMessage `json:"object"`
	Pipelines []api.Pipeline  `json:"pipelines"`
}

func readFixture(t *testing.T, path string) Input {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return Input{Name: f.Name, Target: f.Target, Object: f.Object, Pipelines: f.Pipelines}
}

func TestBuildGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/build/*.yaml")
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.yaml") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			input := readFixture(t, in)
			w, err := Build(input)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			// The run engine takes it: it compiles as a workflow.
			if _, err := workflow.Compile(w); err != nil {
				t.Fatalf("Build made a workflow the run engine refuses: %v", err)
			}
			b, err := yaml.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".yaml")+".golden.yaml", b)

			// Each pipeline alone is the same step, without its dependency.
			ps, _ := ToRun(input.Target.Action, input.Pipelines)
			for i := range ps {
				one, err := BuildPipeline(input, i)
				if err != nil {
					t.Fatal(err)
				}
				want := w.Steps[i]
				want.DependsOn = nil
				wb, _ := json.Marshal(want)
				gb, _ := json.Marshal(one.Steps[0])
				if len(one.Steps) != 1 || string(wb) != string(gb) {
					t.Errorf("BuildPipeline(%d) = %s, want %s", i, gb, wb)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	base := func() Input {
		return Input{
			Name:   "w",
			Target: ResourceTarget("p", ActionConfigure, "g.example.com/v1", "K", "ks", "n", "ns", false),
			Object: map[string]any{"apiVersion": "g.example.com/v1", "kind": "K", "metadata": map[string]any{"name": "n"}},
			Pipelines: []api.Pipeline{{Metadata: api.PipelineMetadata{Name: "one"},
				Spec: api.PipelineSpec{Containers: []api.PipelineContainer{{Name: "c", Image: "img"}}}}},
		}
	}
	tests := []struct {
		name   string
		change func(*Input)
		err    string
	}{
		{"no pipelines", func(in *Input) { in.Pipelines = nil }, "no resource configure pipelines to run"},
		{"bad object", func(in *Input) { in.Object = map[string]any{"kind": "K"} }, "object.yaml: apiVersion"},
		{"bad pipeline name", func(in *Input) { in.Pipelines[0].Metadata.Name = "One Two" }, `pipeline "One Two": metadata.name`},
		{"no containers", func(in *Input) { in.Pipelines[0].Spec.Containers = nil }, `pipeline "one": spec.containers: at least one container is required`},
		{"same pipeline twice", func(in *Input) { in.Pipelines = append(in.Pipelines, in.Pipelines[0]) }, `pipelines[1]: name "one" is used twice`},
		{"container without image or command", func(in *Input) { in.Pipelines[0].Spec.Containers[0].Image = "" }, "needs an image, a command, or both"},
		{"value and valueFrom", func(in *Input) {
			in.Pipelines[0].Spec.Containers[0].Env = []api.KubeEnvVar{{Name: "A", Value: "x", ValueFrom: json.RawMessage(`{}`)}}
		}, `spec.containers[0]: env A: value and valueFrom`},
		{"reserved env", func(in *Input) {
			in.Pipelines[0].Spec.Containers[0].Env = []api.KubeEnvVar{{Name: "RUNPLANE_JOB_ID", Value: "x"}}
		}, "reserved environment variable"},
		{"mount over /kratix", func(in *Input) {
			in.Pipelines[0].Spec.Containers[0].VolumeMounts = json.RawMessage(`[{"name":"v","mountPath":"/kratix/output"}]`)
		}, `volumeMounts[0].mountPath "/kratix/output": runplane mounts /kratix itself`},
		{"bad pull policy", func(in *Input) { in.Pipelines[0].Spec.Containers[0].ImagePullPolicy = "Sometimes" }, "imagePullPolicy"},
		{"bad toleration", func(in *Input) {
			in.Pipelines[0].Spec.Tolerations = []api.Toleration{{Operator: "Equal"}}
		}, `pipeline "one": spec: kubernetes.tolerations[0]`},
		{"volume named as runplane's", func(in *Input) {
			in.Pipelines[0].Spec.Volumes = json.RawMessage(`[{"name":"workspace","emptyDir":{}}]`)
		}, `kubernetes.volumes[0].name "workspace"`},
		{"negative backoffLimit", func(in *Input) {
			n := int32(-1)
			in.Pipelines[0].Spec.JobOptions = &api.PipelineJobOptions{BackoffLimit: &n}
		}, "spec.jobOptions.backoffLimit: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.change(&in)
			_, err := Build(in)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Build err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestBuildDefaultName(t *testing.T) {
	in := readFixture(t, "testdata/build/promise-delete.yaml")
	in.Name = ""
	w, err := Build(in)
	if err != nil || w.Name != "kratix-cache-delete" {
		t.Errorf("Build without a name: %q, %v; want kratix-cache-delete", w.Name, err)
	}
	w, err = BuildPipeline(in, 1)
	if err != nil || w.Name != "kratix-cache-delete-never-runs" {
		t.Errorf("BuildPipeline without a name: %q, %v; want kratix-cache-delete-never-runs", w.Name, err)
	}
}

func TestBuildRetriesBounded(t *testing.T) {
	if maxRetries != workflow.MaxRetries {
		t.Fatalf("maxRetries = %d, workflow.MaxRetries = %d", maxRetries, workflow.MaxRetries)
	}
	n := int32(50)
	in := Input{Name: "w", Target: PromiseTarget("p", ActionConfigure),
		Object: map[string]any{"apiVersion": PromiseAPIVersion, "kind": PromiseKind, "metadata": map[string]any{"name": "p"}},
		Pipelines: []api.Pipeline{{Metadata: api.PipelineMetadata{Name: "one"}, Spec: api.PipelineSpec{
			JobOptions: &api.PipelineJobOptions{BackoffLimit: &n}, Containers: []api.PipelineContainer{{Name: "c", Image: "img"}}}}}}
	w, err := Build(in)
	if err != nil || w.Steps[0].Retries != workflow.MaxRetries {
		t.Fatalf("Build with backoffLimit 50: retries %v, %v; want %d", w.Steps, err, workflow.MaxRetries)
	}
}
