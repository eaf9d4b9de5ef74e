package kubemirror_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/kubemirror"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/server/servertest"
)

// countingPromise is a promise of kind Cache (group name.example.dev) whose configure and delete pipelines append
// a line (action, name, size) to the file runs: how many times each ran is read back from it.
func countingPromise(name, runs string) string {
	return plainPromise(name) + fmt.Sprintf(`  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: count}
          spec:
            containers:
              - name: count
                image: alpine
                command:
                  - sh
                  - -c
                  - |
                    set -e
                    size=$(sed -n 's/^  size: //p' "$RUNPLANE_INPUT_DIR/object.yaml")
                    echo "configure $KRATIX_OBJECT_NAME $size" >> %[1]s
                    echo "size: $size" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
                    echo "configured: $size" > "$RUNPLANE_METADATA_DIR/status.yaml"
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: count}
          spec:
            containers:
              - {name: count, image: alpine, command: [sh, -c, 'echo "delete $KRATIX_OBJECT_NAME" >> %[1]s']}
`, runs)
}

// runServer runs a runplane server on dataDir mirroring to kube until stop is called (or t ends).
func runServer(t *testing.T, dataDir, kubeconfig string) (url string, stop func()) {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.RootPassword = servertest.RootPassword
	cfg.Kubeconfig = kubeconfig
	cfg.InstallCRDs = true
	cfg.Isolation = "none"
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(t.Context())
	srv, err := server.Open(ctx, cfg, logger, io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("server.Open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("server.Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return srv.URL(), stop
}

// TestRestartConverges: the server stops with requests configured; while it is down one request's spec is edited
// in the cluster, one is deleted there (its delete pending behind the finalizer) and one is created. A new server
// on the same data dir converges: the edit is stored and configured, the delete workflow runs and releases the
// object, the new request is stored and configured — each workflow exactly once — and the untouched request runs
// nothing again.
func TestRestartConverges(t *testing.T) {
	kube := apiserver.Start(t)
	dc, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	if err := os.Chmod(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	runs, state := filepath.Join(tmp, "runs.log"), filepath.Join(tmp, "state")
	url, stop := runServer(t, dataDir, kube.Kubeconfig)
	e := &env{dc: dc, url: url}
	e.login(t)
	for _, gvr := range []schema.GroupVersionResource{promises, dests, dirStores} {
		e.eventually(t, gvr.Resource+" served", func() error {
			_, err := dc.Resource(gvr).List(t.Context(), metav1.ListOptions{})
			return err
		})
	}
	e.apply(t, dirStores, "", fmt.Sprintf("apiVersion: platform.runplane.dev/v1alpha1\nkind: DirectoryStateStore\nmetadata: {name: restart}\nspec: {path: %q}\n", state))
	e.apply(t, dests, "", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata:\n  name: restart\n  labels: {mirror: restart}\nspec:\n  path: dev\n  stateStoreRef: {kind: DirectoryStateStore, name: restart}\n")
	e.waitREST(t, "/destinations/restart", http.StatusOK)
	e.apply(t, promises, "", countingPromise("restart", runs))
	caches := schema.GroupVersionResource{Group: "restart.example.dev", Version: "v1alpha1", Resource: "caches"}
	e.eventually(t, "the Cache kind is served", func() error {
		_, err := dc.Resource(caches).Namespace("default").List(t.Context(), metav1.ListOptions{})
		return err
	})
	for _, name := range []string{"edited", "deleted", "kept"} {
		e.apply(t, caches, "default", "apiVersion: restart.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: "+name+"}\nspec: {size: s1}\n")
	}
	for _, name := range []string{"edited", "deleted", "kept"} {
		e.waitCluster(t, caches, "default", name, name+" configured", configuredWith("s1"))
	}
	stop()

	// While the server is down.
	ctx := t.Context()
	u, err := dc.Resource(caches).Namespace("default").Get(ctx, "edited", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(u.Object, "s2", "spec", "size")
	if _, err := dc.Resource(caches).Namespace("default").Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := dc.Resource(caches).Namespace("default").Delete(ctx, "deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, err := dc.Resource(caches).Namespace("default").Get(ctx, "deleted", metav1.GetOptions{}); err != nil ||
		d.GetDeletionTimestamp() == nil || !slices.Contains(d.GetFinalizers(), kubemirror.Finalizer) {
		t.Fatalf("deleted while the server is down: %v, want it held by the finalizer (%v)", d, err)
	}
	e.apply(t, caches, "default", "apiVersion: restart.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: created}\nspec: {size: s1}\n")

	url, _ = runServer(t, dataDir, kube.Kubeconfig)
	e.url = url
	e.login(t)
	e.waitCluster(t, caches, "default", "edited", "the edit configured", configuredWith("s2"))
	e.waitCluster(t, caches, "default", "created", "the new request configured", configuredWith("s1"))
	e.waitGone(t, caches, "default", "deleted")
	e.waitREST(t, "/resources/restart/deleted?namespace=default", http.StatusNotFound)
	var rr map[string]any
	e.waitREST(t, "/resources/restart/edited?namespace=default", http.StatusOK, &rr)
	if spec, _ := rr["spec"].(map[string]any); spec["size"] != "s2" {
		t.Errorf("stored spec of edited = %v, want size s2", rr["spec"])
	}
	b, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(got)
	want := []string{"configure created s1", "configure deleted s1", "configure edited s1", "configure edited s2",
		"configure kept s1", "delete deleted"}
	if !slices.Equal(got, want) {
		t.Errorf("workflow runs:\n%s\nwant (in any order):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// configuredWith: the request's configure workflow completed for size.
func configuredWith(size string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		c, _, _ := unstructured.NestedString(u.Object, "status", "configured")
		return condition(u, "ConfigureWorkflowCompleted") == "True" && c == size
	}
}
