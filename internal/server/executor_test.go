package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/testlog"
)

// TestExecutorDefaults: the Kubernetes executor runs more jobs at once by default than the local one, whose jobs
// share this machine's CPUs; a kubeconfig is read without reaching the cluster.
func TestExecutorDefaults(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: jobs-here}}]
current-context: x
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	local, err := openExecutor(Config{}, dir, nil, nil, testlog.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if local.maxJobs != 0 {
		t.Errorf("local executor's default concurrency = %d, want 0 (the engine's, by CPUs)", local.maxJobs)
	}
	kube, err := openExecutor(Config{Executor: ExecutorKubernetes, Kubeconfig: kubeconfig, JobImage: "runplane:1"}, dir, nil, nil, testlog.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if kube.maxJobs != kubeMaxJobs {
		t.Errorf("Kubernetes executor's default concurrency = %d, want %d", kube.maxJobs, kubeMaxJobs)
	}
	if !strings.Contains(fmt.Sprint(kube.attr), "jobs-here") {
		t.Errorf("Kubernetes executor attrs %v; want the kubeconfig's namespace", kube.attr)
	}
	if _, err := openExecutor(Config{Executor: ExecutorKubernetes, Kubeconfig: filepath.Join(dir, "missing")}, dir, nil, nil, testlog.New(t)); err == nil || !strings.Contains(err.Error(), "--job-image") {
		t.Errorf("Kubernetes executor without a job image: %v; want an error naming --job-image", err)
	}
	if _, err := openExecutor(Config{Executor: ExecutorKubernetes, Kubeconfig: filepath.Join(dir, "missing"), JobImage: "runplane:1"}, dir, nil, nil, testlog.New(t)); err == nil {
		t.Error("Kubernetes executor with a kubeconfig that does not exist: no error")
	}
	if _, err := openExecutor(Config{Executor: "docker"}, dir, nil, nil, testlog.New(t)); err == nil || !strings.Contains(err.Error(), `"docker"`) {
		t.Errorf("unknown executor: %v; want an error naming it", err)
	}
}
