package runs_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/testlog"
)

// newPodmanEnv is the env with the podman executor (the embedded mode's container isolation) and the test image.
func newPodmanEnv(t *testing.T) *env {
	t.Helper()
	podmantest.BuildImage(t)
	const label = "runplane.dev/test"
	var b [6]byte
	_, _ = rand.Read(b[:])
	mark := hex.EncodeToString(b[:])
	var ex *podman.Executor
	t.Cleanup(func() {
		podmantest.RemoveLabelled(t, label, mark)
		if ex != nil {
			_ = ex.Close()
		}
	})
	return newEnvWith(t, func(dir string, git *gitsource.Cache) (executor.Executor, error) {
		var err error
		ex, err = podman.New(podman.Options{WorkDir: dir, Git: git, Labels: map[string]string{label: mark}, Logger: testlog.New(t)})
		return ex, err
	})
}

// The same two pipelines as TestKratixWorkflow, in containers of the test image, at Kratix's own paths.
func podmanPipelines() []api.Pipeline {
	return []api.Pipeline{
		{
			APIVersion: "platform.kratix.io/v1alpha1", Kind: "Pipeline",
			Metadata: api.PipelineMetadata{Name: "render"},
			Spec: api.PipelineSpec{Containers: []api.PipelineContainer{
				{Name: "read", Image: podmantest.Image, Command: []string{"sh", "-c", `set -e
grep -q '^  name: team-a-cache$' /kratix/input/object.yaml
test "$KRATIX_OBJECT_NAME/$KRATIX_PIPELINE_NAME" = team-a-cache/render
mkdir -p /kratix/output/app
printf 'kind: Deployment\nname: %s\nsize: %s\n' "$KRATIX_OBJECT_NAME" "$(sed -n 's/^  size: //p' /kratix/input/object.yaml)" > /kratix/output/app/deployment.yaml
printf 'endpoint: cache.team-a:6379\nconditions:\n- {type: Ready, status: "False", reason: Provisioning}\n' > /kratix/metadata/status.yaml
`}},
				{Name: "select", Image: podmantest.Image, Command: []string{"sh", "-c", `set -e
test -f /kratix/output/app/deployment.yaml
printf -- '- matchLabels: {environment: dev}\n' > /kratix/metadata/destination-selectors.yaml
`}},
			}},
		},
		{
			APIVersion: "platform.kratix.io/v1alpha1", Kind: "Pipeline",
			Metadata: api.PipelineMetadata{Name: "notify"},
			Spec: api.PipelineSpec{Containers: []api.PipelineContainer{
				{Name: "notify", Image: podmantest.Image, Command: []string{"sh", "-c", `set -e
test "$KRATIX_PIPELINE_NAME" = notify
echo notified > /kratix/output/notify.txt
printf 'conditions:\n- {type: Ready, status: "True", reason: Provisioned}\n' > /kratix/metadata/status.yaml
`}},
			}},
		},
	}
}

// TestKratixWorkflowPodman: with podman, each pipeline's containers run in order in one job, sharing
// /kratix/input, /kratix/output and /kratix/metadata; what they wrote is kept with the job, and the status merges.
func TestKratixWorkflowPodman(t *testing.T) {
	e := newPodmanEnv(t)
	r := e.addEngine(t, engineOpts{})
	ps := podmanPipelines()
	names := kratix.Names(ps)
	status := kratix.ResetPipelines(map[string]any{"message": "Pending"}, kratixTarget, names, now())
	w, err := kratix.Build(kratix.Input{Name: "kratix-cache-team-a-cache-configure", Target: kratixTarget,
		Object: kratixRequest(status), Pipelines: ps})
	if err != nil {
		t.Fatal(err)
	}
	run := runKratix(t, e, r, w)
	render, notify := step(t, run, "render"), step(t, run, "notify")
	if got := kept(t, e, render.Job, "app/deployment.yaml"); got != "kind: Deployment\nname: team-a-cache\nsize: small\n" {
		t.Errorf("render's app/deployment.yaml = %q", got)
	}
	if got := kept(t, e, notify.Job, "notify.txt"); got != "notified\n" {
		t.Errorf("notify's notify.txt = %q", got)
	}
	status = run1(t, e, status, render.Job, 0)
	job, _ := e.st.GetJob(t.Context(), render.Job)
	if sel := string(job.Metadata.DestinationSelectors); sel != `[{"matchLabels":{"environment":"dev"}}]` {
		t.Errorf("render's destination-selectors.yaml = %s", sel)
	}
	status = run1(t, e, status, notify.Job, 1)
	if status["message"] != "Resource requested" || status["endpoint"] != "cache.team-a:6379" {
		t.Errorf("status = %v, want the endpoint render set and the workflow completed", status)
	}
	if c, _ := kratix.FindCondition(status, "Ready"); c.Status != "True" {
		t.Errorf("Ready = %+v, want True from notify's status.yaml", c)
	}
}
