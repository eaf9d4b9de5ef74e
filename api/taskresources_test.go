package api

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTaskResourcesValidate(t *testing.T) {
	t.Parallel()
	res := func(req, lim map[string]string) *TaskResources {
		return &TaskResources{Requests: req, Limits: lim}
	}
	tests := []struct {
		name string
		r    *TaskResources
		want string // "" means valid
	}{
		{"nil", nil, ""},
		{"empty", &TaskResources{}, ""},
		{"all three", res(map[string]string{"cpu": "100m", "memory": "32Mi"}, map[string]string{"cpu": "0.5", "memory": "64Mi", "pids": "128"}), ""},
		{"requests only", res(map[string]string{"cpu": "1"}, nil), ""},
		{"tiny cpu", res(nil, map[string]string{"cpu": "1u"}), ""},
		{"unknown resource", res(nil, map[string]string{"ephemeral-storage": "1Gi"}), `resources.limits: resource "ephemeral-storage": want cpu, memory or pids`},
		{"extended resource", res(map[string]string{"nvidia.com/gpu": "1"}, nil), `resources.requests: resource "nvidia.com/gpu"`},
		{"bad quantity", res(nil, map[string]string{"memory": "64MB"}), `resources.limits.memory: "64MB" is not a quantity`},
		{"negative", res(nil, map[string]string{"cpu": "-1"}), `resources.limits.cpu: "-1" is not a quantity`},
		{"request above limit", res(map[string]string{"memory": "2Gi"}, map[string]string{"memory": "1Gi"}), `resources: requests.memory 2Gi is more than limits.memory 1Gi`},
		{"zero limit", res(nil, map[string]string{"memory": "0"}), `resources.limits.memory: must be more than 0`},
		{"zero pids", res(nil, map[string]string{"pids": "0"}), `resources.limits.pids: must be more than 0`},
		{"pids with suffix", res(nil, map[string]string{"pids": "1k"}), `resources.limits.pids: "1k" is not a whole number`},
		{"pids fraction", res(nil, map[string]string{"pids": "1.5"}), `resources.limits.pids: "1.5" is not a whole number`},
		{"pids exponent", res(nil, map[string]string{"pids": "1e3"}), `resources.limits.pids: "1e3" is not a whole number`},
		{"pids request", res(map[string]string{"pids": "10"}, map[string]string{"pids": "10"}), `resources.requests.pids: pids is a limit only`},
		{"memory too large", res(nil, map[string]string{"memory": "99E"}), `resources.limits.memory: "99E" is too large`},
		{"cpu too large", res(nil, map[string]string{"cpu": "1e99"}), `resources.limits.cpu: "1e99" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.r.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an *InvalidError containing %q", err, tt.want)
			}
		})
	}
	// Task.Validate checks them too.
	task := Task{Name: "t", Runner: "r", Command: "true", Resources: res(nil, map[string]string{"pids": "many"})}
	if err := task.Validate(); err == nil || !strings.Contains(err.Error(), "resources.limits.pids") {
		t.Errorf("Task.Validate() with bad pids = %v", err)
	}
}

func TestTaskResourcesJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     *TaskResources
		wantErr  string
	}{
		{"strings", `{"requests":{"cpu":"100m"},"limits":{"memory":"64Mi","pids":"100"}}`,
			&TaskResources{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "64Mi", "pids": "100"}}, ""},
		{"numbers", `{"limits":{"cpu":0.5,"pids":64}}`, &TaskResources{Limits: map[string]string{"cpu": "0.5", "pids": "64"}}, ""},
		{"null", `null`, nil, ""},
		{"misspelt", `{"limit":{"cpu":"1"}}`, nil, `resources: unknown field "limit": want requests or limits`},
		{"not an object", `[]`, nil, `resources: want an object`},
		{"bool quantity", `{"limits":{"pids":true}}`, nil, `resources.limits.pids: want a quantity`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var task Task
			err := json.Unmarshal([]byte(`{"resources":`+tt.in+`}`), &task)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "kubernetes.") {
					t.Errorf("Unmarshal(%s) = %v, want an error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, task.Resources); diff != "" {
				t.Errorf("Unmarshal(%s) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	// Written back as read.
	in := `{"name":"t","runner":"r","command":"true","synchronous":false,"resources":{"requests":{"cpu":"100m"},"limits":{"memory":"1Gi","pids":"50"}}}`
	var task Task
	if err := json.Unmarshal([]byte(in), &task); err != nil {
		t.Fatal(err)
	}
	if out, err := json.Marshal(task); err != nil || string(out) != in {
		t.Errorf("Marshal(Unmarshal(x)) = %s, %v; want %s", out, err, in)
	}
}

func TestLimitValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, resource, q string
		want              int64
	}{
		{"whole cpu", "cpu", "2", 2000},
		{"millicores", "cpu", "250m", 250},
		{"fraction", "cpu", "0.5", 500},
		{"micro cpu rounds up", "cpu", "1u", 1},
		{"number form", "cpu", "1e0", 1000},
		{"binary memory", "memory", "64Mi", 64 << 20},
		{"decimal memory", "memory", "1G", 1_000_000_000},
		{"fractional bytes round up", "memory", "1.5", 2},
		{"milli bytes round up", "memory", "1m", 1},
		{"pids", "pids", "128", 128},
		{"huge clamps", "memory", "99E", math.MaxInt64},
		{"not a quantity", "memory", "lots", 0},
		{"absent", "cpu", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &ResourceRequirements{Limits: map[string]string{}}
			if tt.q != "" {
				r.Limits[tt.resource] = tt.q
			}
			if got := r.LimitValue(tt.resource); got != tt.want {
				t.Errorf("LimitValue(%s=%q) = %d, want %d", tt.resource, tt.q, got, tt.want)
			}
		})
	}
	var none *ResourceRequirements
	if got := none.LimitValue("cpu"); got != 0 {
		t.Errorf("nil LimitValue(cpu) = %d, want 0", got)
	}
}

func TestEffectiveLimits(t *testing.T) {
	t.Parallel()
	own := map[string]string{"memory": "64Mi"}
	kube := map[string]string{"cpu": "1"}
	tests := []struct {
		name string
		task Task
		want *ResourceRequirements
	}{
		{"none", Task{}, nil},
		{"own", Task{Resources: &TaskResources{Limits: own}}, &ResourceRequirements{Limits: own}},
		{"kubernetes fallback", Task{Kubernetes: &TaskKubernetes{Resources: &ResourceRequirements{Limits: kube}}}, &ResourceRequirements{Limits: kube}},
		{"own wins", Task{Resources: &TaskResources{Limits: own}, Kubernetes: &TaskKubernetes{Resources: &ResourceRequirements{Limits: kube}}}, &ResourceRequirements{Limits: own}},
		{"empty own falls back", Task{Resources: &TaskResources{}, Kubernetes: &TaskKubernetes{Resources: &ResourceRequirements{Limits: kube}}}, &ResourceRequirements{Limits: kube}},
		{"kubernetes without resources", Task{Kubernetes: &TaskKubernetes{ServiceAccount: "sa"}}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.task.EffectiveLimits()); diff != "" {
			t.Errorf("%s: EffectiveLimits() (-want +got):\n%s", tt.name, diff)
		}
	}
}
