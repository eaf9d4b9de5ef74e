package ui_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/server/servertest"
)

// TestAdminPages reads the admin pages as root, and as the viewer, who may read tasks and jobs but administer
// nothing: no Admin link, every admin page refused in words, and the API refuses the same directly.
func TestAdminPages(t *testing.T) {
	f := setup(t)
	root := f.browser(t, "root", servertest.RootPassword)
	role, err := f.c.GetRole(t.Context(), "read-tasks")
	if err != nil {
		t.Fatal(err)
	}
	checkPages(t, f, root, []pageCase{
		{name: "roles link to their editor", path: "/admin/roles", status: 200, want: []string{`href="/admin/roles/` + role.ID + `"`}},
		{name: "role editor", path: "/admin/roles/" + role.ID, status: 200, want: []string{`id="object-json"`, `&#34;resource&#34;: &#34;tasks&#34;`},
			not: []string{"created_at"}},
		{name: "no editor for webhooks", path: "/admin/webhooks/x", status: 404, want: []string{"has no editor"}},
		{name: "unknown role in words", path: "/admin/roles/nope", status: 404, want: []string{"The server answered 404"}},
		{name: "index", path: "/admin", status: 200, want: []string{`href="/admin/runners"`, `href="/admin/tasks"`, `href="/admin/workflows"`,
			`href="/admin/cronjobs"`, `href="/admin/webhooks"`, `href="/admin/users"`, `href="/admin/groups"`, `href="/admin/roles"`,
			`href="/admin/role_bindings"`, `href="/admin/audit_logs"`}},
		{name: "links in the layout", path: "/tasks", status: 200, want: []string{`<a href="/admin"`, `<a href="/workflows"`, `<a href="/promises"`},
			not: []string{"/assets/admin.js"}},
		{name: "admin script on admin pages", path: "/admin/users", status: 200, want: []string{`<script src="/assets/admin.js" defer>`}},
		{name: "runners", path: "/admin/runners", status: 200, want: []string{`href="/admin/runners/scripts"`, `href="/admin/runners/new"`},
			not: []string{"************"}},
		{name: "runner editor", path: "/admin/runners/scripts", status: 200, want: []string{`id="runner-form"`, "a token is set"},
			not: []string{`value="************"`}},
		{name: "new runner", path: "/admin/runners/new", status: 200, want: []string{`data-new="true"`, "no token is set"}},
		{name: "tasks", path: "/admin/tasks", status: 200, want: []string{`href="/admin/tasks/greet"`}},
		{name: "task editor", path: "/admin/tasks/greet", status: 200, want: []string{`id="task-form"`, "who to greet", `id="preview"`}},
		{name: "workflow editor", path: "/admin/workflows/new", status: 200, want: []string{`id="wf-yaml"`, `id="wf-validate"`}},
		{name: "users", path: "/admin/users", status: 200, want: []string{"viewer", `class="json-create"`}, not: []string{"password\":"}},
		{name: "roles", path: "/admin/roles", status: 200, want: []string{"read-tasks"}},
		{name: "audit", path: "/admin/audit_logs", status: 200, want: []string{"runners", "scripts", "create"}},
		{name: "audit filtered", path: "/admin/audit_logs?event_category=users", status: 200, want: []string{"<td>users</td>"}, not: []string{"<td>scripts</td>"}},
		{name: "audit bad filter in words", path: "/admin/audit_logs?status=bogus", status: 400, want: []string{"The server answered 400"}},
		{name: "unknown section", path: "/admin/nope", status: 404, want: []string{"The server answered 404"}},
		{name: "own tokens", path: "/account/tokens", status: 200, want: []string{`id="token-form"`}},
	})
	viewer := f.browser(t, "viewer", viewerPassword)
	checkPages(t, f, viewer, []pageCase{
		{name: "viewer: no admin, workflow or promise link", path: "/tasks", status: 200,
			not: []string{`href="/admin"`, `href="/workflows"`, `href="/promises"`}},
		{name: "viewer: index refused", path: "/admin", status: 403, want: []string{"The server answered 403"}, not: []string{`href="/admin/`}},
		{name: "viewer: runners refused", path: "/admin/runners", status: 403, want: []string{"The server answered 403"}},
		{name: "viewer: tasks refused (read is not write)", path: "/admin/tasks", status: 403, want: []string{"The server answered 403"}},
		{name: "viewer: task editor refused", path: "/admin/tasks/greet", status: 403, want: []string{"The server answered 403"}},
		{name: "viewer: audit refused", path: "/admin/audit_logs", status: 403, want: []string{"The server answered 403"}},
		{name: "viewer: role editor refused", path: "/admin/roles/" + role.ID, status: 403, want: []string{"The server answered 403"}},
		{name: "viewer: own tokens", path: "/account/tokens", status: 200, want: []string{`id="token-form"`}},
	})
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/runners", ""},
		{"POST", "/api/v1/runners", `{"name":"x","gitURL":"https://example.com/x.git"}`},
		{"PUT", "/api/v1/tasks/greet", `{"name":"greet","runner":"scripts","command":"true"}`},
		{"GET", "/api/v1/audit_logs", ""},
	} {
		if status, _, body := fetch(t, viewer, c.method, f.url+c.path, f.url, c.body); status != http.StatusForbidden {
			t.Errorf("viewer %s %s = %d %s, want 403", c.method, c.path, status, body)
		}
	}
}

// TestAccessAPI: GET /api/v1/access answers the caller's strongest access per resource, from their own roles.
func TestAccessAPI(t *testing.T) {
	f := setup(t)
	anon := &http.Client{}
	tests := []struct {
		name   string
		hc     *http.Client
		status int
		want   map[string]api.Access // nil: not checked
		user   string
	}{
		{"root writes everything", f.browser(t, "root", servertest.RootPassword), 200, map[string]api.Access{}, "root"},
		{"viewer reads tasks and jobs", f.browser(t, "viewer", viewerPassword), 200,
			map[string]api.Access{api.ResourceTasks: api.AccessRead, api.ResourceJobs: api.AccessRead}, "viewer"},
		{"signed out", anon, 401, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := fetch(t, tt.hc, "GET", f.url+"/api/v1/access", "", "")
			if status != tt.status {
				t.Fatalf("GET /api/v1/access = %d %s, want %d", status, body, tt.status)
			}
			if tt.want == nil {
				return
			}
			var got api.CallerAccess
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if tt.user == "root" {
				for _, res := range api.Resources {
					tt.want[res] = api.AccessWrite
				}
			}
			if got.Username != tt.user || got.UserID == "" {
				t.Errorf("GET /api/v1/access = user %q (id %q), want %q", got.Username, got.UserID, tt.user)
			}
			if diff := cmp.Diff(tt.want, got.Resources); diff != "" {
				t.Errorf("GET /api/v1/access resources (-want +got):\n%s", diff)
			}
		})
	}
}
