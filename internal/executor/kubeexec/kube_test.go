package kubeexec_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/testlog"
)

// The tests of this package run against a real cluster (kubetest.Need): hack/test-kube.sh (make test-kube) brings
// one up.
type cluster struct{ *kubetest.Cluster }

func needCluster(t *testing.T) cluster { return cluster{kubetest.Need(t)} }

// newExecutor returns a running executor in ns; it stops when the test ends.
func (c cluster) newExecutor(t testing.TB, ns string, tweak func(*kubeexec.Options)) *kubeexec.Executor {
	t.Helper()
	git, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitsource.Options{Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := kubeexec.Options{
		Client: c.Exec, Namespace: ns, JobImage: c.Image, Heads: git, Logger: testlog.New(t),
		StopGrace: 5 * time.Second,
	}
	if tweak != nil {
		tweak(&opts)
	}
	ex, err := kubeexec.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ex.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ex
}

// repo publishes branches over smart HTTP where pods can fetch them.
func (c cluster) repo(t *testing.T, branches map[string]map[string]string) executor.Repo {
	t.Helper()
	bare := gittest.NewRepo(t, branches["main"])
	for b, files := range branches {
		if b != "main" {
			gittest.CommitBranch(t, bare, b, files)
		}
	}
	return executor.Repo{URL: gittest.ServeHTTPAt(t, c.HostIP, bare, "", "")}
}

// kubernetesEnv is what Kubernetes adds to every container's environment (enableServiceLinks is off, so only
// the API server's service).
var kubernetesEnv = []string{
	"HOSTNAME", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBERNETES_SERVICE_PORT_HTTPS",
	"KUBERNETES_PORT", "KUBERNETES_PORT_443_TCP", "KUBERNETES_PORT_443_TCP_PROTO", "KUBERNETES_PORT_443_TCP_PORT",
	"KUBERNETES_PORT_443_TCP_ADDR",
}

func TestConformance(t *testing.T) {
	c := needCluster(t)
	executortest.Run(t, executortest.Config{
		New: func(t *testing.T) executor.Executor {
			return c.newExecutor(t, c.Namespace(t), nil)
		},
		Repo:     c.repo,
		AllowEnv: kubernetesEnv,
		Image:    c.Busybox,
		Timeout:  2 * time.Minute,
		// The pod ends at a failing container, before the one that keeps the files: they are lost, with a warning.
		LosesFailedFiles: true,
	})
}

// newExecutorCtx is newExecutor running until ctx ends (a server that goes away mid-test).
func (c cluster) newExecutorCtx(t testing.TB, ctx context.Context, ns string) *kubeexec.Executor {
	t.Helper()
	git, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitsource.Options{Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := kubeexec.New(kubeexec.Options{Client: c.Exec, Namespace: ns, JobImage: c.Image, Heads: git, Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ex.Run(ctx) }()
	t.Cleanup(func() { <-done })
	return ex
}

// exec runs command in the job container of the pod of Job job with kubectl.
func (c cluster) exec(t testing.TB, ns, job, command string) {
	t.Helper()
	c.execIn(t, ns, job, "job", command)
}

// execIn runs command in container of the pod of Job job with kubectl.
func (c cluster) execIn(t testing.TB, ns, job, container, command string) {
	t.Helper()
	if c.Kubectl == "" {
		t.Fatal("RUNPLANE_KUBECTL is not set")
	}
	out, err := exec.Command(c.Kubectl, "-n", ns, "exec", "job/"+job, "-c", container, "--", "sh", "-c", command).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl exec: %v: %s", err, out)
	}
}

// onlyImage allows one image.
type onlyImage string

func (o onlyImage) Check(image string) error {
	if image != string(o) {
		return fmt.Errorf("image %q is not allowed: allowed images are %s", image, string(o))
	}
	return nil
}
