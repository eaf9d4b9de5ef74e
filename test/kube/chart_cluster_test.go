package kube_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
)

// What TestChartInstall needs of the cluster beyond the chart: a volume for its claim, a way in, and a
// post-mortem when something fails.

// needKubectl returns $RUNPLANE_KUBECTL, else the kubectl on PATH.
func needKubectl(t testing.TB) string {
	t.Helper()
	if k := os.Getenv("RUNPLANE_KUBECTL"); k != "" {
		return k
	}
	k, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("needs kubectl: set RUNPLANE_KUBECTL or put kubectl on PATH")
	}
	return k
}

// hostPathVolume creates a PersistentVolume on a fresh host directory (the cluster's only node is this host),
// reserved for the claim ns/claim and of a storage class of its own, since this cluster has no provisioner. The
// directory belongs to the server's user, as a provisioned volume would through fsGroup (which hostPath volumes
// ignore). It returns the class and the directory; the volume is deleted when the test ends.
func (e env) hostPathVolume(t testing.TB, ns, claim string) (class, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65532, 65532); err != nil {
		t.Fatalf("give the volume's directory to the server's user 65532 (the cluster tests run as root): %v", err)
	}
	name := "runplane-chart-" + ns
	dirType := corev1.HostPathDirectory
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              name,
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: claim},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirType},
			},
		},
	}
	if _, err := e.Client.CoreV1().PersistentVolumes().Create(t.Context(), pv, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create PersistentVolume: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := e.Client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete PersistentVolume %s: %v", name, err)
			return
		}
		kubetest.WaitFor(t, 2*time.Minute, "PersistentVolume "+name+" to be deleted", func() bool {
			_, err := e.Client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	})
	return name, dir
}

var forwarding = regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> `)

// portForward runs `kubectl port-forward` to target (e.g. svc/name) in ns on a free local port and returns the
// URL it serves and a function that stops it (also called when the test ends).
func portForward(t testing.TB, kubectl, ns, target string, port int) (url string, stop func()) {
	t.Helper()
	cmd := exec.Command(kubectl, "--namespace", ns, "port-forward", "--address", "127.0.0.1", target, ":"+strconv.Itoa(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr forwardOutput
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl port-forward: %v", err)
	}
	ready := make(chan string, 1)
	read := make(chan struct{})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-read // Wait closes the pipe: first read to its end
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	go func() {
		defer close(read)
		// Read to the end: kubectl writes a line per connection and would block on a full pipe.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := forwarding.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		close(ready)
	}()
	select {
	case p, ok := <-ready:
		if !ok {
			t.Fatalf("kubectl port-forward %s ended: %s", target, stderr.String())
		}
		return "http://127.0.0.1:" + p, stop
	case <-time.After(time.Minute):
		stop()
		t.Fatalf("kubectl port-forward %s did not listen within a minute: %s", target, stderr.String())
	}
	return "", stop
}

// forwardOutput collects what kubectl port-forward writes while the test may read it.
type forwardOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *forwardOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *forwardOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dumpNamespace logs what a failure's post-mortem needs: the objects in ns, their events and the server's log.
func dumpNamespace(t testing.TB, kubectl, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"get", "all,pvc,secrets,serviceaccounts,roles,rolebindings", "-o", "wide"},
		{"describe", "pods"},
		{"get", "events", "--sort-by=.lastTimestamp"},
		{"logs", "deployment/" + chartName, "--all-containers", "--tail=200"},
	} {
		out, err := exec.CommandContext(ctx, kubectl, append([]string{"--namespace", ns}, args...)...).CombinedOutput()
		t.Logf("kubectl %s (%v):\n%s", strings.Join(args, " "), err, out)
	}
}

// kubectlCLI runs kubectl for a test, each command bounded by timeout.
type kubectlCLI struct {
	t       testing.TB
	path    string
	timeout time.Duration
}

// run runs kubectl with args; the error carries the command and its output.
func (k kubectlCLI) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(k.t.Context(), k.timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, k.path, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// apply applies manifest (kubectl apply -f), failing the test if kubectl refuses it.
func (k kubectlCLI) apply(manifest string) {
	k.t.Helper()
	f := filepath.Join(k.t.TempDir(), "object.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o644); err != nil {
		k.t.Fatal(err)
	}
	if _, err := k.run("apply", "-f", f); err != nil {
		k.t.Fatal(err)
	}
}

// getJSON reads an object with kubectl get -o json; nil if absent (or unreadable).
func (k kubectlCLI) getJSON(args ...string) map[string]any {
	out, err := k.run(append([]string{"get", "-o", "json", "--ignore-not-found"}, args...)...)
	if err != nil || strings.TrimSpace(out) == "" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(out), &m) != nil {
		return nil
	}
	return m
}
