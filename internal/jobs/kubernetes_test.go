package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobs"
)

// TestSubmitImageAllowlist: a job whose runner names an image outside the allowlist, or none, is refused at
// submission (the runner may predate the list) and nothing is queued; other jobs are accepted.
func TestSubmitImageAllowlist(t *testing.T) {
	list, err := imagepolicy.Parse([]string{"docker.io/library/*"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, jobs.Options{Images: list}, nil)
	for _, r := range []api.Runner{
		{Name: "allowed", GitURL: e.repo, Image: "busybox:1.36"},
		{Name: "evil", GitURL: e.repo, Image: "evil.io/x:1", Token: "tok-secret"},
	} {
		if err := e.st.CreateRunner(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	e.task(t, api.Task{Name: "allowed", Runner: "allowed", Command: "true"})
	e.task(t, api.Task{Name: "evil", Runner: "evil", Command: "true"})
	e.task(t, api.Task{Name: "no-image", Runner: "r", Command: "true"})
	e.task(t, api.Task{Name: "orphan", Runner: "gone", Command: "true"})

	refused := map[string]string{
		"evil":     `image "evil.io/x:1" is not allowed: allowed images are docker.io/library/*`,
		"no-image": `an empty image is not allowed: allowed images are docker.io/library/*`,
	}
	for task, want := range refused {
		_, err := e.eng.Submit(t.Context(), jobs.Request{Task: task, Owner: "a"})
		var na *imagepolicy.NotAllowedError
		if !errors.Is(err, imagepolicy.ErrNotAllowed) || !errors.As(err, &na) || na.Error() != want {
			t.Errorf("Submit(%s) = %v, want a *imagepolicy.NotAllowedError saying %q", task, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "tok-secret") || strings.Contains(err.Error(), "s3cr3t")) {
			t.Errorf("Submit(%s) error %q repeats a secret", task, err)
		}
	}
	if n, err := e.st.CountJobs(t.Context(), api.JobQueued); err != nil || n != 0 {
		t.Errorf("queued jobs after refused submissions = %d, %v; want 0", n, err)
	}
	// A runner that is gone fails the job when it starts, as it does without a list.
	for _, task := range []string{"allowed", "orphan"} {
		if _, err := e.eng.Submit(t.Context(), jobs.Request{Task: task, Owner: "a"}); err != nil {
			t.Errorf("Submit(%s) = %v, want accepted", task, err)
		}
	}
}

// recording is an executor that remembers the specs it starts.
type recording struct {
	executor.Executor
	specs chan executor.Spec
}

func (r recording) Start(ctx context.Context, spec executor.Spec) (executor.Handle, error) {
	r.specs <- spec
	return r.Executor.Start(ctx, spec)
}

// TestSpecCarriesKubernetes: the executor receives the task's Kubernetes settings.
func TestSpecCarriesKubernetes(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	rec := recording{Executor: e.ex, specs: make(chan executor.Spec, 2)}
	e.eng = jobs.New(e.st, rec, e.logs, jobs.Options{})
	k := &api.TaskKubernetes{
		Resources:    &api.ResourceRequirements{Requests: map[string]string{"cpu": "100m"}},
		NodeSelector: map[string]string{"disk": "ssd"}, ImagePullPolicy: "Never",
	}
	e.task(t, api.Task{Name: "placed", Command: "true", Kubernetes: k})
	e.task(t, api.Task{Name: "plain", Command: "true"})
	e.start(t)
	for _, tc := range []struct {
		task string
		want *api.TaskKubernetes
	}{{"placed", k}, {"plain", nil}} {
		if j := e.run(t, tc.task, ""); j.Status != api.JobSucceeded {
			t.Fatalf("job of %s = %s (%s), want succeeded", tc.task, j.Status, j.Reason)
		}
		spec := <-rec.specs
		if diff := cmp.Diff(tc.want, spec.Kubernetes); diff != "" {
			t.Errorf("Spec.Kubernetes of task %s (-want +got):\n%s", tc.task, diff)
		}
	}
}
