package server

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
)

// persona is a caller of the exhaustive RBAC test: a user in a group bound to one role (or none).
type persona struct {
	name  string
	role  *api.Role // nil: a user with no roles
	token string
	user  string
}

// rbacWorld is what the exhaustive test acts on: one object of every resource, addressed by the value its routes'
// wildcard takes, and the name a role limited to that one object lists.
type rbacWorld struct {
	path map[string]string // resource → path value (name or id)
	name map[string]string // resource → what a one-id role lists
	seq  int
}

// TestRBACEveryRoute walks the whole route table as callers with no credentials (401), no roles (403), read-only,
// write, limited to one object, and "*" (read and write) on every resource, and checks each answer against a model
// of the access rules written independently of the rbac package: allowed requests get past authorization (any
// status but 401 and 403), denied ones get 403.
func TestRBACEveryRoute(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	w := seedRBACWorld(t, ts)

	personas := []*persona{{name: "no roles"}}
	personas = append(personas,
		&persona{name: "*-read", role: &api.Role{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessRead}},
		&persona{name: "*-write", role: &api.Role{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}})
	for _, res := range []string{"runners", "tasks", "jobs", "users", "groups", "roles", "role_bindings", "api_tokens", "audit_logs", "workflows", "runs", "cronjobs", "webhooks", "event_sinks", "events", "event_rules", "state_stores", "destinations", "promises", "resources", "composition_definitions"} {
		personas = append(personas,
			&persona{name: res + "-read", role: &api.Role{Resource: res, ResourceIDs: []string{"*"}, Access: api.AccessRead}},
			&persona{name: res + "-write", role: &api.Role{Resource: res, ResourceIDs: []string{"*"}, Access: api.AccessWrite}},
			&persona{name: res + "-one", role: &api.Role{Resource: res, ResourceIDs: []string{w.name[res]}, Access: api.AccessWrite}})
	}
	for i, p := range personas {
		p.user = fmt.Sprintf("persona-%d", i)
		p.token = makePersona(t, ts, p.user, p.role)
	}

	routes := ts.api.Routes()
	// Deletes go last, so every other request finds the objects in place.
	// Revoking every credential of the caller goes after them: it ends the personas' sessions.
	last := func(r httpapi.Route) int {
		if r.Method == http.MethodDelete && r.Path == "/api/v1/api_tokens" {
			return 2
		}
		return boolInt(r.Method == http.MethodDelete && !strings.HasSuffix(r.Path, "/users") && !strings.HasSuffix(r.Path, "/secret"))
	}
	slices.SortStableFunc(routes, func(a, b httpapi.Route) int { return last(a) - last(b) })
	wild := regexp.MustCompile(`\{([^}]*)\}`)
	for _, rt := range routes {
		if rt.Public {
			continue
		}
		path := wild.ReplaceAllStringFunc(rt.Path, func(string) string {
			if rt.Param == "task" {
				return w.name[api.ResourceJobs] // a submission names the task
			}
			if rt.Param == "workflow" {
				return w.name[api.ResourceRuns] // a run is started by its workflow's name
			}
			return w.path[rt.Resource]
		})
		// Without credentials: 401.
		if res := ts.do(t, req{method: rt.Method, path: path, body: "{}", noAuth: true}); res.status != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials = %d, want 401", rt.Method, path, res.status)
		}
		// One-object personas first, so a delete they may do finds the object.
		order := slices.Clone(personas)
		slices.SortStableFunc(order, func(a, b *persona) int {
			return boolInt(!strings.HasSuffix(a.name, "-one")) - boolInt(!strings.HasSuffix(b.name, "-one"))
		})
		for _, p := range order {
			w.seq++
			body := rbacBody(rt, w)
			as := p.token
			if rt.Path == "/api/v1/logout" { // it ends the session it is sent with
				as = ts.login(t, p.user, "password-"+p.user)
			}
			res := ts.do(t, req{method: rt.Method, path: path, body: body, as: as, header: rbacHeader(rt, w)})
			allowed := expectAllowed(rt, p, w)
			switch {
			case allowed && (res.status == http.StatusUnauthorized || res.status == http.StatusForbidden):
				t.Errorf("%s %s as %s = %d %s, want it allowed", rt.Method, path, p.name, res.status, res.body)
			case !allowed && res.status != http.StatusForbidden:
				t.Errorf("%s %s as %s = %d %s, want 403", rt.Method, path, p.name, res.status, res.body)
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// expectAllowed is the model: may persona p get past authorization on route rt?
func expectAllowed(rt httpapi.Route, p *persona, w *rbacWorld) bool {
	if rt.Authz == httpapi.Authenticated {
		return true
	}
	r := p.role
	if r != nil && r.Resource == api.ResourceRuns && rt.Resource == api.ResourceJobs && rt.Authz == httpapi.List {
		return true // a reader of runs lists their jobs (GET /jobs?run=); the list keeps others out
	}
	if r != nil && r.Resource == api.ResourceResources && rt.Resource == api.ResourcePromises && rt.Method == http.MethodGet {
		return true // a requester of a promise's resources reads the promise
	}
	if r == nil || (r.Resource != "*" && r.Resource != rt.Resource) {
		return false
	}
	write := rt.Method != http.MethodGet
	if write && r.Access != api.AccessWrite {
		return false
	}
	all := r.ResourceIDs[0] == "*"
	if handsOn(rt) && (r.Resource != "*" || !all) {
		return false
	}
	switch rt.Authz {
	case httpapi.List:
		return true
	case httpapi.Create:
		// Creates name a new object, which a role limited to one object does not cover. A task also needs read
		// access to its runner.
		if rt.Resource == api.ResourceTasks && r.Resource != "*" {
			return false
		}
		// Event rules also need write access to the runs they start.
		if rt.Resource == api.ResourceEventRules && r.Resource != "*" {
			return false
		}
		return all
	case httpapi.Object:
		return true // every object route acts on the world's object, which one-id roles name
	}
	return false
}

// handsOn reports whether rt, with the body rbacBody gives it, hands on access the caller must hold (httpapi's
// escalation rules): creating or patching a role or a binding, whose roles grant runners access and whose group is
// the world's. PUT is left out: its empty body fails validation first.
//
// Saving a cron job (a create, by POST or PUT, or a PATCH) or firing it (POST .../trigger) needs write access to
// its task's jobs too.
func handsOn(rt httpapi.Route) bool {
	if rt.Resource == api.ResourceCronJobs {
		return rt.Method == http.MethodPost || rt.Method == http.MethodPatch || rt.Authz == httpapi.Create
	}
	return (rt.Resource == api.ResourceRoles || rt.Resource == api.ResourceRoleBindings) &&
		(rt.Method == http.MethodPost || rt.Method == http.MethodPatch)
}

// rbacBody is a request body that passes validation where the route takes one, naming a fresh object on creates.
func rbacBody(rt httpapi.Route, w *rbacWorld) string {
	n := fmt.Sprintf("new-%d", w.seq)
	if rt.Authz != httpapi.Create {
		if strings.HasSuffix(rt.Path, "/users") {
			return "[]"
		}
		return "{}"
	}
	switch rt.Resource {
	case api.ResourceRunners:
		return fmt.Sprintf(`{"name":%q,"gitURL":"file:///nonexistent","image":"x"}`, n)
	case api.ResourceTasks:
		return fmt.Sprintf(`{"name":%q,"runner":"repo","command":"true"}`, n)
	case api.ResourceUsers:
		return fmt.Sprintf(`{"username":%q,"password":"password-123"}`, n)
	case api.ResourceGroups:
		return fmt.Sprintf(`{"name":%q,"provider":"local"}`, n)
	case api.ResourceRoles:
		return fmt.Sprintf(`{"name":%q,"resource":"runners","resource_ids":["*"],"access":"read"}`, n)
	case api.ResourceRoleBindings:
		return fmt.Sprintf(`{"name":%q,"role_name":"WriteAllRunners","subject_kind":"groups","subject_provider":"local","subject_name":%q}`, n, w.name[api.ResourceGroups])
	case api.ResourceWorkflows:
		return fmt.Sprintf(`{"name":%q,"steps":[{"name":"s","image":"alpine","command":["true"]}]}`, n)
	case api.ResourceCronJobs:
		return fmt.Sprintf(`{"name":%q,"task":"target","schedule":"@yearly","disable":true}`, n)
	case api.ResourceEventRules:
		return fmt.Sprintf(`{"name":%q,"apiVersion":"v2","actions":[]}`, n)
	case api.ResourceStateStores:
		return fmt.Sprintf(`{"kind":"DirectoryStateStore","name":%q,"path":"/srv/%s"}`, n, n)
	case api.ResourceDestinations:
		return fmt.Sprintf(`{"name":%q,"stateStoreRef":{"kind":"DirectoryStateStore","name":"target"}}`, n)
	case api.ResourcePromises:
		return fmt.Sprintf(`{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Promise","metadata":{"name":%q}}`, n)
	case api.ResourceCompositionDefinitions:
		return fmt.Sprintf(`{"apiVersion":"core.krateo.io/v1alpha1","kind":"CompositionDefinition","metadata":{"name":%q,"namespace":"target"},`+
			`"spec":{"chart":{"url":"https://127.0.0.1:1/c.tgz"}}}`, n)
	}
	return "{}"
}

// rbacHeader makes an event posted a binary-mode CloudEvent of a fresh source (rbacBody's "{}" is its data).
func rbacHeader(rt httpapi.Route, w *rbacWorld) map[string]string {
	if rt.Resource != api.ResourceEvents || rt.Method != http.MethodPost {
		return nil
	}
	return map[string]string{"ce-specversion": "1.0", "ce-id": fmt.Sprint(w.seq), "ce-type": "t",
		"ce-source": fmt.Sprintf("new-%d", w.seq)}
}

// seedRBACWorld creates, as root, one object of each resource for the routes to act on.
func seedRBACWorld(t *testing.T, ts *testServer) *rbacWorld {
	t.Helper()
	w := &rbacWorld{path: map[string]string{}, name: map[string]string{}}
	set := func(res, path, name string) { w.path[res], w.name[res] = path, name }
	set(api.ResourceRunners, "target", "target")
	ts.createRunner(t, api.Runner{Name: "target", GitURL: "file:///nonexistent"})
	set(api.ResourceTasks, "target", "target")
	ts.createTask(t, api.Task{Name: "target", Runner: "repo", Command: "true"})
	var job api.JobCreated
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/target?wait=0"}).want(t, http.StatusOK).decode(t, &job)
	// Jobs are addressed by id and authorized by their task; submissions are addressed by the task.
	set(api.ResourceJobs, job.ID, "target")
	// Runs are addressed by id and authorized by their workflow; starting one is addressed by the workflow.
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: api.Workflow{Name: "target",
		Steps: []api.Step{{Name: "s", Image: "alpine", Command: api.Strings{"true"}}}}}).want(t, http.StatusOK)
	set(api.ResourceWorkflows, "target", "target")
	var run api.RunCreated
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/target/runs?wait=0"}).want(t, http.StatusOK).decode(t, &run)
	set(api.ResourceRuns, run.ID, "target")
	ts.do(t, req{method: "POST", path: "/api/v1/cronjobs", json: api.CronJob{Name: "target", Task: "target",
		Schedule: "@yearly", Disable: true}}).want(t, http.StatusOK)
	set(api.ResourceCronJobs, "target", "target")
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "target", Password: "password-123", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	set(api.ResourceUsers, u.ID, "target")
	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "target", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &g)
	set(api.ResourceGroups, g.ID, "target")
	var r api.Role
	ts.do(t, req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "target", Resource: "runners", ResourceIDs: []string{"*"}, Access: "read"}}).
		want(t, http.StatusOK).decode(t, &r)
	set(api.ResourceRoles, r.ID, "target")
	var b api.RoleBinding
	ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "target", RoleID: r.ID, GroupID: g.ID}}).
		want(t, http.StatusOK).decode(t, &b)
	set(api.ResourceRoleBindings, b.ID, "target")
	var tok api.APIToken
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "target"}}).
		want(t, http.StatusOK).decode(t, &tok)
	set(api.ResourceAPITokens, tok.ID, tok.ID)
	var hook api.Webhook
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", json: api.Webhook{Task: "target"}}).
		want(t, http.StatusOK).decode(t, &hook)
	set(api.ResourceWebhooks, hook.ID, hook.ID)
	ts.do(t, req{method: "POST", path: "/api/v1/events", body: "{}", header: map[string]string{"ce-specversion": "1.0",
		"ce-id": "target-1", "ce-type": "t", "ce-source": "target"}}).want(t, http.StatusAccepted)
	set(api.ResourceEvents, "target-1", "target") // events are addressed by id and authorized by their source
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", json: api.EventRules{Name: "target", APIVersion: "v2"}}).
		want(t, http.StatusOK)
	set(api.ResourceEventRules, "target", "target")
	ts.Server.audit.Flush()
	var logs []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=1"}).want(t, http.StatusOK).decode(t, &logs)
	if len(logs) != 1 {
		t.Fatalf("audit log has %d entries after seeding, want some", len(logs))
	}
	set(api.ResourceAuditLogs, logs[0].ID, logs[0].ID)
	ts.do(t, req{method: "POST", path: "/api/v1/event_sinks", json: api.EventSink{Name: "target", URL: "https://h/e"}}).
		want(t, http.StatusOK)
	set(api.ResourceEventSinks, "target", "target")
	ts.do(t, req{method: "POST", path: "/api/v1/state_stores", json: api.StateStore{Kind: api.KindDirectoryStateStore,
		Name: "target", Path: "/srv/target"}}).want(t, http.StatusOK)
	set(api.ResourceStateStores, "target", "target")
	ts.do(t, req{method: "POST", path: "/api/v1/destinations", json: api.Destination{Name: "target",
		StateStoreRef: api.StateStoreRef{Kind: api.KindDirectoryStateStore, Name: "target"}}}).want(t, http.StatusOK)
	set(api.ResourceDestinations, "target", "target")
	// Requests are addressed by their promise's name (and their own, also "target"), and authorized by the former.
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: redisPromise("target", "v1", "")}).want(t, http.StatusOK)
	set(api.ResourcePromises, "target", "target")
	ts.do(t, req{method: "POST", path: "/api/v1/resources/target", body: strings.Replace(redisRequest("target", "target", "  team: a"),
		"  namespace: team-a\n", "", 1)}).want(t, http.StatusOK)
	set(api.ResourceResources, "target", "target")
	// Definitions are addressed by namespace and name (both "target") and authorized by their name; their chart
	// cannot be read (nothing listens on port 1), which leaves them stored and not Ready.
	ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions", body: `{"apiVersion":"core.krateo.io/v1alpha1",` +
		`"kind":"CompositionDefinition","metadata":{"name":"target","namespace":"target"},"spec":{"chart":{"url":"https://127.0.0.1:1/c.tgz"}}}`}).
		want(t, http.StatusOK)
	set(api.ResourceCompositionDefinitions, "target", "target")
	// Compositions are authorized in their handlers, by their definition's name (TestCompositionInstances):
	// here no definition generates "target", so every caller gets past authentication to a 404.
	set(api.ResourceCompositions, "target", "target")
	return w
}

// makePersona creates a user in its own group bound to role (none when nil) and logs it in.
func makePersona(t *testing.T, ts *testServer, name string, role *api.Role) string {
	t.Helper()
	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: name, Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &g)
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: name, Password: "password-" + name,
		Provider: "local", Groups: []string{g.ID}}}).want(t, http.StatusOK).decode(t, &u)
	if role != nil {
		r := *role
		r.Name = name
		var stored api.Role
		ts.do(t, req{method: "POST", path: "/api/v1/roles", json: r}).want(t, http.StatusOK).decode(t, &stored)
		ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: name, RoleID: stored.ID, GroupID: g.ID}}).
			want(t, http.StatusOK)
	}
	return ts.login(t, name, "password-"+name)
}
