package kube_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runplane/runplane/internal/platform/kubemirror/doorstest"
	"github.com/runplane/runplane/internal/server"
)

// BenchmarkKubeRequestDoors is issue 16's door benchmark as the distributed mode runs it: a server with the
// Kubernetes executor and its kinds as CRDs (--install-crds) on the real cluster, a one-pipeline promise whose
// pipeline runs as a pod, a directory state store. A request from its creation to ConfigureWorkflowCompleted=True
// as its creator sees it: created with kubectl's field manager and watched in the cluster, against created and
// polled (every 20 ms) through the REST API, alternately (target: kube/rest ≤ 1.1).
//
//	eval "$(hack/kube/cluster.sh env)"; go test -run '^$' -bench KubeRequestDoors -benchtime 10x ./test/kube
func BenchmarkKubeRequestDoors(b *testing.B) {
	e := needCluster(b)
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		b.Fatal("KUBECONFIG must name the cluster's kubeconfig (eval \"$(hack/kube/cluster.sh env)\")")
	}
	kc := kubectlCLI{t: b, path: needKubectl(b), timeout: time.Minute}
	ns := e.Namespace(b)
	s := e.newServer(b, ns, func(c *server.Config) { c.Kubeconfig, c.InstallCRDs = kubeconfig, true })
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	const group = "doors.runplane.test"
	caches := schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: "caches"}
	d := doorstest.Doors{URL: s.url, Token: s.client(b).Token(), Promise: "doors", Namespace: ns,
		Resource: dc.Resource(caches).Namespace(ns), Poll: 20 * time.Millisecond, Timeout: 3 * time.Minute,
		Manifest: func(name string) string {
			return fmt.Sprintf("apiVersion: %s/v1alpha1\nkind: Cache\nmetadata: {name: %s, namespace: %s}\nspec: {size: large}\n", group, name, ns)
		}}
	b.Cleanup(func() {
		// The requests (each with the server's finalizer) go while the server still runs, then the kinds' objects
		// and the promise's CRD; the namespace goes last.
		_, _ = kc.run("delete", "caches."+group, "--all", "-n", ns, "--timeout=90s")
		for _, obj := range [][]string{{"caches." + group, "--all", "-n", ns}, {"promise", "doors"}, {"destination", "doors-dev"},
			{"directorystatestore", "doors-state"}} {
			_, _ = kc.run(append([]string{"patch", "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`}, obj...)...)
			_, _ = kc.run(append([]string{"delete", "--ignore-not-found", "--wait=false"}, obj...)...)
		}
		_, _ = kc.run("delete", "crd", "caches."+group, "--ignore-not-found", "--wait=false")
	})
	d.Call(b, "POST", "/state_stores", fmt.Sprintf(`{"kind":"DirectoryStateStore","name":"doors-state","path":%q}`, filepath.Join(b.TempDir(), "state")), nil)
	d.Call(b, "POST", "/destinations", `{"name":"doors-dev","labels":{"environment":"doors"},"stateStoreRef":{"kind":"DirectoryStateStore","name":"doors-state"}}`, nil)
	promise := strings.NewReplacer("BUSYBOX", e.Busybox, "kcache", "doors", "kubectl.runplane.test", group,
		"{environment: kubectl}", "{environment: doors}").Replace(kubectlPromise)
	d.Call(b, "POST", "/promises", promise, nil)
	d.Served(b)
	d.Measure(b)
}
