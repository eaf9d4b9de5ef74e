package controller_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/platform/schedule"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store/sqlite"
	"github.com/runplane/runplane/internal/testlog"
)

// The embedded mode with containers: podman runs the pipeline's containers of the test image, at Kratix's own
// paths (/kratix/input/object.yaml, /kratix/output, /kratix/metadata); the request's files land in a git state
// store and go on delete.
func TestRequestLifecyclePodman(t *testing.T) {
	e := newPodmanEnv(t, true)
	ctl, _ := e.controller(t, controller.Options{})
	render := api.Pipeline{APIVersion: kratix.PromiseAPIVersion, Kind: "Pipeline", Metadata: api.PipelineMetadata{Name: "render"},
		Spec: api.PipelineSpec{Containers: []api.PipelineContainer{{Name: "render", Image: podmantest.Image,
			Command: []string{"sh", "-c", `set -e
grep -q '^  name: web$' /kratix/input/object.yaml
printf 'kind: Deployment\nname: %s\n' "$KRATIX_OBJECT_NAME" > /kratix/output/deployment.yaml
printf 'endpoint: web.team-a:6379\n' > /kratix/metadata/status.yaml`}}}}}
	teardown := api.Pipeline{APIVersion: kratix.PromiseAPIVersion, Kind: "Pipeline", Metadata: api.PipelineMetadata{Name: "teardown"},
		Spec: api.PipelineSpec{Containers: []api.PipelineContainer{{Name: "teardown", Image: podmantest.Image,
			Command: []string{"sh", "-c", `test "$KRATIX_WORKFLOW_ACTION" = delete`}}}}}
	p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}, Delete: []api.Pipeline{teardown}}})
	e.request(t, ctl, p, "web", `{}`, nil)
	status := e.waitFor(t, "web", "configure completes", completed)
	if status["endpoint"] != "web.team-a:6379" {
		t.Errorf("endpoint = %v, want the pipeline's", status["endpoint"])
	}
	path := "dev/resources/team-a/cache/web/render/" + schedule.ShortID(schedule.GroupID(".")) + "/deployment.yaml"
	if got := e.files_(t)[path]; got != "kind: Deployment\nname: web\n" {
		t.Errorf("%s = %q; state store %v", path, got, keys(e.files_(t)))
	}
	r, _, _ := e.get(t, "web")
	if err := ctl.ReconcileRequest(t.Context(), httpapi.ChangeDeleting, p, r); !errors.Is(err, httpapi.ErrDeleteDeferred) {
		t.Fatalf("deleting: %v", err)
	}
	e.waitFor(t, "web", "the request is removed", gone)
	if files := e.files_(t); len(files) != 0 {
		t.Errorf("after delete the state store holds %v", keys(files))
	}
}

// newPodmanEnv is newEnv with podman running the pipelines' containers (of podmantest's image), removed when
// the test ends.
func newPodmanEnv(t testing.TB, git bool) *env {
	t.Helper()
	podmantest.BuildImage(t)
	dir := t.TempDir()
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	return newEnvOver(t, dir, st, git, func(work string, src *gitsource.Cache) (executor.Executor, error) {
		var err error
		ex, err = podman.New(podman.Options{WorkDir: work, Git: src, Labels: map[string]string{label: mark}, Logger: testlog.New(t)})
		return ex, err
	})
}
