package kratix

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestObjectYAMLGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/object/*.json")
	if len(inputs) == 0 {
		t.Fatal("no inputs in testdata/object")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ObjectYAML(b)
			if err != nil {
				t.Fatalf("ObjectYAML: %v", err)
			}
			golden(t, strings.TrimSuffix(in, ".json")+".yaml", got)
		})
	}
}

// The object a store hands over as a Go value (a map, a struct) comes out as the same text as its JSON.
func TestObjectYAMLValues(t *testing.T) {
	type meta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	}
	type request struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   meta           `json:"metadata"`
		Spec       map[string]any `json:"spec"`
		Status     map[string]any `json:"status,omitempty"`
		Owner      string         `json:"owner"`
	}
	v := request{APIVersion: "g.example.com/v1", Kind: "K", Metadata: meta{Name: "web", Namespace: "ns"},
		Spec: map[string]any{"b": 1, "a": "x"}, Owner: "ann"}
	const want = "apiVersion: g.example.com/v1\nkind: K\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  a: x\n  b: 1\n"
	for name, obj := range map[string]any{"struct": v, "raw": json.RawMessage(`{"apiVersion":"g.example.com/v1","kind":"K","metadata":{"name":"web","namespace":"ns"},"spec":{"b":1,"a":"x"},"owner":"ann"}`)} {
		got, err := ObjectYAML(obj)
		if err != nil || string(got) != want {
			t.Errorf("ObjectYAML(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestObjectYAMLErrors(t *testing.T) {
	tests := []struct {
		name, obj, want string
	}{
		{"not JSON", `apiVersion: v1`, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"null", `null`, "not a JSON object: null"},
		{"trailing", `{"a":1} {}`, "text after the object"},
		{"no apiVersion", `{"kind":"K","metadata":{"name":"n"}}`, "apiVersion: want a non-empty string"},
		{"kind a number", `{"apiVersion":"v1","kind":3,"metadata":{"name":"n"}}`, "kind: want a non-empty string"},
		{"no metadata", `{"apiVersion":"v1","kind":"K"}`, "metadata: want an object"},
		{"no name", `{"apiVersion":"v1","kind":"K","metadata":{"namespace":"x"}}`, "metadata.name: want a non-empty string"},
		{"spec a list", `{"apiVersion":"v1","kind":"K","metadata":{"name":"n"},"spec":[1]}`, "spec: want an object"},
		{"status a string", `{"apiVersion":"v1","kind":"K","metadata":{"name":"n"},"status":"ok"}`, "status: want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ObjectYAML([]byte(tt.obj))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "object.yaml: ") {
				t.Errorf("ObjectYAML(%s) err = %v, want object.yaml: ...%s", tt.obj, err, tt.want)
			}
		})
	}
}

func FuzzObjectYAML(f *testing.F) {
	for _, in := range []string{"request.json", "promise.json", "cluster-scoped-no-status.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/object", in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"K","metadata":{"name":"n"},"spec":{"x":1e400}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		y, err := ObjectYAML(b)
		if err != nil {
			return
		}
		// What a pipeline reads back is an object with the same identity.
		var back map[string]any
		if err := yaml.Unmarshal(y, &back); err != nil {
			t.Fatalf("ObjectYAML(%q) = %q: not YAML: %v", b, y, err)
		}
		var in map[string]any
		_ = json.Unmarshal(b, &in)
		if back["kind"] != in["kind"] || back["apiVersion"] != in["apiVersion"] {
			t.Fatalf("ObjectYAML(%q) = %q: identity changed", b, y)
		}
	})
}
