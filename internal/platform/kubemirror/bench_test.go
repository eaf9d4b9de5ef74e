package kubemirror_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/kubemirror/doorstest"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/server/servertest"
)

// BenchmarkRequestDoors: a request of a one-pipeline promise (local executor, a directory state store) from its
// creation to ConfigureWorkflowCompleted=True as its creator sees it — created in the cluster as kubectl does and
// watched there, against created and read through the REST API — alternately in one run, against a private API
// server. Reported: each door's mean and kube/rest, their ratio. The pipeline is the smallest there is (a local
// process, no sandbox, a few ms), so the ratio here is the mirror's own cost at its most visible; issue 16's
// target (≤ 1.1) is measured with pipelines as the distributed mode runs them, on the real cluster
// (BenchmarkKubeRequestDoors in test/kube).
//
//	go test ./internal/platform/kubemirror -run '^$' -bench RequestDoors -benchtime 30x
func BenchmarkRequestDoors(b *testing.B) {
	kube := apiserver.Start(b)
	url := servertest.Start(b, func(c *server.Config) {
		c.Kubeconfig = kube.Kubeconfig
		c.InstallCRDs = true
		c.Isolation = "none"
	})
	dc, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		b.Fatal(err)
	}
	caches := schema.GroupVersionResource{Group: "bench.example.dev", Version: "v1alpha1", Resource: "caches"}
	d := doorstest.Doors{URL: url, Promise: "bench", Namespace: "default", Resource: dc.Resource(caches).Namespace("default"),
		Manifest: func(name string) string {
			return "apiVersion: bench.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: " + name + ", namespace: default}\nspec: {size: large}\n"
		}}
	var login struct{ Token string }
	d.Call(b, "POST", "/login", fmt.Sprintf(`{"username":"root","password":%q,"provider":"local"}`, servertest.RootPassword), &login)
	d.Token = login.Token
	d.Call(b, "POST", "/state_stores", fmt.Sprintf(`{"kind":"DirectoryStateStore","name":"bench","path":%q}`, filepath.Join(b.TempDir(), "state")), nil)
	d.Call(b, "POST", "/destinations", `{"name":"bench","labels":{"mirror":"bench"},"stateStoreRef":{"kind":"DirectoryStateStore","name":"bench"}}`, nil)
	d.Call(b, "POST", "/promises", cachePromise("bench"), nil)
	d.Served(b)
	d.Measure(b)
}
