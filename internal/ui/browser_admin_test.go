package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server/servertest"
)

// TestBrowserAdmin: root creates a runner end to end from the admin page (a refused save shown in words first,
// then saved with a token and a secret the API keeps and the page never shows), edits a task's schema and sees
// the form preview follow, and has a workflow refused by the server's validation; the viewer sees neither the
// Admin link nor the pages, and the API refuses a runner sent directly.
func TestBrowserAdmin(t *testing.T) {
	ctx, dir := chrome(t)
	f := setup(t)
	u := f.url
	git := gittest.URL(gittest.NewRepo(t, servertest.Scripts))

	step(t, ctx, dir, "sign in", chromedp.Navigate(u+"/admin"), until(`location.pathname === '/login'`),
		signIn("root", servertest.RootPassword), until(`location.pathname === '/admin'`),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/runners"]`)))
	shot(t, ctx, dir, "21-admin")
	step(t, ctx, dir, "runners", chromedp.Click(chromedp.CSS(`a[href="/admin/runners"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new`)), chromedp.Click(chromedp.CSS(`#new`)),
		chromedp.WaitVisible(chromedp.CSS(`#runner-form`)))
	// No git URL: the API's 400 in words.
	step(t, ctx, dir, "refused", chromedp.SendKeys(chromedp.CSS(`#r-name`), "ops"),
		chromedp.Click(chromedp.CSS(`#runner-form button[type=submit]`)), until(`!document.querySelector('#runner-error').hidden`))
	if got := eval[string](t, ctx, `document.querySelector('#runner-error').textContent`); !strings.Contains(got, "Not saved") || !strings.Contains(got, "gitURL") {
		t.Errorf("runner error = %q, want the API's refusal naming gitURL", got)
	}
	step(t, ctx, dir, "create", chromedp.SendKeys(chromedp.CSS(`#r-git`), git),
		chromedp.SendKeys(chromedp.CSS(`#r-token`), "ops-token-never-shown"),
		chromedp.Click(chromedp.CSS(`#add-secret`)), chromedp.SendKeys(chromedp.CSS(`#ns-k1`), "API_KEY"),
		chromedp.SendKeys(chromedp.CSS(`#ns-v1`), "ops-secret-never-shown"))
	shot(t, ctx, dir, "22-admin-runner-new")
	step(t, ctx, dir, "save", chromedp.Click(chromedp.CSS(`#runner-form button[type=submit]`)),
		until(`location.pathname === '/admin/runners'`), chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/runners/ops"]`)))
	shot(t, ctx, dir, "23-admin-runners")
	r, err := f.c.GetRunner(t.Context(), "ops")
	if err != nil || r.GitURL != git || r.Token != api.Mask || r.Secret["API_KEY"] != api.Mask {
		t.Fatalf("GetRunner(ops) = %+v, %v; want it stored with its git URL, a token and the secret API_KEY", r, err)
	}
	// Editing keeps what the form left empty; the page shows neither value.
	step(t, ctx, dir, "edit", chromedp.Click(chromedp.CSS(`a[href="/admin/runners/ops"]`)), chromedp.WaitVisible(chromedp.CSS(`#s-API_KEY`)),
		clear(`#r-branch`), chromedp.SendKeys(chromedp.CSS(`#r-branch`), "dev"))
	if html := eval[string](t, ctx, `document.documentElement.outerHTML`); strings.Contains(html, "never-shown") {
		t.Error("the runner page renders its token or secret")
	}
	step(t, ctx, dir, "save edit", chromedp.Click(chromedp.CSS(`#runner-form button[type=submit]`)), until(`location.pathname === '/admin/runners'`))
	if r, err := f.c.GetRunnerSecret(t.Context(), "ops"); err != nil || len(r) != 1 {
		t.Errorf("secret of ops after the edit = %v, %v; want API_KEY kept", r, err)
	}
	if r, err := f.c.GetRunner(t.Context(), "ops"); err != nil || r.Branch != "dev" || r.Token != api.Mask {
		t.Errorf("runner ops after the edit = %+v, %v; want branch dev and its token kept", r, err)
	}

	// The task editor's preview follows the schema as it is typed.
	step(t, ctx, dir, "task editor", chromedp.Navigate(u+"/admin/tasks/greet"), chromedp.WaitVisible(chromedp.CSS(`#preview [name="name"]`)))
	step(t, ctx, dir, "schema edit", clear(`#t-schema`),
		chromedp.SendKeys(chromedp.CSS(`#t-schema`), `{"properties":{"size":{"enum":["s","m"]}}}`),
		until(`document.querySelectorAll('#preview select[name="size"] option').length === 3`))
	shot(t, ctx, dir, "24-admin-task-preview")

	// A workflow naming a task that does not exist: the server's validation, in words, and nothing stored.
	step(t, ctx, dir, "workflow editor", chromedp.Navigate(u+"/admin/workflows/new"), chromedp.WaitVisible(chromedp.CSS(`#wf-yaml`)),
		clear(`#wf-yaml`), chromedp.SendKeys(chromedp.CSS(`#wf-yaml`), "name: bad\nsteps:\n  - name: one\n    task: missing\n"),
		chromedp.Click(chromedp.CSS(`#wf-validate`)), until(`!document.querySelector('#wf-error').hidden`))
	if got := eval[string](t, ctx, `document.querySelector('#wf-error').textContent`); !strings.Contains(got, "missing") {
		t.Errorf("workflow error = %q, want the server naming the missing task", got)
	}
	step(t, ctx, dir, "workflow valid", clear(`#wf-yaml`),
		chromedp.SendKeys(chromedp.CSS(`#wf-yaml`), "name: good\nsteps:\n  - name: one\n    task: hello\n"),
		chromedp.Click(chromedp.CSS(`#wf-validate`)), until(`!document.querySelector('#wf-ok').hidden`))
	shot(t, ctx, dir, "25-admin-workflow")
	if status, _, _ := fetch(t, f.browser(t, "root", servertest.RootPassword), "GET", u+"/api/v1/workflows/good", "", ""); status != 404 {
		t.Errorf("GET workflow good after a validation = %d, want 404 (a dry run stores nothing)", status)
	}
	step(t, ctx, dir, "workflow save", chromedp.Click(chromedp.CSS(`#wf-form button[type=submit]`)), until(`location.pathname === '/workflows/good'`))
	// A webhook trigger: its secret, answered once by the save, is shown once instead of leaving the page.
	step(t, ctx, dir, "workflow with a webhook", chromedp.Navigate(u+"/admin/workflows/new"), chromedp.WaitVisible(chromedp.CSS(`#wf-yaml`)),
		clear(`#wf-yaml`), chromedp.SendKeys(chromedp.CSS(`#wf-yaml`),
			"name: hooked\ntriggers:\n  - name: on-call\n    source:\n      type: webhook\nsteps:\n  - name: one\n    task: hello\n"),
		chromedp.Click(chromedp.CSS(`#wf-form button[type=submit]`)), until(`!document.querySelector('#wf-secrets').hidden`))
	if got := eval[string](t, ctx, `document.querySelector('#wf-secrets').textContent`); !strings.Contains(got, "on-call: POST") || !strings.Contains(got, "secret: ") {
		t.Errorf("trigger secrets shown = %q, want the webhook's URL and secret", got)
	}
	shot(t, ctx, dir, "29-admin-workflow-secrets")

	// A webhook from the JSON form: its secret, answered once by the API, is shown once; the list never shows it.
	step(t, ctx, dir, "webhooks", chromedp.Navigate(u+"/admin/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#create-json`)),
		chromedp.Click(chromedp.CSS(`form.json-create button[type=submit]`)), until(`!document.querySelector('#created').hidden`))
	secret := eval[string](t, ctx, `document.querySelector('#created-secret').textContent`)
	if len(secret) < 8 {
		t.Errorf("webhook secret shown = %q, want the one the API made", secret)
	}
	shot(t, ctx, dir, "27-admin-webhook-created")
	step(t, ctx, dir, "webhook list", chromedp.Navigate(u+"/admin/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#admin-list`)))
	if html := eval[string](t, ctx, `document.documentElement.outerHTML`); secret != "" && strings.Contains(html, secret) {
		t.Error("the webhook list renders the webhook's secret")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#admin-list tbody tr[data-id]').length`); n != 2 {
		t.Errorf("webhooks listed = %d, want 2 (workflow hooked's trigger and the one just created)", n)
	}
	for _, path := range []string{"/admin/runners/ops", "/admin/tasks/new", "/admin/workflows/new", "/admin/users", "/admin/roles", "/admin/audit_logs", "/account/tokens"} {
		step(t, ctx, dir, "labels "+path, chromedp.Navigate(u+path), chromedp.WaitVisible(chromedp.CSS("main")))
		if n := unlabelled(t, ctx); n != 0 {
			t.Errorf("%s: %d form controls have no label", path, n)
		}
	}

	// A role edited as JSON (PATCH): the viewers now read one task only.
	step(t, ctx, dir, "roles", chromedp.Navigate(u+"/admin/roles"), chromedp.WaitVisible(chromedp.CSS(`#admin-list`)),
		chromedp.Click(`//a[text()="read-tasks"]`), chromedp.WaitVisible(chromedp.CSS(`#object-json`)))
	if got := eval[string](t, ctx, `document.querySelector('#object-json').value`); !strings.Contains(got, `"resource": "tasks"`) {
		t.Errorf("role editor = %q, want the role as JSON", got)
	}
	step(t, ctx, dir, "role bad", clear(`#object-json`), chromedp.SendKeys(chromedp.CSS(`#object-json`), `{"access": "sometimes"}`),
		chromedp.Click(chromedp.CSS(`#object-form button[type=submit]`)), until(`!document.querySelector('#object-error').hidden`))
	shot(t, ctx, dir, "28-admin-role-refused")
	step(t, ctx, dir, "role edit", clear(`#object-json`), chromedp.SendKeys(chromedp.CSS(`#object-json`), `{"resource_ids": ["greet"]}`),
		chromedp.Click(chromedp.CSS(`#object-form button[type=submit]`)), until(`location.pathname === '/admin/roles'`))
	roles, err := f.c.ListRoles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Name == "read-tasks" && (len(r.ResourceIDs) != 1 || r.ResourceIDs[0] != "greet" || r.Access != api.AccessRead) {
			t.Errorf("role read-tasks after the edit = %+v, want read on greet only", r)
		}
	}

	// The viewer: no Admin link, no admin page, and the API refuses directly.
	step(t, ctx, dir, "sign out", chromedp.Click(chromedp.CSS("#signout")), until(`location.pathname === '/login'`))
	step(t, ctx, dir, "viewer", signIn("viewer", viewerPassword), until(`location.pathname === '/tasks'`))
	if n := eval[int](t, ctx, `document.querySelectorAll('a[href="/admin"]').length`); n != 0 {
		t.Error("the viewer sees the Admin link")
	}
	step(t, ctx, dir, "viewer admin", chromedp.Navigate(u+"/admin/runners"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if got := eval[string](t, ctx, `document.querySelector('main').textContent`); !strings.Contains(got, "403") || strings.Contains(got, "ops") {
		t.Errorf("viewer's /admin/runners = %q, want a 403 in words and no runner", got)
	}
	shot(t, ctx, dir, "26-viewer-admin")
	status := eval[int](t, ctx, `fetch('/api/v1/runners', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: '{"name":"evil","gitURL":"https://example.com/x.git"}'}).then(r => r.status)`)
	if status != 403 {
		t.Errorf("viewer's direct runner create = %d, want 403", status)
	}
}
