package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"healthz", "/healthz", 200},
		{"readyz", "/readyz", 200},
		{"metrics", "/metrics", 200},
		{"healthz with a bad token", "/healthz", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts.do(t, req{method: "GET", path: tt.path, noAuth: true, header: map[string]string{"Authorization": "Bearer junk"}}).want(t, tt.status)
		})
	}
}

func TestReadyzWhileStopping(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.stopping.Store(true)
	var body map[string]string
	ts.do(t, req{method: "GET", path: "/readyz", noAuth: true}).want(t, http.StatusServiceUnavailable).decode(t, &body)
	if body["status"] != "unavailable" {
		t.Errorf("readyz body = %v", body)
	}
	ts.do(t, req{method: "GET", path: "/healthz", noAuth: true}).want(t, http.StatusOK)
	ts.stopping.Store(false)
	ts.do(t, req{method: "GET", path: "/readyz", noAuth: true}).want(t, http.StatusOK)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.Version, c.Commit = "v9.8.7", "0123abc" })
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh", Synchronous: true})
	j := finished(t, ts.submit(t, "/api/v1/jobs/hello", "", nil))
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + j.ID}).want(t, 200)
	ts.do(t, req{method: "GET", path: "/no/such/path", noAuth: true}).want(t, 404)

	res := ts.do(t, req{method: "GET", path: "/metrics", noAuth: true}).want(t, 200)
	text := string(res.body)
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("metrics Content-Type = %q, want Prometheus text", ct)
	}
	for _, want := range []string{
		`runplane_http_request_duration_seconds_bucket{code="200",method="POST",route="/api/v1/jobs/{task}"`,
		`runplane_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/jobs/{id}"} 1`,
		`runplane_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`runplane_jobs_total{outcome="succeeded",task="hello"} 1`,
		`runplane_jobs_submitted_total 1`,
		`runplane_job_duration_seconds_count{task="hello"} 1`,
		`runplane_queue_depth`,
		`runplane_jobs_running`,
		`runplane_build_info{commit="0123abc",version="v9.8.7"} 1`,
		`go_goroutines `,
		`go_memstats_heap_alloc_bytes `,
		`process_cpu_seconds_total `,
		`process_resident_memory_bytes `,
		`process_open_fds `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Routes are patterns, never raw paths.
	for _, bad := range []string{j.ID, "/no/such/path"} {
		if strings.Contains(text, bad) {
			t.Errorf("metrics contain the raw path element %q", bad)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown path", "GET", "/api/v1/nope", 404, ""},
		{"unknown path outside the API (the web UI serves /)", "GET", "/no/such/page", 404, ""},
		{"unknown method on jobs", "DELETE", "/api/v1/jobs", 405, "GET"},
		{"unknown method on runner", "POST", "/api/v1/runners/x", 405, "PATCH"},
		{"unknown method on login", "GET", "/api/v1/login", 405, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, req{method: tt.method, path: tt.path}).want(t, tt.status)
			res.apiError(t)
			if tt.allow != "" && !strings.Contains(res.header.Get("Allow"), tt.allow) {
				t.Errorf("Allow = %q, want it to list %s", res.header.Get("Allow"), tt.allow)
			}
		})
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	// Readable without credentials: Swagger UI and Redoc fetch it before anyone logs in.
	res := ts.do(t, req{method: "GET", path: "/api/v1/openapi.json", noAuth: true}).want(t, 200)
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	res.decode(t, &doc)
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) == 0 {
		t.Errorf("openapi.json: version %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	for _, rt := range ts.api.Routes() {
		if strings.Contains(rt.Path, "{") {
			continue // wildcard names may differ; httpapi's TestOpenAPICoversRoutes compares them
		}
		if _, ok := doc.Paths[rt.Path]; !ok {
			t.Errorf("served OpenAPI document lacks %s", rt.Path)
		}
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "GET", path: "/api/v1/runners?limit=5"}).want(t, 200)
	ts.do(t, req{method: "GET", path: "/api/v1/runners/some-name"}).want(t, 404)
	logs := ts.logs.String()
	for _, want := range []string{
		`msg="http request" component=http method=GET route=/api/v1/runners status=200`,
		`msg="http request" component=http method=GET route=/api/v1/runners/{id} status=404`,
		`msg="http request" component=http method=POST route=/api/v1/login status=200`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s", want)
		}
	}
	for _, bad := range []string{ts.token, rootPassword, "limit=5", "some-name", "Bearer"} {
		if strings.Contains(logs, bad) {
			t.Errorf("server log contains %q", bad)
		}
	}
}

// TestEmptyListsAreArrays: Kriten's clients iterate lists; an empty one must be [], never null.
func TestEmptyListsAreArrays(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, path := range []string{"/api/v1/runners", "/api/v1/tasks", "/api/v1/jobs"} {
		res := ts.do(t, req{method: "GET", path: path}).want(t, 200)
		if got := strings.TrimSpace(string(res.body)); got != "[]" {
			t.Errorf("GET %s on an empty server = %s, want []", path, got)
		}
	}
}
