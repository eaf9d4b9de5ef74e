package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// TestTaskNetwork: a task's network is validated (400 on anything but none, private and host), stored, answered,
// and kept by a PATCH that does not name it.
func TestTaskNetwork(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	if got := ts.createTask(t, api.Task{Name: "netted", Runner: "repo", Command: "true", Network: "host"}); got.Network != "host" {
		t.Errorf("create answer network %q, want host", got.Network)
	}
	steps := []struct {
		name string
		r    req
		want string
	}{
		{"patch other field keeps it", req{method: "PATCH", path: "/api/v1/tasks/netted", body: `{"command":"echo"}`}, "host"},
		{"patch sets it", req{method: "PATCH", path: "/api/v1/tasks/netted", body: `{"network":"private"}`}, "private"},
		{"put without it clears it", req{method: "PUT", path: "/api/v1/tasks/netted", json: api.Task{Runner: "repo", Command: "true"}}, ""},
		{"put sets it", req{method: "PUT", path: "/api/v1/tasks/netted", json: api.Task{Runner: "repo", Command: "true", Network: "none"}}, "none"},
	}
	for _, s := range steps {
		ts.do(t, s.r).want(t, http.StatusOK)
		var got api.Task
		ts.do(t, req{method: "GET", path: "/api/v1/tasks/netted"}).want(t, http.StatusOK).decode(t, &got)
		if got.Network != s.want {
			t.Errorf("%s: network %q, want %q", s.name, got.Network, s.want)
		}
	}
	for _, bad := range []string{"bridge", "HOST", "container:x", "slirp4netns"} {
		for _, r := range []req{
			{method: "PATCH", path: "/api/v1/tasks/netted", body: `{"network":"` + bad + `"}`},
			{method: "POST", path: "/api/v1/tasks", body: `{"name":"other","runner":"repo","command":"true","network":"` + bad + `"}`},
		} {
			if e := ts.do(t, r).want(t, http.StatusBadRequest).apiError(t); !strings.Contains(e.Error, "want none, private or host") {
				t.Errorf("%s %s network %q: error %q", r.method, r.path, bad, e.Error)
			}
		}
	}
}

// TestImagePullSecret: in container mode, a runner's image_pull_secret pulls its image from a private registry (a
// real one on loopback behind basic authentication); wrong credentials fail the job with podman's reason; the
// credentials appear in no API answer, job log, reason or server log; GET masks them and the mask sent back keeps
// them; a value that is not a docker config.json is refused (400) without being quoted.
func TestImagePullSecret(t *testing.T) {
	podmantest.Need(t)
	const user, password = "puller", "srv-pull-pw-83d1"
	reg := podmantest.NewRegistry(t, user, password)
	ref := reg.Push(t, "runplane/server-private:1")
	// Not parallel: no other test's server runs while podmanTweak is set.
	podmanTweak = func(o *podman.Options) { o.SkipTLSVerify = true }
	t.Cleanup(func() { podmanTweak = nil })
	ts := startServer(t, func(c *Config) { c.Isolation = IsolationContainer })
	leaks := func(s string) bool {
		return strings.Contains(s, password) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	repo := newRepoURL(t)

	if got := ts.createRunner(t, api.Runner{Name: "private", Image: ref, GitURL: repo, ImagePullSecret: reg.AuthConfig(user, password)}); got.ImagePullSecret != api.Mask {
		t.Errorf("create answer image_pull_secret %q, want the mask", got.ImagePullSecret)
	}
	// The mask sent back (PUT) keeps the credentials; the job below pulls with them.
	ts.do(t, req{method: "PUT", path: "/api/v1/runners/private",
		json: api.Runner{Image: ref, GitURL: repo, ImagePullSecret: api.Mask}}).want(t, http.StatusOK)
	ts.createRunner(t, api.Runner{Name: "wrong", Image: ref, GitURL: repo, ImagePullSecret: reg.AuthConfig(user, "not-"+password)})
	bad := `{"auths":{"` + reg.Host + `":{"auth":"` + password + `"}}}`
	if e := ts.do(t, req{method: "POST", path: "/api/v1/runners",
		json: api.Runner{Name: "bad", Image: ref, GitURL: repo, ImagePullSecret: bad}}).want(t, http.StatusBadRequest).apiError(t); !strings.Contains(e.Error, "image_pull_secret") {
		t.Errorf("a runner with a bad image_pull_secret: error %q", e.Error)
	}

	// Wrong credentials first: once the right ones pulled the image, it is in podman's local store.
	ts.createTask(t, api.Task{Name: "refused", Runner: "wrong", Command: "echo ran"})
	j := ts.waitFinal(t, created(t, ts.submit(t, "/api/v1/jobs/refused", "", nil)))
	if j.Status != api.JobFailed || !strings.Contains(j.Reason, "unauthorized") || !strings.Contains(j.Reason, ref) {
		t.Errorf("job with wrong credentials: %s, reason %q; want failed with podman's reason for %s", j.Status, j.Reason, ref)
	}
	log := ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + j.ID + "/log"}).want(t, http.StatusOK)
	if !strings.Contains(string(log.body), "unauthorized") {
		t.Errorf("log of the refused job %q: want podman's reason", log.body)
	}

	ts.createTask(t, api.Task{Name: "pulls", Runner: "private", Command: "echo pulled-and-ran; env | grep -ci auth || true"})
	j = ts.waitFinal(t, created(t, ts.submit(t, "/api/v1/jobs/pulls", "", nil)))
	if j.Status != api.JobSucceeded || !strings.Contains(j.Stdout, "pulled-and-ran") {
		t.Errorf("job with the runner's credentials: %s (%s), stdout %q; want succeeded", j.Status, j.Reason, j.Stdout)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + j.ID + "/log"}).want(t, http.StatusOK)
	var got api.Runner
	ts.do(t, req{method: "GET", path: "/api/v1/runners/private"}).want(t, http.StatusOK).decode(t, &got)
	if got.ImagePullSecret != api.Mask {
		t.Errorf("GET image_pull_secret %q, want the mask", got.ImagePullSecret)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/runners"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/jobs"}).want(t, http.StatusOK)

	if leaks(ts.seen.String()) {
		t.Errorf("an API answer holds the credentials:\n%s", ts.seen)
	}
	if leaks(ts.logs.String()) {
		t.Errorf("the server log holds the credentials")
	}
}
