package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/runplane/runplane/internal/server/servertest"
)

// node is a condition: the graph's node of step has state.
func node(step, state string) string {
	return `(() => { const n = document.querySelector('#graph [data-step="` + step + `"]');
		return !!n && n.getAttribute('class') === 'node s-` + state + `'; })()`
}

// TestBrowserWorkflow starts a workflow run from its parameters form (a client-side error at the field first),
// watches the run's graph: the gated step running, then, once the test opens the gate, every step succeeded,
// without a reload; and follows a step's node to its job and log.
func TestBrowserWorkflow(t *testing.T) {
	ctx, dir := chrome(t)
	f := setup(t)
	g := newGate(t)
	withWorkflow(t, f, g)
	u := f.url

	step(t, ctx, dir, "sign in", chromedp.Navigate(u+"/workflows"), until(`location.pathname === '/login'`),
		signIn("root", servertest.RootPassword), until(`location.pathname === '/workflows'`),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/workflows/deploy"]`)))
	shot(t, ctx, dir, "11-workflows")

	step(t, ctx, dir, "workflow", chromedp.Click(chromedp.CSS(`a[href="/workflows/deploy"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#fields [name="who"]`)), chromedp.WaitVisible(chromedp.CSS(`#graph`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#graph .edge').length`); n != 2 {
		t.Errorf("graph edges = %d, want 2 (build→wait, wait→report)", n)
	}
	step(t, ctx, dir, "client-side error", chromedp.Click(chromedp.CSS(`#run button[type=submit]`)), until(visibleError("who")))
	shot(t, ctx, dir, "12-workflow")
	step(t, ctx, dir, "start", chromedp.SendKeys(chromedp.CSS(`#fields [name="who"]`), "ui"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)), until(`location.pathname.startsWith('/runs/deploy-')`),
		until(node("build", "succeeded")), until(node("wait", "running")))
	runPath := eval[string](t, ctx, `location.pathname`)
	if got := eval[string](t, ctx, `document.querySelector('#run-status').textContent`); got != "running" {
		t.Errorf("run status = %q, want running", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('#graph [data-step="report"]').getAttribute('class')`); got != "node s-pending" {
		t.Errorf("report node = %q, want pending while wait runs", got)
	}
	shot(t, ctx, dir, "13-run-waiting")

	// The gate opens: the same page, without a reload, sees wait and then report succeed.
	eval[bool](t, ctx, `(window.__samePage = true)`)
	g.open.Store(true)
	step(t, ctx, dir, "steps succeed", until(node("wait", "succeeded")), until(node("report", "succeeded")),
		until(`document.querySelector('#run-status').textContent === 'succeeded'`))
	if !eval[bool](t, ctx, `window.__samePage === true`) {
		t.Error("the run page reloaded; want its graph updated in place")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#run-cancel').length`); n != 0 {
		t.Error("a finished run still shows Cancel")
	}
	shot(t, ctx, dir, "14-run-succeeded")

	// A step's log is a click away: its node links to its job.
	step(t, ctx, dir, "step job", chromedp.Click(chromedp.CSS(`#graph [data-step="wait"]`)),
		until(`location.pathname.startsWith('/jobs/gated-')`),
		until(`document.querySelector('#log').textContent.includes('hello from gated')`))
	step(t, ctx, dir, "back to the run", chromedp.Navigate(u+runPath), chromedp.WaitVisible(chromedp.CSS("#graph")))
	if got := eval[string](t, ctx, `document.querySelector('#steps [data-step="report"] .job a').textContent`); !strings.HasPrefix(got, "hello-") {
		t.Errorf("report's job link = %q, want a hello job", got)
	}
}
