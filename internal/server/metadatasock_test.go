package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// TestMetadataOnly: the metadata socket passes on the metadata API's routes and nothing else, whatever the path's
// disguise, and trusts no proxy header.
func TestMetadataOnly(t *testing.T) {
	var got *http.Request
	h := metadataOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		fmt.Fprint(w, "api")
	}))
	tests := []struct {
		method, target string
		pass           bool
	}{
		{"GET", "/api/v1/metadata/spec", true},
		{"PUT", "/api/v1/metadata/outputs/greeting", true},
		{"GET", "/api/v1/metadata/outputs/a%20b/c", true},
		{"GET", "/api/v1/tasks", false},
		{"GET", "/api/v1/metadata", false},
		{"GET", "/", false},
		{"GET", "/api/v1/metadata/../tasks", false},
		{"GET", "/api/v1/metadata/%2e%2e/tasks", false},
		{"GET", "/api/v1/metadata/outputs/a%2F..%2F..%2F..%2Ftasks", false},
		{"GET", "/api/v1/metadata//spec", false},
		{"GET", "/api/v1/metadata/./spec", false},
		{"GET", "/api/v1/metadataX/spec", false},
		{"POST", "/api/v1/login", false},
		{"CONNECT", "/api/v1/metadata/spec", false},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if passed := got != nil; passed != tc.pass {
				t.Fatalf("%s %s passed on: %v (status %d), want %v", tc.method, tc.target, passed, w.Code, tc.pass)
			}
			if !tc.pass {
				if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"error"`) {
					t.Errorf("%s %s: %d %s, want 404 with an error", tc.method, tc.target, w.Code, w.Body)
				}
				return
			}
			if got.Header.Get("X-Forwarded-For") != "" || got.RemoteAddr != "metadata-socket" {
				t.Errorf("passed on with X-Forwarded-For %q, RemoteAddr %q; want none, metadata-socket", got.Header.Get("X-Forwarded-For"), got.RemoteAddr)
			}
		})
	}
}

// putOutput is a step's PUT of an output through the metadata API, over the container's loopback to its
// forwarder, with busybox nc (busybox wget cannot PUT). It then asks for routes other than the metadata API's:
// through the socket they do not exist.
const putOutput = `set -e
echo "url=$RUNPLANE_METADATA_URL"
hp=${RUNPLANE_METADATA_URL#http://}; hp=${hp%%/*}
path=${RUNPLANE_METADATA_URL#http://$hp}/outputs/greeting
body="hello-from-$WHO"
printf 'PUT %s HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s' \
	"$path" "$hp" "$RUNPLANE_STEP_TOKEN" ${#body} "$body" | nc ${hp%:*} ${hp#*:} | head -1
for p in /api/v1/tasks /api/v1/jobs /healthz /api/v1/openapi.json; do
	echo "other $p: $(wget -q -O- "http://$hp$p" 2>&1 | head -1)"
done`

// TestWorkflowInContainers: in the container isolation mode, where steps' containers have no network, a step
// PUTs an output through the metadata API at the very URL a local step would use (the server's socket, through
// the forwarder on the container's loopback), the next step reads it through an env template, and no other route
// of the API is reachable from the container.
func TestWorkflowInContainers(t *testing.T) {
	image := podmantest.BuildImage(t)
	fwd := podmantest.Forwarder(t) // the test binary, built with cgo, cannot run in the image
	// Not parallel: no other test's server runs while podmanTweak is set.
	podmanTweak = func(o *podman.Options) { o.Metadata.Forwarder = fwd }
	t.Cleanup(func() { podmanTweak = nil })
	ts := startServer(t, func(c *Config) { c.Isolation = IsolationContainer })

	w := api.Workflow{
		Name:       "boxed",
		Parameters: []byte(`{"type":"object","properties":{"who":{"type":"string","default":"world"}}}`),
		Steps: []api.Step{
			{Name: "put", Image: image, Env: api.EnvVars{{Name: "WHO", Value: "${parameters.who}"}}, Command: sh(putOutput)},
			{Name: "get", DependsOn: api.Strings{"put"}, Image: image, Env: api.EnvVars{{Name: "G", Value: "${outputs.put.greeting}"}},
				Command: sh(`printf '^JSON {"got": "%s"} ^JSON\n' "$G"`)},
		},
	}
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: w}).want(t, http.StatusOK)
	var run api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/boxed/runs?wait=2m", body: `{"who":"podman"}`}).
		want(t, http.StatusOK).decode(t, &run)
	steps := map[string]api.StepRun{}
	for _, s := range run.Steps {
		steps[s.Name] = s
	}
	var put api.Job
	if steps["put"].Job != "" {
		ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + steps["put"].Job}).want(t, http.StatusOK).decode(t, &put)
	}
	if run.Status != api.RunSucceeded {
		t.Fatalf("run %s (%s), want succeeded: %+v; put's job: %s (%s)\n%s", run.Status, run.Reason, run.Steps, put.Status, put.Reason, put.Stdout)
	}
	if got := string(steps["get"].Outputs["got"]); got != `"hello-from-podman"` {
		t.Errorf("get's output got = %s, want \"hello-from-podman\" (put's output through the metadata API); put's log:\n%s", got, put.Stdout)
	}
	if want := "url=" + ts.url + "/api/v1/metadata\n"; !strings.Contains(put.Stdout, want) {
		t.Errorf("put's log:\n%s\nlacks %q: the URL a step outside a container gets", put.Stdout, want)
	}
	if !strings.Contains(put.Stdout, "HTTP/1.0 201 Created") {
		t.Errorf("put's log:\n%s\nlacks the metadata API's answer to its PUT", put.Stdout)
	}
	for _, p := range []string{"/api/v1/tasks", "/api/v1/jobs", "/healthz", "/api/v1/openapi.json"} {
		if want := "other " + p + ": wget: server returned error: HTTP/1.1 404 Not Found"; !strings.Contains(put.Stdout, want) {
			t.Errorf("put's log:\n%s\nlacks %q: the socket serves the metadata API only", put.Stdout, want)
		}
	}
	// The same routes over the server's own address do exist.
	res, err := http.Get(ts.url + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/openapi.json on the server's address: %s, want 200", res.Status)
	}
}
