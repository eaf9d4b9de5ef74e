package jobs

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/store"
)

func TestPrepare(t *testing.T) {
	t.Parallel()
	own := &api.TaskResources{
		Requests: map[string]string{"cpu": "100m"},
		Limits:   map[string]string{"cpu": "500m", "memory": "64Mi", "pids": "100"},
	}
	kubeRes := &api.ResourceRequirements{Limits: map[string]string{"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"}}
	tests := []struct {
		name        string
		task        api.Task
		wantLimits  executor.Limits
		wantKube    *api.TaskKubernetes
		wantTimeout time.Duration
	}{
		{"nothing set: the default timeout", api.Task{}, executor.Limits{}, nil, time.Hour},
		{"own timeout wins", api.Task{Timeout: api.Duration(time.Minute)}, executor.Limits{}, nil, time.Minute},
		{"resources limit and size the pod, without pids", api.Task{Resources: own},
			executor.Limits{CPU: 500, Memory: 64 << 20, Pids: 100},
			&api.TaskKubernetes{Resources: &api.ResourceRequirements{
				Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"cpu": "500m", "memory": "64Mi"}}},
			time.Hour},
		{"resources join other kubernetes settings", api.Task{Resources: own, Kubernetes: &api.TaskKubernetes{ImagePullPolicy: "Never"}},
			executor.Limits{CPU: 500, Memory: 64 << 20, Pids: 100},
			&api.TaskKubernetes{ImagePullPolicy: "Never", Resources: &api.ResourceRequirements{
				Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"cpu": "500m", "memory": "64Mi"}}},
			time.Hour},
		{"kubernetes resources limit locally too", api.Task{Kubernetes: &api.TaskKubernetes{Resources: kubeRes}},
			executor.Limits{CPU: 2000, Memory: 1 << 30}, &api.TaskKubernetes{Resources: kubeRes}, time.Hour},
		{"kubernetes resources stay the pod's", api.Task{Resources: own, Kubernetes: &api.TaskKubernetes{Resources: kubeRes}},
			executor.Limits{CPU: 500, Memory: 64 << 20, Pids: 100}, &api.TaskKubernetes{Resources: kubeRes}, time.Hour},
		{"pids only: nothing for the pod", api.Task{Resources: &api.TaskResources{Limits: map[string]string{"pids": "10"}}},
			executor.Limits{Pids: 10}, nil, time.Hour},
	}
	e := New(nil, nil, nil, Options{DefaultTimeout: time.Hour})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.task.Name, tt.task.Command = "t", "true"
			spec := e.prepare(store.Job{Job: api.Job{ID: "t-aaaaa", Owner: "alice"}}, tt.task, api.Runner{Name: "r"}, nil)
			if spec.Limits != tt.wantLimits {
				t.Errorf("Limits = %+v, want %+v", spec.Limits, tt.wantLimits)
			}
			if diff := cmp.Diff(tt.wantKube, spec.Kubernetes); diff != "" {
				t.Errorf("Kubernetes (-want +got):\n%s", diff)
			}
			if spec.Timeout != tt.wantTimeout {
				t.Errorf("Timeout = %v, want %v", spec.Timeout, tt.wantTimeout)
			}
		})
	}
	// The task is not changed: its stored settings are not the pod's.
	task := api.Task{Resources: own, Kubernetes: &api.TaskKubernetes{ImagePullPolicy: "Never"}}
	e.prepare(store.Job{}, task, api.Runner{}, nil)
	if task.Kubernetes.Resources != nil {
		t.Errorf("prepare changed the task's kubernetes settings: %+v", task.Kubernetes)
	}
	if got := New(nil, nil, nil, Options{}).prepare(store.Job{}, api.Task{}, api.Runner{}, nil).Timeout; got != 0 {
		t.Errorf("Timeout without a default = %v, want 0 (none)", got)
	}
}

// TestPrepareNetworkAndPullSecret: the task's network and the runner's image pull secret reach the executor, and
// the pull secret's credentials are masked in the job's log.
func TestPrepareNetworkAndPullSecret(t *testing.T) {
	t.Parallel()
	const pull = `{"auths":{"r.example":{"auth":"dXNlcjpwcmVwLXB3LTkx"}}}`
	e := New(nil, nil, nil, Options{})
	runner := api.Runner{Name: "r", Image: "r.example/img:1", ImagePullSecret: pull}
	spec := e.prepare(store.Job{}, api.Task{Name: "t", Command: "true", Network: api.NetworkHost}, runner, nil)
	if spec.Network != api.NetworkHost || spec.PullSecret != pull {
		t.Errorf("Spec.Network %q, PullSecret %q; want %q, the runner's", spec.Network, spec.PullSecret, api.NetworkHost)
	}
	masked := secretValues(runner)
	for _, v := range []string{"dXNlcjpwcmVwLXB3LTkx", "prep-pw-91"} {
		if !slices.Contains(masked, v) {
			t.Errorf("secretValues(runner) = %q, lacks %q", masked, v)
		}
	}
}
