package server

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// TestImageAllowlist: with --image-allowlist, a runner naming another image is refused when saved (400) and a job
// of a runner saved before the list is refused when submitted (403), each saying which images are allowed and
// nothing secret; allowed images pass.
func TestImageAllowlist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sameDir := func(c *Config) { c.DataDir = dir }
	const (
		token     = "tok-secret-3b7f"
		secretVal = "s3cr3t-value-9c1e"
		allowed   = "allowed images are docker.io/library/*, registry.corp/**"
	)
	url := newRepoURL(t)

	// The first server has no list: any image is saved.
	t.Run("before the list", func(t *testing.T) {
		ts := startServer(t, sameDir)
		ts.createRunner(t, api.Runner{Name: "legacy", GitURL: url, Image: "evil.io/x:1", Token: token,
			Secret: map[string]string{"API_KEY": secretVal}})
		ts.createRunner(t, api.Runner{Name: "ok", GitURL: url, Image: "busybox:1.36"})
		ts.createRunner(t, api.Runner{Name: "bare", GitURL: url})
		for _, task := range []api.Task{
			{Name: "legacy", Runner: "legacy", Command: "sh hello.sh"},
			{Name: "ok", Runner: "ok", Command: "sh hello.sh", Synchronous: true},
			{Name: "bare", Runner: "bare", Command: "sh hello.sh"},
		} {
			ts.createTask(t, task)
		}
	})

	t.Run("with the list", func(t *testing.T) {
		ts := startServer(t, sameDir, func(c *Config) {
			c.ImageAllowlist = []string{"docker.io/library/*", "registry.corp/**"}
		})

		// Jobs of runners saved before the list: 403 on every submission path, nothing queued.
		refused := []struct{ path, want string }{
			{"/api/v1/jobs/legacy", `image "evil.io/x:1" is not allowed: ` + allowed},
			{"/api/v1/tasks/legacy/run", `image "evil.io/x:1" is not allowed: ` + allowed},
			{"/api/v1/jobs/bare", `an empty image is not allowed: ` + allowed},
		}
		for _, r := range refused {
			e := ts.submit(t, r.path, `{"n":1}`, nil).want(t, http.StatusForbidden).apiError(t)
			if e.Error != r.want {
				t.Errorf("POST %s: error %q, want %q", r.path, e.Error, r.want)
			}
		}
		var jobs []api.Job
		ts.do(t, req{method: "GET", path: "/api/v1/jobs"}).want(t, 200).decode(t, &jobs)
		if len(jobs) != 0 {
			t.Errorf("jobs after refused submissions = %+v, want none", jobs)
		}
		// An allowed image runs (the local executor records the image and runs the job on this machine).
		if j := finished(t, ts.submit(t, "/api/v1/jobs/ok", "", nil)); j.Status != api.JobSucceeded {
			t.Errorf("job of an allowed image = %s (%s), want succeeded", j.Status, j.Reason)
		}

		// Saving a runner: 400 for an image outside the list, whichever way it is saved.
		saves := []struct {
			name string
			r    req
		}{
			{"create", req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "new", GitURL: url, Image: "evil.io/x:1"}}},
			{"put", req{method: "PUT", path: "/api/v1/runners/ok", json: api.Runner{GitURL: url, Image: "evil.io/x:1"}}},
			{"patch image", req{method: "PATCH", path: "/api/v1/runners/ok", body: `{"image":"evil.io/x:1"}`}},
			{"patch other field of a runner saved before", req{method: "PATCH", path: "/api/v1/runners/legacy", body: `{"branch":"dev"}`}},
		}
		for _, s := range saves {
			e := ts.do(t, s.r).want(t, http.StatusBadRequest).apiError(t)
			if want := `image "evil.io/x:1" is not allowed: ` + allowed; e.Error != want {
				t.Errorf("%s: error %q, want %q", s.name, e.Error, want)
			}
		}
		ts.do(t, req{method: "GET", path: "/api/v1/runners/new"}).want(t, http.StatusNotFound)
		if got := ts.stored(t, "ok").Image; got != "busybox:1.36" {
			t.Errorf("runner ok's image after refused saves = %q, want busybox:1.36", got)
		}
		e := ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "bad", GitURL: url, Image: "Not An Image"}}).
			want(t, http.StatusBadRequest).apiError(t)
		if !strings.Contains(e.Error, `image "Not An Image" is not a valid image reference: `+allowed) {
			t.Errorf("malformed image: error %q", e.Error)
		}

		// Allowed images, and no image, are saved; fixing the old runner's image lets its jobs run again.
		for _, r := range []api.Runner{
			{Name: "hub", GitURL: url, Image: "docker.io/library/alpine:3"},
			{Name: "corp", GitURL: url, Image: "registry.corp/team/app@sha256:" + strings.Repeat("0", 64)},
			{Name: "none", GitURL: url},
		} {
			ts.createRunner(t, r)
		}
		ts.do(t, req{method: "PATCH", path: "/api/v1/runners/legacy", body: `{"image":"registry.corp/team/app:2"}`}).want(t, 200)
		if s := ts.stored(t, "legacy"); s.Token != token || s.Secret["API_KEY"] != secretVal {
			t.Errorf("PATCH image lost the token or secrets: %+v", s)
		}
		created(t, ts.submit(t, "/api/v1/jobs/legacy", `{"n":1}`, nil))

		if seen := ts.seen.String(); strings.Contains(seen, token) || strings.Contains(seen, secretVal) {
			t.Errorf("a response carried the runner's token or secret")
		}
	})
}

// TestTaskKubernetes: a task's kubernetes settings are validated, stored, answered, replaced whole by PATCH and PUT,
// and ignored by the local executor.
func TestTaskKubernetes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	secs := int64(60)
	full := &api.TaskKubernetes{
		Resources: &api.ResourceRequirements{
			Requests: map[string]string{"cpu": "100m", "memory": "64Mi"},
			Limits:   map[string]string{"cpu": "1", "memory": "128Mi"},
		},
		ServiceAccount:   "jobs",
		NodeSelector:     map[string]string{"disktype": "ssd", "kubernetes.io/arch": "amd64"},
		Tolerations:      []api.Toleration{{Key: "dedicated", Operator: "Equal", Value: "jobs", Effect: "NoExecute", TolerationSeconds: &secs}},
		ImagePullSecrets: []string{"regcred"},
		ImagePullPolicy:  "Always",
	}
	task := ts.createTask(t, api.Task{Name: "placed", Runner: "repo", Command: "sh hello.sh", Synchronous: true, Kubernetes: full})
	check := func(step string, want *api.TaskKubernetes) {
		t.Helper()
		var got api.Task
		ts.do(t, req{method: "GET", path: "/api/v1/tasks/placed"}).want(t, 200).decode(t, &got)
		if diff := cmp.Diff(want, got.Kubernetes); diff != "" {
			t.Errorf("%s: kubernetes (-want +got):\n%s", step, diff)
		}
	}
	if diff := cmp.Diff(full, task.Kubernetes); diff != "" {
		t.Errorf("create answer kubernetes (-want +got):\n%s", diff)
	}
	check("created", full)

	// The local executor ignores the settings.
	if j := finished(t, ts.submit(t, "/api/v1/jobs/placed", `{"n":1}`, nil)); j.Status != api.JobSucceeded {
		t.Errorf("job of a task with kubernetes settings = %s (%s), want succeeded", j.Status, j.Reason)
	}

	steps := []struct {
		name string
		r    req
		want *api.TaskKubernetes
	}{
		{"patch other field keeps them", req{method: "PATCH", path: "/api/v1/tasks/placed", body: `{"command":"sh fail.sh"}`}, full},
		{"schema change keeps them", req{method: "PUT", path: "/api/v1/tasks/placed/schema", body: `{"type":"object"}`}, full},
		{"patch replaces them whole", req{method: "PATCH", path: "/api/v1/tasks/placed", body: `{"kubernetes":{"nodeSelector":{"pool":"batch"}}}`},
			&api.TaskKubernetes{NodeSelector: map[string]string{"pool": "batch"}}},
		{"patch with resources numbers", req{method: "PATCH", path: "/api/v1/tasks/placed", body: `{"kubernetes":{"resources":{"limits":{"cpu":0.5}}}}`},
			&api.TaskKubernetes{Resources: &api.ResourceRequirements{Limits: map[string]string{"cpu": "0.5"}}}},
		{"patch null removes them", req{method: "PATCH", path: "/api/v1/tasks/placed", body: `{"kubernetes":null}`}, nil},
		{"patch sets them again", req{method: "PATCH", path: "/api/v1/tasks/placed", body: `{"Kubernetes":{"imagePullPolicy":"Never"}}`},
			&api.TaskKubernetes{ImagePullPolicy: "Never"}},
		{"patch {} removes them", req{method: "PATCH", path: "/api/v1/tasks/placed", body: `{"kubernetes":{}}`}, nil},
		{"put sets them", req{method: "PUT", path: "/api/v1/tasks/placed", json: api.Task{Runner: "repo", Command: "true", Kubernetes: full}}, full},
		{"put without them removes them", req{method: "PUT", path: "/api/v1/tasks/placed", json: api.Task{Runner: "repo", Command: "true"}}, nil},
	}
	for _, s := range steps {
		ts.do(t, s.r).want(t, 200)
		check(s.name, s.want)
	}
	var raw map[string]any
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/placed"}).want(t, 200).decode(t, &raw)
	if _, ok := raw["kubernetes"]; ok {
		t.Errorf("a task without kubernetes settings answers %v, want no kubernetes field", raw)
	}

	bad := []struct{ name, body, want string }{
		{"pull policy", `{"kubernetes":{"imagePullPolicy":"always"}}`, `kubernetes.imagePullPolicy "always": want Always, IfNotPresent or Never`},
		{"quantity", `{"kubernetes":{"resources":{"requests":{"memory":"64MB"}}}}`, `kubernetes.resources.requests.memory: "64MB" is not a quantity`},
		{"request over limit", `{"kubernetes":{"resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}}}`, `requests.cpu 2 is more than limits.cpu 1`},
		{"resources misspelt", `{"kubernetes":{"resources":{"limit":{"cpu":"1"}}}}`, `kubernetes.resources: unknown field "limit"`},
		{"resource name", `{"kubernetes":{"resources":{"limits":{"gpu":"1"}}}}`, `resource "gpu"`},
		{"service account", `{"kubernetes":{"serviceAccount":"Jobs SA"}}`, `kubernetes.serviceAccount "Jobs SA"`},
		{"node selector value type", `{"kubernetes":{"nodeSelector":{"gpu":true}}}`, `field "kubernetes.nodeSelector": want a string, got JSON bool`},
		{"node selector key", `{"kubernetes":{"nodeSelector":{"a b":"c"}}}`, `kubernetes.nodeSelector: label key "a b"`},
		{"toleration operator", `{"kubernetes":{"tolerations":[{"key":"k","operator":"In"}]}}`, `kubernetes.tolerations[0]: operator "In"`},
		{"toleration effect", `{"kubernetes":{"tolerations":[{"operator":"Exists","effect":"Never"}]}}`, `effect "Never"`},
		{"pull secret", `{"kubernetes":{"imagePullSecrets":["Reg_Cred"]}}`, `kubernetes.imagePullSecrets[0] "Reg_Cred"`},
	}
	for _, b := range bad {
		for _, r := range []req{
			{method: "PATCH", path: "/api/v1/tasks/placed", body: b.body},
			{method: "POST", path: "/api/v1/tasks", body: `{"name":"other","runner":"repo","command":"true",` + b.body[1:]},
		} {
			e := ts.do(t, r).want(t, http.StatusBadRequest).apiError(t)
			if !strings.Contains(e.Error, b.want) {
				t.Errorf("%s: %s %s: error %q, want it to contain %q", b.name, r.method, r.path, e.Error, b.want)
			}
		}
	}
	check("after refused changes", nil)
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/other"}).want(t, http.StatusNotFound)
}
