package kubeexec_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// The tests of this package run against a real cluster: hack/test-kube.sh (make test-kube) brings one up and sets
// RUNPLANE_KUBE_TEST=1, KUBECONFIG, the images and the address pods reach this host at.
type cluster struct {
	client   kubernetes.Interface
	image    string // runplane's image, for the init container
	busybox  string // a runner image with sh
	hostIP   string // where pods reach servers on this host
	kubectl  string
	testName string
}

func needCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("RUNPLANE_KUBE_TEST") != "1" {
		t.Skip("needs a Kubernetes cluster: run make test-kube (hack/test-kube.sh)")
	}
	c := &cluster{
		image:   os.Getenv("RUNPLANE_KUBE_IMAGE"),
		busybox: os.Getenv("RUNPLANE_KUBE_BUSYBOX"),
		hostIP:  os.Getenv("RUNPLANE_KUBE_HOST_IP"),
		kubectl: os.Getenv("RUNPLANE_KUBECTL"),
	}
	if c.image == "" || c.busybox == "" || c.hostIP == "" {
		t.Fatal("RUNPLANE_KUBE_IMAGE, RUNPLANE_KUBE_BUSYBOX and RUNPLANE_KUBE_HOST_IP must be set with RUNPLANE_KUBE_TEST=1")
	}
	client, _, err := kubeexec.Connect("")
	if err != nil {
		t.Fatal(err)
	}
	c.client = client
	return c
}

// namespace creates a fresh namespace, deleted when the test ends.
func (c *cluster) namespace(t testing.TB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	ns := "rp-test-" + hex.EncodeToString(b[:])
	_, err := c.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		c.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	// Pods need the namespace's default service account to exist.
	waitFor(t, 30*time.Second, "the default service account of "+ns, func() bool {
		_, err := c.client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil
	})
	return ns
}

// newExecutor returns a running executor in ns; it stops when the test ends.
func (c *cluster) newExecutor(t testing.TB, ns string, tweak func(*kubeexec.Options)) *kubeexec.Executor {
	t.Helper()
	git, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitsource.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := kubeexec.Options{
		Client: c.client, Namespace: ns, JobImage: c.image, Heads: git, Logger: testLogger(t),
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
func (c *cluster) repo(t *testing.T, branches map[string]map[string]string) executor.Repo {
	t.Helper()
	bare := gittest.NewRepo(t, branches["main"])
	for b, files := range branches {
		if b != "main" {
			gittest.CommitBranch(t, bare, b, files)
		}
	}
	return executor.Repo{URL: gittest.ServeHTTPAt(t, c.hostIP, bare, "", "")}
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
			return c.newExecutor(t, c.namespace(t), nil)
		},
		Repo:     c.repo,
		AllowEnv: kubernetesEnv,
		Image:    c.busybox,
		Timeout:  2 * time.Minute,
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newExecutorCtx is newExecutor running until ctx ends (a server that goes away mid-test).
func (c *cluster) newExecutorCtx(t testing.TB, ctx context.Context, ns string) *kubeexec.Executor {
	t.Helper()
	git, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitsource.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := kubeexec.New(kubeexec.Options{Client: c.client, Namespace: ns, JobImage: c.image, Heads: git, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ex.Run(ctx) }()
	t.Cleanup(func() { <-done })
	return ex
}

// exec runs command in the job container of the pod of Job job with kubectl.
func (c *cluster) exec(t testing.TB, ns, job, command string) {
	t.Helper()
	if c.kubectl == "" {
		t.Fatal("RUNPLANE_KUBECTL is not set")
	}
	out, err := exec.Command(c.kubectl, "-n", ns, "exec", "job/"+job, "-c", "job", "--", "sh", "-c", command).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl exec: %v: %s", err, out)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// onlyImage allows one image.
type onlyImage string

func (o onlyImage) Check(image string) error {
	if image != string(o) {
		return fmt.Errorf("image %q is not allowed: allowed images are %s", image, string(o))
	}
	return nil
}
