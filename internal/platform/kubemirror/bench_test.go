package kubemirror_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/server/servertest"
)

// BenchmarkRequestDoors: a request of a one-pipeline promise (local executor, a directory state store) from its
// creation to ConfigureWorkflowCompleted=True as its creator sees it — created in the cluster as kubectl does and
// read there, against created and read through the REST API — alternately in one run, against a private API
// server. Reported: each door's mean and kube/rest, their ratio (issue 16's target: ≤ 1.1).
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
	c := &benchClient{b: b, url: url}
	var login struct{ Token string }
	c.call("POST", "/login", fmt.Sprintf(`{"username":"root","password":%q,"provider":"local"}`, servertest.RootPassword), &login)
	c.token = login.Token
	c.call("POST", "/state_stores", fmt.Sprintf(`{"kind":"DirectoryStateStore","name":"bench","path":%q}`, filepath.Join(b.TempDir(), "state")), nil)
	c.call("POST", "/destinations", `{"name":"bench","labels":{"mirror":"bench"},"stateStoreRef":{"kind":"DirectoryStateStore","name":"bench"}}`, nil)
	c.call("POST", "/promises", cachePromise("bench"), nil)
	caches := schema.GroupVersionResource{Group: "bench.example.dev", Version: "v1alpha1", Resource: "caches"}
	ri := dc.Resource(caches).Namespace("default")
	until(b, "the promise's kind is served", func() bool {
		_, err := ri.List(b.Context(), metav1.ListOptions{})
		return err == nil
	})
	manifest := func(name string) string {
		return "apiVersion: bench.example.dev/v1alpha1\nkind: Cache\nmetadata: {name: " + name + ", namespace: default}\nspec: {size: large}\n"
	}
	viaREST := func(name string) time.Duration {
		start := time.Now()
		c.call("POST", "/resources/bench", manifest(name), nil)
		until(b, name+" configured (REST)", func() bool {
			var rr struct {
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			c.call("GET", "/resources/bench/"+name+"?namespace=default", "", &rr)
			for _, x := range rr.Status.Conditions {
				if x.Type == "ConfigureWorkflowCompleted" && x.Status == "True" {
					return true
				}
			}
			return false
		})
		return time.Since(start)
	}
	// The cluster's door is read as kubectl wait does: a watch on the object (polling the API server every few
	// milliseconds would load it, and be throttled by the client).
	viaCluster := func(name string) time.Duration {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(manifest(name)), &m); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
		defer cancel()
		w, err := ri.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		start := time.Now()
		if _, err := ri.Create(ctx, &unstructured.Unstructured{Object: m}, metav1.CreateOptions{FieldManager: "kubectl"}); err != nil {
			b.Fatal(err)
		}
		for ev := range w.ResultChan() {
			if u, ok := ev.Object.(*unstructured.Unstructured); ok && condition(u, "ConfigureWorkflowCompleted") == "True" {
				return time.Since(start)
			}
		}
		b.Fatalf("%s: not configured within a minute", name)
		return 0
	}
	viaREST("warm-rest")
	viaCluster("warm-kube")
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("before: loadavg %s", strings.TrimSpace(string(load)))
	var rest, kubeDoor time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			rest += viaREST(fmt.Sprintf("rest-%d", i))
			kubeDoor += viaCluster(fmt.Sprintf("kube-%d", i))
		} else {
			kubeDoor += viaCluster(fmt.Sprintf("kube-%d", i))
			rest += viaREST(fmt.Sprintf("rest-%d", i))
		}
	}
	b.StopTimer()
	load, _ = os.ReadFile("/proc/loadavg")
	b.Logf("after: loadavg %s", strings.TrimSpace(string(load)))
	n := float64(b.N)
	b.ReportMetric(float64(rest.Milliseconds())/n, "rest-ms/op")
	b.ReportMetric(float64(kubeDoor.Milliseconds())/n, "kube-ms/op")
	b.ReportMetric(float64(kubeDoor)/float64(rest), "kube/rest")
}

// benchClient calls the REST API for a benchmark.
type benchClient struct {
	b     *testing.B
	url   string
	token string
}

func (c *benchClient) call(method, path, body string, out any) {
	req, _ := http.NewRequestWithContext(c.b.Context(), method, c.url+"/api/v1"+path, strings.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		c.b.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.b.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// until polls cond every 5 ms, for up to a minute.
func until(b *testing.B, what string, cond func() bool) {
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
