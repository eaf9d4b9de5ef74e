package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// onEachStore runs test on a server on SQLite and on one on PostgreSQL.
func onEachStore(t *testing.T, test func(t *testing.T, opts ...func(*Config))) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.NewDatabase(t)
		test(t, func(c *Config) { c.Store = dsn })
	})
}

// dryWorld is what the dry-run tests change, or must not.
type dryWorld struct {
	group api.Group
	role  api.Role
	user  api.User
}

func seedDryWorld(t *testing.T, ts *testServer) dryWorld {
	t.Helper()
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "t", Runner: "repo", Command: "true"})
	var w dryWorld
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "ops", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &w.group)
	ts.do(t, req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "read-runners", Resource: "runners",
		ResourceIDs: []string{"*"}, Access: api.AccessRead}}).want(t, http.StatusOK).decode(t, &w.role)
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "ann", Password: "password-ann",
		Provider: "local"}}).want(t, http.StatusOK).decode(t, &w.user)
	return w
}

// snapshot is every object and audit entry the API shows root, as JSON: a dry run must leave it as it was.
func (ts *testServer) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"runners", "tasks", "tasks/t", "tasks/t/schema", "runners/repo/secret", "users", "groups",
		"roles", "role_bindings", "cronjobs", "audit_logs?max=10000"} {
		res := ts.do(t, req{method: "GET", path: "/api/v1/" + p}).want(t, http.StatusOK)
		fmt.Fprintf(&b, "%s: %s\n", p, res.body)
	}
	return b.String()
}

// waitAudit waits until the audit log holds an entry of event by user (the Auditor writes some asynchronously).
func (ts *testServer) waitAudit(t *testing.T, user, event string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var logs []api.AuditLog
		ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=10000"}).want(t, http.StatusOK).decode(t, &logs)
		for _, e := range logs {
			if e.Username == user && e.EventType == event {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry of %s by %s", event, user)
		}
		runtime.Gosched()
	}
}

// TestDryRunChangesNothing: every kind of change sent with dryRun answers what it would for real (200 with the
// object as it would be stored, or the 4xx the real request gets) and leaves every object and the audit log as
// they were.
func TestDryRunChangesNothing(t *testing.T) { onEachStore(t, testDryRunChangesNothing) }

func testDryRunChangesNothing(t *testing.T, opts ...func(*Config)) {
	ts := startServer(t, opts...)
	w := seedDryWorld(t, ts)
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", body: `{"name": "c0", "task": "t", "schedule": "@yearly", "disable": true}`}).
		want(t, http.StatusOK)
	readOnly := makePersona(t, ts, "reader", &api.Role{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessRead})
	var bb strings.Builder
	bb.WriteString(`{"$defs": {`)
	for i := range 22 {
		fmt.Fprintf(&bb, `"d%d": {"anyOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d", "required": ["x"]}]}, `, i, i+1, i+1)
	}
	bb.WriteString(`"d22": {"type": "object", "required": ["never"]}}, "$ref": "#/$defs/d0"}`)
	bomb := bb.String()

	tests := []struct {
		name, method, path, body string
		as                       string
		status                   int
		want                     string // in the answer's body
	}{
		{"create runner", "POST", "/api/v1/runners?dryRun=All", `{"name": "new", "gitURL": "https://example.com/r.git", "token": "tok"}`,
			"", 200, `"name":"new"`},
		{"create runner, dry_run spelling", "POST", "/api/v1/runners?dry_run=true", `{"name": "new2", "gitURL": "https://example.com/r.git"}`,
			"", 200, `"branch":"main"`},
		{"create runner: name taken", "POST", "/api/v1/runners?dryRun=All", `{"name": "repo", "gitURL": "https://example.com/r.git"}`,
			"", 409, "already exists"},
		{"create runner: credentials in gitURL", "POST", "/api/v1/runners?dryRun=All", `{"name": "c", "gitURL": "https://u:p@example.com/r.git"}`,
			"", 400, ""},
		{"create runner: forbidden", "POST", "/api/v1/runners?dryRun=All", `{"name": "new", "gitURL": "https://example.com/r.git"}`,
			readOnly, 403, ""},
		{"update runner", "PATCH", "/api/v1/runners/repo?dryRun=All", `{"branch": "dev"}`, "", 200, `"branch":"dev"`},
		{"set runner secret", "PUT", "/api/v1/runners/repo/secret?dryRun=All", `{"K": "v"}`, "", 200, `"K":"************"`},
		{"delete runner in use", "DELETE", "/api/v1/runners/repo?dryRun=All", "", "", 409, "used by"},
		{"create task", "POST", "/api/v1/tasks?dryRun=All", `{"name": "new", "runner": "repo", "command": "true"}`, "", 200, `"name":"new"`},
		{"create task: schema too expensive", "POST", "/api/v1/tasks?dryRun=All",
			`{"name": "b", "runner": "repo", "command": "true", "schema": ` + bomb + `}`, "", 400, "too expensive"},
		{"create task: no such runner", "POST", "/api/v1/tasks?dryRun=All", `{"name": "x", "runner": "nope", "command": "true"}`, "", 400, "does not exist"},
		{"update task", "PUT", "/api/v1/tasks/t?dryRun=All", `{"runner": "repo", "command": "false"}`, "", 200, `"command":"false"`},
		{"set schema", "PUT", "/api/v1/tasks/t/schema?dryRun=All", `{"type": "object"}`, "", 200, `"type":"object"`},
		{"delete task", "DELETE", "/api/v1/tasks/t?dryRun=All", "", "", 200, "deleted"},
		{"create user in a group", "POST", "/api/v1/users?dryRun=All",
			`{"username": "bob", "password": "password-bob", "provider": "local", "groups": ["` + w.group.ID + `"]}`, "", 200, `"username":"bob"`},
		{"change a password", "PATCH", "/api/v1/users/" + w.user.ID + "?dryRun=All", `{"password": "another-password"}`, "", 200, `"username":"ann"`},
		{"delete user", "DELETE", "/api/v1/users/" + w.user.ID + "?dryRun=All", "", "", 200, ""},
		{"create group with a member", "POST", "/api/v1/groups?dryRun=All",
			`{"name": "devs", "provider": "local", "user_ids": ["` + w.user.ID + `"]}`, "", 200, w.user.ID},
		{"add group members", "POST", "/api/v1/groups/" + w.group.ID + "/users?dryRun=All",
			`[{"name": "ann", "provider": "local"}]`, "", 200, ""},
		{"create role", "POST", "/api/v1/roles?dryRun=All", `{"name": "r2", "resource": "tasks", "resource_ids": ["*"], "access": "read"}`,
			"", 200, `"name":"r2"`},
		{"create role: escalation", "POST", "/api/v1/roles?dryRun=All",
			`{"name": "r3", "resource": "*", "resource_ids": ["*"], "access": "write"}`, readOnly, 403, ""},
		{"update role", "PATCH", "/api/v1/roles/" + w.role.ID + "?dryRun=All", `{"access": "write"}`, "", 200, `"access":"write"`},
		{"create role binding", "POST", "/api/v1/role_bindings?dryRun=All",
			`{"name": "b", "role_id": "` + w.role.ID + `", "group_id": "` + w.group.ID + `"}`, "", 200, `"name":"b"`},
		{"create cron job", "POST", "/api/v1/cronjobs?dryRun=All", `{"name": "c1", "task": "t", "schedule": "*/5 * * * *"}`,
			"", 200, `"name":"c1"`},
		{"create cron job: bad schedule", "POST", "/api/v1/cronjobs?dryRun=All", `{"name": "c2", "task": "t", "schedule": "* *"}`,
			"", 400, "schedule:"},
		{"update cron job", "PATCH", "/api/v1/cronjobs/c0?dryRun=All", `{"schedule": "@daily"}`, "", 200, `"schedule":"@daily"`},
		{"delete cron job", "DELETE", "/api/v1/cronjobs/c0?dryRun=All", "", "", 200, "deleted"},
		{"firing a cron job cannot dry-run", "POST", "/api/v1/cronjobs/c0/trigger?dryRun=All", "", "", 400, "cannot be dry-run"},
		{"bad dryRun value", "POST", "/api/v1/runners?dryRun=Yes", `{"name": "new", "gitURL": "https://example.com/r.git"}`, "", 400, "dryRun"},
		{"job submission cannot dry-run", "POST", "/api/v1/jobs/t?dryRun=All", `{}`, "", 400, "cannot be dry-run"},
		{"token creation cannot dry-run", "POST", "/api/v1/api_tokens?dryRun=All", `{}`, "", 400, "cannot be dry-run"},
		{"login cannot dry-run", "POST", "/api/v1/login?dryRun=All", `{"username": "ann", "password": "password-ann"}`, "", 400, "cannot be dry-run"},
		{"logout cannot dry-run", "POST", "/api/v1/logout?dry_run=true", "", "", 400, "cannot be dry-run"},
	}
	ts.waitAudit(t, "reader", "login")
	before := ts.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do(t, req{method: tt.method, path: tt.path, body: tt.body, as: tt.as}).want(t, tt.status)
			if !strings.Contains(string(res.body), tt.want) {
				t.Errorf("%s %s answered %s, want it to contain %s", tt.method, tt.path, res.body, tt.want)
			}
			if diff := cmp.Diff(before, ts.snapshot(t)); diff != "" {
				t.Errorf("%s %s changed what the API shows (-before +after):\n%s", tt.method, tt.path, diff)
			}
		})
	}
	// The password change was not made: ann's password is the old one.
	ts.login(t, "ann", "password-ann")
}

// TestDryRunList: POST /api/v1/dry_run runs requests in order as one dry run, each seeing the ones before (a task
// naming a runner the list creates), stops at the first that fails, and stores nothing.
func TestDryRunList(t *testing.T) { onEachStore(t, testDryRunList) }

func testDryRunList(t *testing.T, opts ...func(*Config)) {
	ts := startServer(t, opts...)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "t", Runner: "repo", Command: "true"})
	type item struct {
		Method string          `json:"method"`
		Path   string          `json:"path"`
		Body   json.RawMessage `json:"body,omitempty"`
		As     string          `json:"as,omitempty"`
	}
	type results struct {
		Results []struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"results"`
	}
	runner := item{"POST", "/api/v1/runners", json.RawMessage(`{"name": "r2", "gitURL": "https://example.com/r.git"}`), ""}
	task := item{"POST", "/api/v1/tasks", json.RawMessage(`{"name": "t2", "runner": "r2", "command": "true"}`), ""}
	group := item{"POST", "/api/v1/groups", json.RawMessage(`{"name": "g2", "provider": "local"}`), "g"}
	binding := item{"POST", "/api/v1/role_bindings", json.RawMessage(`{"name": "b2", "role_name": "Admin", "subject_kind": "groups",
		"subject_provider": "local", "subject_name": "g2"}`), ""}
	user := item{"POST", "/api/v1/users", json.RawMessage(`{"username": "u2", "password": "password-u2", "groups": ["$ref:g"]}`), "u"}
	members := item{"PATCH", "/api/v1/groups/$ref:g", json.RawMessage(`{"user_ids": ["$ref:u"]}`), ""}
	badTask := item{"POST", "/api/v1/tasks", json.RawMessage(`{"name": "t3", "runner": "r2", "command": ""}`), ""}
	tests := []struct {
		name     string
		items    []item
		statuses []int
	}{
		{"a task naming a runner created before it", []item{runner, task}, []int{200, 200}},
		{"a binding naming a group created before it", []item{group, binding}, []int{200, 200}},
		{"stops at the first failure", []item{runner, badTask, task}, []int{200, 400}},
		{"a task whose runner the list does not create", []item{task}, []int{400}},
		{"ids of objects created before, by reference", []item{group, user, members}, []int{200, 200, 200}},
		{"a job cannot be dry-run", []item{{"POST", "/api/v1/jobs/t", json.RawMessage(`{}`), ""}}, []int{400}},
	}
	// root's login is audited asynchronously: an entry written after this snapshot is no change of the dry run's.
	ts.waitAudit(t, "root", "login")
	before := ts.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got results
			ts.do(t, req{method: "POST", path: "/api/v1/dry_run", json: map[string]any{"requests": tt.items}}).
				want(t, http.StatusOK).decode(t, &got)
			var statuses []int
			for _, r := range got.Results {
				statuses = append(statuses, r.Status)
			}
			if !cmp.Equal(statuses, tt.statuses) {
				t.Errorf("statuses = %v, want %v (%+v)", statuses, tt.statuses, got)
			}
			if diff := cmp.Diff(before, ts.snapshot(t)); diff != "" {
				t.Errorf("the dry run changed what the API shows (-before +after):\n%s", diff)
			}
		})
	}
	for _, body := range []string{
		`{"requests": [{"method": "GET", "path": "/healthz"}]}`,
		`{"requests": [{"method": "PATCH", "path": "/api/v1/groups/$ref:nope", "body": {}}]}`,
		`{"requests": [{"method": "POST", "path": "/api/v1/dry_run", "body": {"requests": []}}]}`,
		`{"requests": [{"method": "POST", "path": "/api/v1/login", "body": {"username": "root", "password": "x"}}]}`,
		`{"requests": [{"method": "GET", "path": "/api/v1/runners"}]}`,
	} {
		res := ts.do(t, req{method: "POST", path: "/api/v1/dry_run", body: body})
		var got results
		if res.status == http.StatusOK {
			res.decode(t, &got)
		}
		if res.status != http.StatusBadRequest && (len(got.Results) != 1 || got.Results[0].Status != http.StatusBadRequest) {
			t.Errorf("POST /api/v1/dry_run %s = %d %s, want 400", body, res.status, res.body)
		}
	}
}

// TestDryRunConcurrent: real creates sent while dry runs of others run are all stored, the dry runs' none.
func TestDryRunConcurrent(t *testing.T) { onEachStore(t, testDryRunConcurrent) }

func testDryRunConcurrent(t *testing.T, opts ...func(*Config)) {
	ts := startServer(t, opts...)
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"name": "real-%d", "gitURL": "https://example.com/r.git"}`, i)
			if res := ts.do(t, req{method: "POST", path: "/api/v1/runners", body: body}); res.status != http.StatusOK {
				t.Errorf("real create %d = %d %s", i, res.status, res.body)
			}
		}()
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"name": "dry-%d", "gitURL": "https://example.com/r.git"}`, i)
			if res := ts.do(t, req{method: "POST", path: "/api/v1/runners?dryRun=All", body: body}); res.status != http.StatusOK {
				t.Errorf("dry create %d = %d %s", i, res.status, res.body)
			}
		}()
	}
	wg.Wait()
	var all []api.Runner
	ts.do(t, req{method: "GET", path: "/api/v1/runners"}).want(t, http.StatusOK).decode(t, &all)
	var names []string
	for _, r := range all {
		names = append(names, r.Name)
	}
	if len(names) != n || strings.Contains(strings.Join(names, ","), "dry-") {
		t.Errorf("runners = %v, want the %d real ones only", names, n)
	}
}
