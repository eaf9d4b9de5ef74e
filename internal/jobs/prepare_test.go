package jobs

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/jobfiles"
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
			spec := mustPrepare(t, e, store.Job{Job: api.Job{ID: "t-aaaaa", Owner: "alice"}}, tt.task, api.Runner{Name: "r"})
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
	mustPrepare(t, e, store.Job{}, task, api.Runner{})
	if task.Kubernetes.Resources != nil {
		t.Errorf("prepare changed the task's kubernetes settings: %+v", task.Kubernetes)
	}
	if got := mustPrepare(t, New(nil, nil, nil, Options{}), store.Job{}, api.Task{}, api.Runner{}).Timeout; got != 0 {
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
	spec := mustPrepare(t, e, store.Job{}, api.Task{Name: "t", Command: "true", Network: api.NetworkHost}, runner)
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

func mustPrepare(t *testing.T, e *Engine, job store.Job, task api.Task, runner api.Runner) executor.Spec {
	t.Helper()
	spec, _, err := e.prepare(t.Context(), job, task, runner, nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return spec
}

// TestPrepareContainersAndStep: a task's containers reach the executor with a directory to keep their files in,
// and a workflow step's job gets the step's environment and secrets on top of its runner's, without changing the
// runner's map.
func TestPrepareContainersAndStep(t *testing.T) {
	t.Parallel()
	files, err := jobfiles.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var asked store.Job
	e := New(nil, nil, nil, Options{Files: files, StepEnv: func(_ context.Context, job store.Job) (Step, error) {
		asked = job
		return Step{Env: []string{"RUNPLANE_METADATA_URL=http://127.0.0.1:1/api/v1/metadata"},
			Secrets: map[string]string{"RUNPLANE_STEP_TOKEN": "tok"}, Masks: []string{"sensitive-output"}}, nil
	}})
	containers := []api.Container{{Name: "a", Image: "busybox", Command: []string{"true"}}}
	runner := api.Runner{Name: "r", Secret: map[string]string{"DB": "pw"}}
	job := store.Job{Job: api.Job{ID: "s-aaaaa", Run: "w-bbbbb", Step: "s"}}
	spec := mustPrepare(t, e, job, api.Task{Name: "s", Containers: containers}, runner)
	if diff := cmp.Diff(containers, spec.Containers); diff != "" {
		t.Errorf("Containers (-want +got):\n%s", diff)
	}
	if spec.Keep == "" {
		t.Error("Keep is empty for a job with containers")
	} else if info, err := os.Stat(spec.Keep); err != nil || !info.IsDir() {
		t.Errorf("Keep %s is not a directory: %v", spec.Keep, err)
	}
	if asked.ID != job.ID {
		t.Errorf("StepEnv asked for job %q, want %q", asked.ID, job.ID)
	}
	if diff := cmp.Diff(map[string]string{"DB": "pw", "RUNPLANE_STEP_TOKEN": "tok"}, spec.Secrets); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
	if len(runner.Secret) != 1 {
		t.Errorf("prepare changed the runner's secrets: %v", runner.Secret)
	}
	_, masks, _ := e.prepare(t.Context(), job, api.Task{Name: "s", Containers: containers}, runner, nil)
	for _, v := range []string{"pw", "tok", "sensitive-output"} {
		if !slices.Contains(masks, v) {
			t.Errorf("masks %q lack %q", masks, v)
		}
	}
	if !slices.Contains(spec.Env(), "RUNPLANE_METADATA_URL=http://127.0.0.1:1/api/v1/metadata") {
		t.Errorf("Env() = %q, lacks the step's metadata URL", spec.Env())
	}

	// A job that is not a step gets nothing of StepEnv, and a command task keeps no files.
	asked = store.Job{}
	spec = mustPrepare(t, e, store.Job{Job: api.Job{ID: "t-ccccc"}}, api.Task{Name: "t", Command: "true"}, runner)
	if asked.ID != "" || spec.Keep != "" || len(spec.Secrets) != 1 {
		t.Errorf("plain job: StepEnv asked for %q, Keep %q, Secrets %v; want none, none, the runner's", asked.ID, spec.Keep, spec.Secrets)
	}

	// A step whose environment cannot be made does not start.
	e.opts.StepEnv = func(context.Context, store.Job) (Step, error) {
		return Step{}, errors.New("run is gone")
	}
	if _, _, err := e.prepare(t.Context(), job, api.Task{Name: "s", Containers: containers}, runner, nil); err == nil || !strings.Contains(err.Error(), "run is gone") {
		t.Errorf("prepare with a failing StepEnv: err = %v, want it", err)
	}
}
