package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestTaskContainers: a task of three containers (no runner) runs them in order in one workspace; what they write
// to the output directory is kept with the job (listed, downloaded, nothing outside it), their Kratix metadata
// files are parsed into the job, and each container's exit code is recorded; a malformed status.yaml fails the job
// naming the file and line; a failing container stops the rest.
func TestTaskContainers(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := func(name, script string) api.Container {
		return api.Container{Name: name, Command: []string{"sh", "-c", script}}
	}
	ts.createTask(t, api.Task{Name: "pipeline", Containers: []api.Container{
		c("render", `mkdir -p "$RUNPLANE_OUTPUT_DIR/manifests" && echo 'kind: ConfigMap' > "$RUNPLANE_OUTPUT_DIR/manifests/cm.yaml"`),
		c("status", `printf 'message: ready\nreplicas: 3\n' > "$RUNPLANE_METADATA_DIR/status.yaml"; printf -- '- matchLabels:\n    env: dev\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`),
		c("check", `cat "$RUNPLANE_OUTPUT_DIR/manifests/cm.yaml"`),
	}})
	var job api.Job
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/pipeline?wait=1m"}).want(t, http.StatusOK).decode(t, &job)
	if job.Status != api.JobSucceeded {
		t.Fatalf("job %s: %s (%s): %s", job.ID, job.Status, job.Reason, job.Stdout)
	}
	if i, j := strings.Index(job.Stdout, "==> container render"), strings.Index(job.Stdout, "==> container check"); i < 0 || j < i ||
		!strings.Contains(job.Stdout[j:], "kind: ConfigMap") {
		t.Errorf("log %q: want each container under its header, in order", job.Stdout)
	}
	if len(job.Containers) != 3 || job.Containers[2].ExitCode == nil || *job.Containers[2].ExitCode != 0 || job.Containers[0].StartTime == nil {
		t.Errorf("containers %+v: want three that ran, with exit codes and times", job.Containers)
	}
	if job.Metadata == nil || compact(t, job.Metadata.Status) != `{"message":"ready","replicas":3}` ||
		compact(t, job.Metadata.DestinationSelectors) != `[{"matchLabels":{"env":"dev"}}]` {
		t.Errorf("metadata %+v: want status.yaml and destination-selectors.yaml as JSON", job.Metadata)
	}
	var files []struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
	}
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + job.ID + "/output"}).want(t, http.StatusOK).decode(t, &files)
	if len(files) != 1 || files[0].Path != "manifests/cm.yaml" || files[0].Size != int64(len("kind: ConfigMap\n")) {
		t.Errorf("output files %+v, want manifests/cm.yaml", files)
	}
	res := ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + job.ID + "/output/manifests/cm.yaml"}).want(t, http.StatusOK)
	if string(res.body) != "kind: ConfigMap\n" || res.header.Get("Content-Type") != "application/octet-stream" ||
		!strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %q %v", res.body, res.header)
	}
	for _, p := range []string{"manifests/missing.yaml", "../metadata/status.yaml", "%2e%2e/metadata/status.yaml", "manifests"} {
		ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + job.ID + "/output/" + p}).want(t, http.StatusNotFound)
	}

	// A malformed metadata file fails the job, naming the file and its line.
	ts.createTask(t, api.Task{Name: "badstatus", Containers: []api.Container{
		c("write", `printf 'message: ok\nbad: [\n' > "$RUNPLANE_METADATA_DIR/status.yaml"`)}})
	job = api.Job{} // decoding into a used Job would keep fields the answer leaves out
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/badstatus?wait=1m"}).want(t, http.StatusOK).decode(t, &job)
	if job.Status != api.JobFailed || !strings.Contains(job.Reason, "metadata/status.yaml") || !strings.Contains(job.Reason, "line") {
		t.Errorf("bad status.yaml: job %s (%q), want failed naming the file and line", job.Status, job.Reason)
	}

	// The first failing container ends the job.
	ts.createTask(t, api.Task{Name: "stops", Containers: []api.Container{c("one", "exit 3"), c("two", "echo never")}})
	job = api.Job{}
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/stops?wait=1m"}).want(t, http.StatusOK).decode(t, &job)
	if job.Status != api.JobFailed || job.ExitCode == nil || *job.ExitCode != 3 || strings.Contains(job.Stdout, "never") ||
		len(job.Containers) != 2 || job.Containers[1].ExitCode != nil {
		t.Errorf("failing first container: %s exit %v, containers %+v, log %q", job.Status, job.ExitCode, job.Containers, job.Stdout)
	}
	// A command task keeps no files: its output list is empty.
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "plain", Runner: "repo", Command: "true"})
	job = api.Job{}
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/plain?wait=1m"}).want(t, http.StatusOK).decode(t, &job)
	res = ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + job.ID + "/output"}).want(t, http.StatusOK)
	if strings.TrimSpace(string(res.body)) != "[]" {
		t.Errorf("a command job's output list = %s, want []", res.body)
	}
}

// TestTaskContainersInvalid: a task's containers are validated when saved.
func TestTaskContainersInvalid(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, body := range []string{
		`{"name":"t","containers":[]}`, // neither command nor containers: runner required
		`{"name":"t","command":"true","containers":[{"name":"a","command":["true"]}]}`,
		`{"name":"t","containers":[{"name":"a"}]}`,
		`{"name":"t","containers":[{"name":"a","command":["true"]},{"name":"a","command":["true"]}]}`,
		`{"name":"t","containers":[{"name":"A!","command":["true"]}]}`,
		`{"name":"t","containers":[{"name":"a","command":["true"],"workingDir":"relative"}]}`,
		`{"name":"t","containers":[{"name":"a","command":["true"],"env":[{"name":"RUNPLANE_JOB_ID","value":"x"}]}]}`,
		`{"name":"t","containers":[{"name":"a","command":["true"]}],"runner":"ghost"}`,
	} {
		ts.do(t, req{method: "POST", path: "/api/v1/tasks", body: body}).want(t, http.StatusBadRequest)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/t"}).want(t, http.StatusNotFound)
}
