package apiserver_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runplane/runplane/internal/kubetest/apiserver"
)

// TestStart: the server answers as cluster admin, with RBAC on (a ClusterRole can be created and read back).
func TestStart(t *testing.T) {
	s := apiserver.Start(t)
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.CoreV1().Namespaces().Get(t.Context(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get namespace default: %v", err)
	}
	if ns.Name != "default" {
		t.Fatalf("namespace = %q, want default", ns.Name)
	}
	if _, err := c.RbacV1().ClusterRoles().Get(t.Context(), "cluster-admin", metav1.GetOptions{}); err != nil {
		t.Fatalf("RBAC: get clusterrole cluster-admin: %v", err)
	}
}
