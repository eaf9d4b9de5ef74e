package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTaskKubernetesValidate(t *testing.T) {
	t.Parallel()
	secs := int64(30)
	res := func(req, lim map[string]string) *TaskKubernetes {
		return &TaskKubernetes{Resources: &ResourceRequirements{Requests: req, Limits: lim}}
	}
	valid := []struct {
		name string
		k    *TaskKubernetes
	}{
		{"nil", nil},
		{"empty", &TaskKubernetes{}},
		{"everything", &TaskKubernetes{
			Resources: &ResourceRequirements{
				Requests: map[string]string{"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "1Gi", "nvidia.com/gpu": "1"},
				Limits:   map[string]string{"cpu": "0.5", "memory": "128M", "hugepages-2Mi": "4Mi", "nvidia.com/gpu": "1"},
			},
			ServiceAccount:   "jobs.runner-1",
			NodeSelector:     map[string]string{"kubernetes.io/arch": "amd64", "disk": "ssd", "empty": ""},
			Tolerations:      []Toleration{{Key: "dedicated", Operator: "Equal", Value: "jobs", Effect: "NoSchedule"}, {Operator: "Exists"}, {Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &secs}},
			ImagePullSecrets: []string{"regcred", "other.cred"},
			ImagePullPolicy:  "IfNotPresent",
		}},
		{"quantity forms", res(map[string]string{"cpu": "1", "memory": "1e3", "a.io/x": ".5", "b.io/y": "2.", "c.io/z": "1E", "d.io/w": "5e-3"}, nil)},
		{"equal request and limit", res(map[string]string{"cpu": "500m"}, map[string]string{"cpu": "0.5"})},
		{"request below limit across units", res(map[string]string{"memory": "1000Mi"}, map[string]string{"memory": "1Gi"})},
		{"toleration default operator", &TaskKubernetes{Tolerations: []Toleration{{Key: "k", Value: "v"}}}},
		{"pull policies", &TaskKubernetes{ImagePullPolicy: "Never"}},
	}
	for _, tt := range valid {
		if err := tt.k.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		}
	}
	invalid := []struct {
		name string
		k    *TaskKubernetes
		want string
	}{
		{"unknown resource", res(map[string]string{"gpu": "1"}, nil), `kubernetes.resources.requests: resource "gpu"`},
		{"resource bad prefix", res(nil, map[string]string{"Example.COM/gpu": "1"}), `kubernetes.resources.limits: resource "Example.COM/gpu"`},
		{"bad hugepages", res(nil, map[string]string{"hugepages-big": "1"}), `resource "hugepages-big"`},
		{"quantity word", res(map[string]string{"cpu": "lots"}, nil), `kubernetes.resources.requests.cpu: "lots" is not a quantity`},
		{"quantity negative", res(map[string]string{"cpu": "-1"}, nil), `"-1" is not a quantity`},
		{"quantity empty", res(map[string]string{"cpu": ""}, nil), `"" is not a quantity`},
		{"quantity space", res(map[string]string{"memory": "64 Mi"}, nil), `"64 Mi" is not a quantity`},
		{"quantity bad suffix", res(map[string]string{"memory": "64MB"}, nil), `"64MB" is not a quantity`},
		{"quantity huge exponent", res(map[string]string{"memory": "1e999999999"}, nil), `is not a quantity`},
		{"quantity absurd", res(map[string]string{"memory": strings.Repeat("9", 100)}, nil), `is not a quantity`},
		{"request above limit", res(map[string]string{"cpu": "2"}, map[string]string{"cpu": "1500m"}), `requests.cpu 2 is more than limits.cpu 1500m`},
		{"service account capitals", &TaskKubernetes{ServiceAccount: "Jobs"}, `kubernetes.serviceAccount "Jobs"`},
		{"token without an account", &TaskKubernetes{ServiceAccountToken: true}, `kubernetes.serviceAccountToken: needs kubernetes.serviceAccount`},
		{"service account slash", &TaskKubernetes{ServiceAccount: "a/b"}, `kubernetes.serviceAccount "a/b"`},
		{"node selector key", &TaskKubernetes{NodeSelector: map[string]string{"bad key": "x"}}, `kubernetes.nodeSelector: label key "bad key"`},
		{"node selector prefix", &TaskKubernetes{NodeSelector: map[string]string{"Bad_Prefix/x": "y"}}, `prefix before '/'`},
		{"node selector long name", &TaskKubernetes{NodeSelector: map[string]string{strings.Repeat("a", 64): "y"}}, `label key`},
		{"node selector value", &TaskKubernetes{NodeSelector: map[string]string{"disk": "-ssd"}}, `kubernetes.nodeSelector.disk: value "-ssd"`},
		{"node selector long value", &TaskKubernetes{NodeSelector: map[string]string{"disk": strings.Repeat("a", 64)}}, `kubernetes.nodeSelector.disk`},
		{"toleration operator", &TaskKubernetes{Tolerations: []Toleration{{Key: "k", Operator: "In"}}}, `kubernetes.tolerations[0]: operator "In": want Exists or Equal`},
		{"toleration effect", &TaskKubernetes{Tolerations: []Toleration{{Operator: "Exists"}, {Key: "k", Operator: "Exists", Effect: "NoRun"}}}, `kubernetes.tolerations[1]: effect "NoRun"`},
		{"toleration exists value", &TaskKubernetes{Tolerations: []Toleration{{Key: "k", Operator: "Exists", Value: "v"}}}, `takes no value`},
		{"toleration empty key equal", &TaskKubernetes{Tolerations: []Toleration{{Value: "v"}}}, `empty key`},
		{"toleration seconds without NoExecute", &TaskKubernetes{Tolerations: []Toleration{{Key: "k", Operator: "Exists", Effect: "NoSchedule", TolerationSeconds: &secs}}}, `tolerationSeconds needs effect "NoExecute"`},
		{"toleration key", &TaskKubernetes{Tolerations: []Toleration{{Key: "a b", Operator: "Exists"}}}, `key "a b"`},
		{"pull secret", &TaskKubernetes{ImagePullSecrets: []string{"ok", "Not_OK"}}, `kubernetes.imagePullSecrets[1] "Not_OK"`},
		{"pull secret empty", &TaskKubernetes{ImagePullSecrets: []string{""}}, `kubernetes.imagePullSecrets[0] ""`},
		{"pull policy", &TaskKubernetes{ImagePullPolicy: "always"}, `kubernetes.imagePullPolicy "always": want Always, IfNotPresent or Never`},
		{"too many tolerations", &TaskKubernetes{Tolerations: make([]Toleration, 65)}, `65 tolerations, want at most 64`},
		{"too many pull secrets", &TaskKubernetes{ImagePullSecrets: make([]string, 33)}, `33 secrets`},
	}
	for _, tt := range invalid {
		err := tt.k.Validate()
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an *InvalidError containing %q", tt.name, err, tt.want)
		}
	}
	// Task.Validate checks it too.
	task := Task{Name: "t", Runner: "r", Command: "true", Kubernetes: &TaskKubernetes{ImagePullPolicy: "Sometimes"}}
	if err := task.Validate(); err == nil || !strings.Contains(err.Error(), "kubernetes.imagePullPolicy") {
		t.Errorf("Task.Validate() with a bad pull policy = %v", err)
	}
}

func TestResourceRequirementsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     *ResourceRequirements
		wantErr  string
	}{
		{"strings", `{"requests":{"cpu":"100m"},"limits":{"memory":"64Mi"}}`,
			&ResourceRequirements{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "64Mi"}}, ""},
		{"numbers as pasted from YAML", `{"requests":{"cpu":0.5,"nvidia.com/gpu":1},"limits":{"cpu":1e0}}`,
			&ResourceRequirements{Requests: map[string]string{"cpu": "0.5", "nvidia.com/gpu": "1"}, Limits: map[string]string{"cpu": "1e0"}}, ""},
		{"empty", `{}`, &ResourceRequirements{}, ""},
		{"null lists", `{"requests":null}`, &ResourceRequirements{}, ""},
		{"null", `null`, nil, ""},
		{"misspelt", `{"request":{"cpu":"1"}}`, nil, `kubernetes.resources: unknown field "request": want requests or limits`},
		{"not an object", `"1 cpu"`, nil, `kubernetes.resources: want an object`},
		{"list not an object", `{"limits":["cpu"]}`, nil, `kubernetes.resources.limits: want an object`},
		{"bool quantity", `{"limits":{"cpu":true}}`, nil, `kubernetes.resources.limits.cpu: want a quantity`},
		{"object quantity", `{"limits":{"cpu":{}}}`, nil, `kubernetes.resources.limits.cpu: want a quantity`},
	}
	for _, tt := range tests {
		var got struct {
			R *ResourceRequirements `json:"resources"`
		}
		err := json.Unmarshal([]byte(`{"resources":`+tt.in+`}`), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: Unmarshal(%s) = %v, want an error containing %q", tt.name, tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Unmarshal(%s) = %v", tt.name, tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got.R); diff != "" {
			t.Errorf("%s: Unmarshal(%s) (-want +got):\n%s", tt.name, tt.in, diff)
		}
	}
}

func TestTaskKubernetesRoundTrip(t *testing.T) {
	t.Parallel()
	in := `{"name":"t","runner":"r","command":"true","synchronous":false,"kubernetes":{"resources":{"requests":{"cpu":"100m"}},` +
		`"serviceAccount":"sa","nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":5}],` +
		`"imagePullSecrets":["regcred"],"imagePullPolicy":"Always"}}`
	var task Task
	if err := json.Unmarshal([]byte(in), &task); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("Marshal(Unmarshal(x)) =\n%s\nwant\n%s", out, in)
	}
}

func TestTaskKubernetesIsZero(t *testing.T) {
	t.Parallel()
	zero := []*TaskKubernetes{nil, {}, {Resources: &ResourceRequirements{}}, {NodeSelector: map[string]string{}}}
	for _, k := range zero {
		if !k.IsZero() {
			t.Errorf("(%+v).IsZero() = false, want true", k)
		}
	}
	nonZero := []*TaskKubernetes{{ServiceAccount: "x"}, {Resources: &ResourceRequirements{Limits: map[string]string{"cpu": "1"}}},
		{Tolerations: []Toleration{{Operator: "Exists"}}}, {ImagePullSecrets: []string{"x"}}, {ImagePullPolicy: "Never"},
		{NodeSelector: map[string]string{"a": "b"}}}
	for _, k := range nonZero {
		if k.IsZero() {
			t.Errorf("(%+v).IsZero() = true, want false", k)
		}
	}
}
