// Package kubetest is test support for tests against a real Kubernetes cluster, which hack/test-kube.sh (make
// test-kube) brings up: the cluster's settings from the environment it exports, fresh namespaces, waiting on a
// condition. Tests call Need first; without RUNPLANE_KUBE_TEST=1 it skips them. Only _test.go files may import it,
// and it must never grow fakes.
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runplane/runplane/internal/executor/kubeexec"
)

// Cluster is the cluster the tests run against.
type Cluster struct {
	Client  kubernetes.Interface // client-go's clientset, for what tests check in the cluster
	Exec    *kubeexec.Client     // the executor's own client (kubeexec.Connect), for kubeexec.Options
	Image   string               // runplane's own image, imported into the cluster ($RUNPLANE_KUBE_IMAGE)
	Busybox string               // a runner image with a POSIX sh ($RUNPLANE_KUBE_BUSYBOX)
	HostIP  string               // an address of this host that pods reach, for test servers ($RUNPLANE_KUBE_HOST_IP)
	Kubectl string               // the kubectl binary ($RUNPLANE_KUBECTL); may be empty
}

// Need returns the cluster of $KUBECONFIG, or skips the test without RUNPLANE_KUBE_TEST=1.
func Need(t testing.TB) *Cluster {
	t.Helper()
	if os.Getenv("RUNPLANE_KUBE_TEST") != "1" {
		t.Skip("needs a Kubernetes cluster: run make test-kube (hack/test-kube.sh)")
	}
	c := &Cluster{
		Image:   os.Getenv("RUNPLANE_KUBE_IMAGE"),
		Busybox: os.Getenv("RUNPLANE_KUBE_BUSYBOX"),
		HostIP:  os.Getenv("RUNPLANE_KUBE_HOST_IP"),
		Kubectl: os.Getenv("RUNPLANE_KUBECTL"),
	}
	if c.Image == "" || c.Busybox == "" || c.HostIP == "" {
		t.Fatal("RUNPLANE_KUBE_IMAGE, RUNPLANE_KUBE_BUSYBOX and RUNPLANE_KUBE_HOST_IP must be set with RUNPLANE_KUBE_TEST=1")
	}
	exec, _, err := kubeexec.Connect("")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	c.Client, c.Exec = client, exec
	return c
}

// Namespace creates a fresh namespace, deleted when the test ends, and waits for its default service account
// (pods need it).
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	ns := "rp-test-" + hex.EncodeToString(b[:])
	_, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		c.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	WaitFor(t, 30*time.Second, "the default service account of "+ns, func() bool {
		_, err := c.Client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil
	})
	return ns
}

// WaitFor waits until cond holds, failing the test after within.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
