package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestJobListCarriesNoLogs: a page of jobs with large logs stays small, since lists leave out stdout; one job
// still answers its whole output.
func TestJobListCarriesNoLogs(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	const jobs, logBytes = 8, 256 << 10
	ts.createTask(t, api.Task{Name: "loud", Runner: "repo", Command: fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", logBytes)})
	ids := make([]string, jobs)
	for i := range ids {
		ids[i] = created(t, ts.submit(t, "/api/v1/jobs/loud?wait=0", "", nil))
	}
	for _, id := range ids {
		if j := ts.waitFinal(t, id); j.Status != api.JobSucceeded || len(j.Stdout) != logBytes {
			t.Fatalf("job %s = %s with %d bytes of stdout, want succeeded with %d", id, j.Status, len(j.Stdout), logBytes)
		}
	}
	res := ts.do(t, req{method: "GET", path: "/api/v1/jobs?limit=1000"}).want(t, http.StatusOK)
	if len(res.body) > jobs*1024 {
		t.Errorf("GET /jobs of %d jobs with %d-byte logs = %d bytes, want at most %d", jobs, logBytes, len(res.body), jobs*1024)
	}
	var listed []map[string]any
	res.decode(t, &listed)
	if len(listed) != jobs {
		t.Fatalf("GET /jobs = %d jobs, want %d", len(listed), jobs)
	}
	for _, j := range listed {
		if v, ok := j["stdout"]; !ok || v != "" {
			t.Errorf("GET /jobs: job %v stdout = %v (present %v), want Kriten's field kept, empty", j["id"], v, ok)
		}
		if j["status"] != "succeeded" || j["id"] == "" {
			t.Errorf("GET /jobs: job %v, want its id and status", j)
		}
	}
	var one api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + ids[0]}).want(t, http.StatusOK).decode(t, &one)
	if one.Stdout != strings.Repeat("x", logBytes) {
		t.Errorf("GET /jobs/%s stdout = %d bytes, want the whole %d", ids[0], len(one.Stdout), logBytes)
	}
}
