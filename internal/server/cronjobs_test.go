package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// userWith creates a user in its own group bound to roles and logs it in.
func userWith(t *testing.T, ts *testServer, name string, roles ...api.Role) string {
	t.Helper()
	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: name, Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &g)
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: name, Password: "password-" + name,
		Provider: "local", Groups: []string{g.ID}}}).want(t, http.StatusOK)
	for i, r := range roles {
		r.Name = fmt.Sprintf("%s-%d", name, i)
		var stored api.Role
		ts.do(t, req{method: "POST", path: "/api/v1/roles", json: r}).want(t, http.StatusOK).decode(t, &stored)
		ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: r.Name, RoleID: stored.ID,
			GroupID: g.ID}}).want(t, http.StatusOK)
	}
	return ts.login(t, name, "password-"+name)
}

// TestCronJobsKriten runs the requests of Kriten's own API suite (tests/test_cronjobs.py), in its forms and with
// the status codes it expects.
func TestCronJobsKriten(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "runner-abc", GitURL: "https://example.com", Image: "python:3.11"})
	ts.createTask(t, api.Task{Name: "task-abc", Command: "echo hello", Runner: "runner-abc"})

	var list []api.CronJob
	res := ts.do(t, req{method: "GET", path: "/api/v1/cronjobs"}).want(t, http.StatusOK)
	res.decode(t, &list)
	if list == nil || len(list) != 0 || res.header.Get("Content-Range") == "" {
		t.Errorf("empty list = %s (Content-Range %q), want [] with a Content-Range", res.body, res.header.Get("Content-Range"))
	}
	var c api.CronJob
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: `{"name":"abc","task":"task-abc",
		"schedule":"*/5 * * * *","extra_vars":{},"disable":false}`}).want(t, http.StatusOK).decode(t, &c)
	if c.Name != "abc" || c.Owner != "root" || c.Task != "task-abc" || c.NextRun == nil || c.Disable {
		t.Errorf("created = %+v, want abc owned by root with a next run", c)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/abc"}).want(t, http.StatusOK).decode(t, &c)
	if c.Name != "abc" || c.Schedule != "*/5 * * * *" {
		t.Errorf("GET = %+v", c)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 || list[0].Name != "abc" {
		t.Errorf("list = %+v, want abc", list)
	}
	c = api.CronJob{}
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/abc", body: `{"name":"abc","task":"task-abc",
		"schedule":"*/10 * * * *","disable":true}`}).want(t, http.StatusOK).decode(t, &c)
	if !c.Disable || c.Schedule != "*/10 * * * *" || c.NextRun != nil {
		t.Errorf("patched = %+v, want disabled, */10 and no next run", c)
	}
	// Kriten's documentation spells it "disabled".
	c = api.CronJob{}
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/abc", body: `{"disabled":false}`}).want(t, http.StatusOK).decode(t, &c)
	if c.Disable || c.NextRun == nil {
		t.Errorf("patched disabled:false = %+v, want enabled with a next run", c)
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/cronjobs/abc"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/abc"}).want(t, http.StatusNotFound).apiError(t)
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/nonexistent-cronjob"}).want(t, http.StatusNotFound).apiError(t)
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/nonexistent-cronjob",
		body: `{"name":"nonexistent-cronjob","task":"test-task","schedule":"*/5 * * * *"}`}).want(t, http.StatusNotFound).apiError(t)
	ts.do(t, req{method: "DELETE", path: "/api/v1/cronjobs/nonexistent-cronjob"}).want(t, http.StatusNotFound).apiError(t)
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs", noAuth: true}).want(t, http.StatusUnauthorized)
}

// TestCronJobInvalid: every bad cron job answers a 400 (409 for a taken name) that names the field, and stores
// nothing.
func TestCronJobInvalid(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "r", GitURL: "https://example.com", Image: "alpine"})
	ts.createTask(t, api.Task{Name: "typed", Command: "true", Runner: "r",
		Schema: json.RawMessage(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`)})
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: api.Workflow{Name: "flow",
		Parameters: json.RawMessage(`{"type":"object","properties":{"env":{"type":"string","enum":["dev","prod"]}}}`),
		Steps:      []api.Step{{Name: "s", Task: "typed", Input: json.RawMessage(`{"n":1}`)}}}}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: `{"name":"taken","task":"typed","schedule":"@daily","extra_vars":{"n":1}}`}).
		want(t, http.StatusOK)
	tests := []struct {
		name, body string
		status     int
		msg        string // the error message starts with it
		path       string // a failing field's path, when the error lists them
	}{
		{"bad schedule", `{"name":"c","task":"typed","schedule":"61 * * * *","extra_vars":{"n":1}}`, 400, "schedule:", ""},
		{"too few fields", `{"name":"c","task":"typed","schedule":"* *","extra_vars":{"n":1}}`, 400, "schedule:", ""},
		{"@every", `{"name":"c","task":"typed","schedule":"@every 1m","extra_vars":{"n":1}}`, 400, "schedule:", ""},
		{"no schedule", `{"name":"c","task":"typed","extra_vars":{"n":1}}`, 400, "schedule is required", ""},
		{"bad timezone", `{"name":"c","task":"typed","schedule":"@daily","timezone":"Mars/Base","extra_vars":{"n":1}}`, 400, "timezone:", ""},
		{"bad policy", `{"name":"c","task":"typed","schedule":"@daily","concurrency_policy":"Sometimes","extra_vars":{"n":1}}`, 400, "concurrency_policy:", ""},
		{"bad deadline", `{"name":"c","task":"typed","schedule":"@daily","starting_deadline":"soon","extra_vars":{"n":1}}`, 400, "", ""},
		{"extra_vars fail the schema", `{"name":"c","task":"typed","schedule":"@daily","extra_vars":{"n":"one"}}`, 400, "extra_vars:", "/extra_vars/n"},
		{"extra_vars missing a required field", `{"name":"c","task":"typed","schedule":"@daily"}`, 400, "extra_vars:", ""},
		{"workflow parameters", `{"name":"c","workflow":"flow","schedule":"@daily","extra_vars":{"env":"qa"}}`, 400, "extra_vars:", "/extra_vars/env"},
		{"unknown task", `{"name":"c","task":"nope","schedule":"@daily"}`, 400, `task: task "nope" not found`, ""},
		{"unknown workflow", `{"name":"c","workflow":"nope","schedule":"@daily"}`, 400, `workflow: workflow "nope" not found`, ""},
		{"no target", `{"name":"c","schedule":"@daily"}`, 400, "task or workflow is required", ""},
		{"two targets", `{"name":"c","task":"typed","workflow":"flow","schedule":"@daily"}`, 400, "task and workflow", ""},
		{"bad name", `{"name":"C C","task":"typed","schedule":"@daily"}`, 400, "name", ""},
		{"disable twice", `{"name":"c","task":"typed","schedule":"@daily","disable":true,"disabled":false,"extra_vars":{"n":1}}`, 400, "", ""},
		{"unknown owner", `{"name":"c","task":"typed","schedule":"@daily","owner":"ghost","extra_vars":{"n":1}}`, 400, `owner: user "ghost" not found`, ""},
		{"name taken", `{"name":"taken","task":"typed","schedule":"@daily","extra_vars":{"n":1}}`, 409, `cronjob "taken" already exists`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: tt.body}).want(t, tt.status)
			e := res.apiError(t)
			if !strings.HasPrefix(e.Error, tt.msg) {
				t.Errorf("error %q, want it to start with %q", e.Error, tt.msg)
			}
			if tt.path != "" && !slices.ContainsFunc(e.Fields, func(f api.FieldError) bool { return f.Path == tt.path }) {
				t.Errorf("error fields %+v, want one at %s", e.Fields, tt.path)
			}
		})
	}
	var list []api.CronJob
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 {
		t.Errorf("%d cron jobs stored, want only the first", len(list))
	}
	// An update is checked the same way, and a bad one changes nothing.
	ts.do(t, req{method: "PUT", path: "/api/v1/cronjobs/taken", body: `{"task":"typed","schedule":"0 0 31 2 *","extra_vars":{"n":1}}`}).
		want(t, http.StatusBadRequest)
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/taken", body: `{"extra_vars":{"n":true}}`}).want(t, http.StatusBadRequest)
	var c api.CronJob
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/taken"}).want(t, http.StatusOK).decode(t, &c)
	if c.Schedule != "@daily" || string(c.ExtraVars) != `{"n":1}` {
		t.Errorf("after refused updates: %+v, want it unchanged", c)
	}
}

// TestCronJobRights: saving a cron job needs write access to it and to the jobs of its task; it runs as its owner,
// the caller, and only a caller who may write a user may make that user the owner.
func TestCronJobRights(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "r", GitURL: "https://example.com", Image: "alpine"})
	ts.createTask(t, api.Task{Name: "hello", Command: "true", Runner: "r"})
	ts.createTask(t, api.Task{Name: "other", Command: "true", Runner: "r"})
	cronWrite := api.Role{Resource: api.ResourceCronJobs, ResourceIDs: []string{"*"}, Access: api.AccessWrite}
	runHello := api.Role{Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessWrite}
	onlyCron := userWith(t, ts, "only-cron", cronWrite)
	alice := userWith(t, ts, "alice", cronWrite, runHello)
	readOne := userWith(t, ts, "read-one", api.Role{Resource: api.ResourceCronJobs, ResourceIDs: []string{"mine"}, Access: api.AccessRead})
	body := func(name, task, owner string) string {
		return fmt.Sprintf(`{"name":%q,"task":%q,"schedule":"@hourly","owner":%q}`, name, task, owner)
	}
	tests := []struct {
		name, as, body string
		status         int
		owner          string
	}{
		{"no jobs write on the task", onlyCron, body("a", "hello", ""), 403, ""},
		{"another task than granted", alice, body("b", "other", ""), 403, ""},
		{"owner is the caller", alice, body("mine", "hello", ""), 200, "alice"},
		{"owner named as oneself", alice, body("c", "hello", "alice"), 200, "alice"},
		{"non-admin spoofing root", alice, body("d", "hello", "root"), 403, ""},
		{"non-admin naming a missing user learns nothing", alice, body("e", "hello", "ghost"), 403, ""},
		{"admin names another owner", "", body("f", "hello", "alice"), 200, "alice"},
		{"no cronjobs write", readOne, body("g", "hello", ""), 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: tt.body, as: tt.as}).want(t, tt.status)
			if tt.status != http.StatusOK {
				res.apiError(t)
				return
			}
			var c api.CronJob
			res.decode(t, &c)
			if c.Owner != tt.owner {
				t.Errorf("owner = %q, want %q", c.Owner, tt.owner)
			}
		})
	}
	// A patch by someone else without an owner makes them the owner; naming the old owner is spoofing.
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/f", body: `{"owner":"root"}`, as: alice}).want(t, http.StatusForbidden)
	var c api.CronJob
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/f", body: `{"disable":true}`}).want(t, http.StatusOK).decode(t, &c)
	if c.Owner != "root" || !c.Disable {
		t.Errorf("after root's patch: owner %q disable %v, want root and disabled", c.Owner, c.Disable)
	}
	// Lists hold what the caller may read.
	var list []api.CronJob
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs", as: readOne}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 || list[0].Name != "mine" {
		t.Errorf("read-one lists %+v, want only mine", list)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/c", as: readOne}).want(t, http.StatusForbidden)
	// Firing by hand needs the same rights as saving.
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs/mine/trigger", as: onlyCron}).want(t, http.StatusForbidden)
}

// TestCronJobTrigger: POST /cronjobs/{id}/trigger fires a (disabled) cron job now, as its owner, with its
// extra_vars; the job shows what started it and the cron job its last job. A cron job whose owner lost the right
// is refused and runs nothing.
func TestCronJobTrigger(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "echo", Runner: "repo", Command: `echo "got $EXTRA_VARS"`,
		Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)})
	var c api.CronJob
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: `{"name":"now","task":"echo","schedule":"@yearly",
		"disable":true,"extra_vars":{"n":42}}`}).want(t, http.StatusOK).decode(t, &c)
	var schema map[string]any
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/now/schema"}).want(t, http.StatusOK).decode(t, &schema)
	if schema["type"] != "object" {
		t.Errorf("schema = %v, want the task's", schema)
	}
	var created api.JobCreated
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs/now/trigger"}).want(t, http.StatusOK).decode(t, &created)
	job := ts.waitFinal(t, created.ID)
	if job.Status != api.JobSucceeded || !strings.Contains(job.Stdout, `got {"n":42}`) || job.Owner != "root" ||
		job.Trigger == nil || job.Trigger.Kind != api.TriggerCron || job.Trigger.Name != "now" || job.Trigger.ScheduledTime == nil {
		t.Fatalf("job = %s owner %s stdout %q trigger %+v; want succeeded, root, the extra_vars and a cron trigger",
			job.Status, job.Owner, job.Stdout, job.Trigger)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/now"}).want(t, http.StatusOK).decode(t, &c)
	if c.LastJob != created.ID || c.LastStatus != api.CronFired || c.LastRun == nil {
		t.Errorf("cron job after the trigger: %+v, want last job %s fired", c, created.ID)
	}

	// bob's cron job, then bob loses his right to run echo's jobs.
	bob := userWith(t, ts, "bob", api.Role{Resource: api.ResourceCronJobs, ResourceIDs: []string{"*"}, Access: api.AccessWrite},
		api.Role{Resource: api.ResourceJobs, ResourceIDs: []string{"echo"}, Access: api.AccessWrite})
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", as: bob, body: `{"name":"bobs","task":"echo","schedule":"@yearly"}`}).
		want(t, http.StatusOK)
	var bindings []api.RoleBinding
	ts.do(t, req{method: "GET", path: "/api/v1/role_bindings"}).want(t, http.StatusOK).decode(t, &bindings)
	for _, b := range bindings {
		if b.Name == "bob-1" {
			ts.do(t, req{method: "DELETE", path: "/api/v1/role_bindings/" + b.ID}).want(t, http.StatusOK)
		}
	}
	e := ts.do(t, req{method: "POST", path: "/api/v1/cronjobs/bobs/trigger"}).want(t, http.StatusForbidden).apiError(t)
	if !strings.Contains(e.Error, `bob may not write jobs of "echo"`) {
		t.Errorf("refused trigger error %q, want it to say bob may not", e.Error)
	}
	c = api.CronJob{}
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/bobs"}).want(t, http.StatusOK).decode(t, &c)
	if c.LastStatus != api.CronRefused || c.LastJob != "" {
		t.Errorf("refused cron job: status %q last job %q, want refused and none", c.LastStatus, c.LastJob)
	}
}

// TestCronJobRunsOnSchedule: on a real server, a cron job with a seconds schedule runs real jobs, one per second,
// each recorded with its scheduled time.
func TestCronJobRunsOnSchedule(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "tick", Runner: "repo", Command: `echo "tick $EXTRA_VARS"`})
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: `{"name":"every-second","task":"tick",
		"schedule":"* * * * * *","extra_vars":{"k":"v"},"concurrency_policy":"Allow"}`}).want(t, http.StatusOK)
	var ran []api.Job
	deadline := time.Now().Add(time.Minute)
	for len(ran) < 2 && time.Now().Before(deadline) {
		var jobs []api.Job
		ts.do(t, req{method: "GET", path: "/api/v1/jobs"}).want(t, http.StatusOK).decode(t, &jobs)
		ran = ran[:0]
		for _, j := range jobs {
			if j.Trigger != nil && j.Trigger.Name == "every-second" && j.Status == api.JobSucceeded {
				ran = append(ran, j)
			}
		}
		time.Sleep(100 * time.Millisecond) // polling the API, as a client would
	}
	if len(ran) < 2 {
		t.Fatalf("%d jobs of the cron job succeeded within a minute, want 2", len(ran))
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/every-second", body: `{"disable":true}`}).want(t, http.StatusOK)
	seen := map[time.Time]bool{}
	for _, j := range ran {
		full := ts.waitFinal(t, j.ID)
		at := *full.Trigger.ScheduledTime
		if seen[at] || at.Nanosecond() != 0 || !strings.Contains(full.Stdout, `tick {"k":"v"}`) {
			t.Errorf("job %s: scheduled %v (seen before: %v), stdout %q", j.ID, at, seen[at], full.Stdout)
		}
		seen[at] = true
	}
}
