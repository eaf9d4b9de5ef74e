// Package doorstest measures a promise's request through its two doors: created in the cluster as kubectl
// creates it and watched there as `kubectl wait` watches it, against created and read through runplane's REST
// API. Benchmarks of the mirror (a private API server, local pipelines) and of the real cluster (pipelines as
// pods) share it, so both time the same thing.
package doorstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Doors are a promise's two doors to one namespace.
type Doors struct {
	URL, Token string // the server's base URL and a token of a user who may request the promise
	Promise    string
	Namespace  string
	// Resource is the promise's kind in the cluster, in Namespace.
	Resource dynamic.ResourceInterface
	// Manifest is a request called name, as a user would apply it (YAML).
	Manifest func(name string) string
	// Poll is how often the REST door reads the request back (default 5 ms).
	Poll time.Duration
	// Timeout bounds one request (default a minute).
	Timeout time.Duration
}

// Call calls the REST API (path under /api/v1) and decodes the answer into out, if not nil; an answer of 300 or
// more fails b.
func (d Doors) Call(b testing.TB, method, path, body string, out any) {
	b.Helper()
	req, err := http.NewRequestWithContext(b.Context(), method, d.URL+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	if d.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.Token)
	}
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		b.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (d Doors) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return time.Minute
}

// REST creates request name through the REST API and reads it back every Poll until its configure workflow
// completed; it returns how long that took.
func (d Doors) REST(b testing.TB, name string) time.Duration {
	b.Helper()
	poll := d.Poll
	if poll <= 0 {
		poll = 5 * time.Millisecond
	}
	start := time.Now()
	d.Call(b, "POST", "/resources/"+d.Promise, d.Manifest(name), nil)
	deadline := start.Add(d.timeout())
	for {
		var rr struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
		d.Call(b, "GET", "/resources/"+d.Promise+"/"+name+"?namespace="+d.Namespace, "", &rr)
		for _, c := range rr.Status.Conditions {
			if c.Type == "ConfigureWorkflowCompleted" && c.Status == "True" {
				return time.Since(start)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: not configured within %s (REST)", name, d.timeout())
		}
		time.Sleep(poll)
	}
}

// Cluster creates request name in the cluster (as kubectl apply does, with its field manager) and watches it
// until its configure workflow completed (as kubectl wait does: polling the API server would load it, and be
// throttled by the client); it returns how long that took.
func (d Doors) Cluster(b testing.TB, name string) time.Duration {
	b.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(d.Manifest(name)), &m); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), d.timeout())
	defer cancel()
	w, err := d.Resource.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	if _, err := d.Resource.Create(ctx, &unstructured.Unstructured{Object: m}, metav1.CreateOptions{FieldManager: "kubectl"}); err != nil {
		b.Fatal(err)
	}
	for ev := range w.ResultChan() {
		if u, ok := ev.Object.(*unstructured.Unstructured); ok && Condition(u, "ConfigureWorkflowCompleted") == "True" {
			return time.Since(start)
		}
	}
	b.Fatalf("%s: not configured within %s (cluster)", name, d.timeout())
	return 0
}

// Served waits until the API server serves the promise's kind (its CRD installed and established).
func (d Doors) Served(b testing.TB) {
	b.Helper()
	deadline := time.Now().Add(d.timeout())
	for {
		_, err := d.Resource.List(b.Context(), metav1.ListOptions{Limit: 1})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the promise's kind is not served within %s: %v", d.timeout(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Measure warms both doors with a request each, then times b.N requests through each, alternately (which door
// goes first swapping from one to the next, so both see the same moments of the machine), and reports each
// door's mean (rest-ms/op, kube-ms/op) and their ratio kube/rest.
func (d Doors) Measure(b *testing.B) {
	d.REST(b, "warm-rest")
	d.Cluster(b, "warm-kube")
	b.Logf("before: loadavg %s", loadavg())
	var rest, kube time.Duration
	b.ResetTimer()
	for i := range b.N {
		r, k := fmt.Sprintf("rest-%d", i), fmt.Sprintf("kube-%d", i)
		if i%2 == 0 {
			rest += d.REST(b, r)
			kube += d.Cluster(b, k)
		} else {
			kube += d.Cluster(b, k)
			rest += d.REST(b, r)
		}
	}
	b.StopTimer()
	b.Logf("after: loadavg %s", loadavg())
	n := float64(b.N)
	b.ReportMetric(float64(rest.Milliseconds())/n, "rest-ms/op")
	b.ReportMetric(float64(kube.Milliseconds())/n, "kube-ms/op")
	b.ReportMetric(float64(kube)/float64(rest), "kube/rest")
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// Condition is the status of u's condition typ ("" when it has none).
func Condition(u *unstructured.Unstructured, typ string) string {
	return ConditionField(u, typ, "status")
}

// ConditionField is field (status, reason, message…) of u's condition typ ("" when it has none).
func ConditionField(u *unstructured.Unstructured, typ, field string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ {
			s, _ := m[field].(string)
			return s
		}
	}
	return ""
}
