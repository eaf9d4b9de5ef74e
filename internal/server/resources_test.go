package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// TestTaskResources: a task's resources are validated (400 naming the field), stored, answered, and replaced whole
// by PATCH and PUT.
func TestTaskResources(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	full := &api.TaskResources{
		Requests: map[string]string{"cpu": "100m", "memory": "32Mi"},
		Limits:   map[string]string{"cpu": "1", "memory": "256Mi", "pids": "256"},
	}
	task := ts.createTask(t, api.Task{Name: "limited", Runner: "repo", Command: "sh hello.sh", Resources: full})
	if diff := cmp.Diff(full, task.Resources); diff != "" {
		t.Errorf("create answer resources (-want +got):\n%s", diff)
	}
	check := func(step string, want *api.TaskResources) {
		t.Helper()
		var got api.Task
		ts.do(t, req{method: "GET", path: "/api/v1/tasks/limited"}).want(t, 200).decode(t, &got)
		if diff := cmp.Diff(want, got.Resources); diff != "" {
			t.Errorf("%s: resources (-want +got):\n%s", step, diff)
		}
	}
	check("created", full)
	steps := []struct {
		name string
		r    req
		want *api.TaskResources
	}{
		{"patch other field keeps them", req{method: "PATCH", path: "/api/v1/tasks/limited", body: `{"command":"true"}`}, full},
		{"patch kubernetes keeps them", req{method: "PATCH", path: "/api/v1/tasks/limited", body: `{"kubernetes":{"imagePullPolicy":"Never"}}`}, full},
		{"patch replaces them whole", req{method: "PATCH", path: "/api/v1/tasks/limited", body: `{"resources":{"limits":{"pids":64}}}`},
			&api.TaskResources{Limits: map[string]string{"pids": "64"}}},
		{"patch null removes them", req{method: "PATCH", path: "/api/v1/tasks/limited", body: `{"resources":null}`}, nil},
		{"patch sets them again", req{method: "PATCH", path: "/api/v1/tasks/limited", body: `{"resources":{"limits":{"memory":"1Gi"}}}`},
			&api.TaskResources{Limits: map[string]string{"memory": "1Gi"}}},
		{"patch {} removes them", req{method: "PATCH", path: "/api/v1/tasks/limited", body: `{"resources":{}}`}, nil},
		{"put sets them", req{method: "PUT", path: "/api/v1/tasks/limited", json: api.Task{Runner: "repo", Command: "true", Resources: full}}, full},
		{"put without them removes them", req{method: "PUT", path: "/api/v1/tasks/limited", json: api.Task{Runner: "repo", Command: "true"}}, nil},
	}
	for _, s := range steps {
		ts.do(t, s.r).want(t, 200)
		check(s.name, s.want)
	}

	bad := []struct{ name, body, want string }{
		{"quantity", `{"resources":{"limits":{"memory":"64MB"}}}`, `resources.limits.memory: "64MB" is not a quantity`},
		{"unknown resource", `{"resources":{"limits":{"nvidia.com/gpu":"1"}}}`, `resources.limits: resource "nvidia.com/gpu": want cpu, memory or pids`},
		{"pids fraction", `{"resources":{"limits":{"pids":"2.5"}}}`, `resources.limits.pids: "2.5" is not a whole number`},
		{"pids request", `{"resources":{"requests":{"pids":"2"}}}`, `resources.requests.pids: pids is a limit only`},
		{"zero limit", `{"resources":{"limits":{"cpu":"0"}}}`, `resources.limits.cpu: must be more than 0`},
		{"request over limit", `{"resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}}`, `resources: requests.cpu 2 is more than limits.cpu 1`},
		{"misspelt", `{"resources":{"limit":{"cpu":"1"}}}`, `resources: unknown field "limit"`},
	}
	for _, b := range bad {
		for _, r := range []req{
			{method: "PATCH", path: "/api/v1/tasks/limited", body: b.body},
			{method: "POST", path: "/api/v1/tasks", body: `{"name":"other","runner":"repo","command":"true",` + b.body[1:]},
		} {
			e := ts.do(t, r).want(t, http.StatusBadRequest).apiError(t)
			if !strings.Contains(e.Error, b.want) || strings.Contains(e.Error, "kubernetes.") {
				t.Errorf("%s: %s %s: error %q, want it to contain %q", b.name, r.method, r.path, e.Error, b.want)
			}
		}
	}
	check("after refused changes", nil)
}
