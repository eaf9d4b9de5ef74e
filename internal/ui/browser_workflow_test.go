package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
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

	if n := unlabelled(t, ctx); n != 0 {
		t.Errorf("run page: %d form controls have no label", n)
	}
	// Dark mode at 320 px: the graph scrolls in its box, the page does not.
	step(t, ctx, dir, "dark 320", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}), chromedp.EmulateViewport(320, 800), chromedp.Navigate(u+runPath), chromedp.WaitVisible(chromedp.CSS("#graph")))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 320 {
		t.Errorf("run page is %d px wide at a 320 px screen, want no horizontal scrolling", w)
	}
	if fill := eval[string](t, ctx, `getComputedStyle(document.querySelector('#graph rect')).fill`); fill != "rgb(22, 27, 34)" {
		t.Errorf("dark graph node fill = %q, want rgb(22, 27, 34)", fill)
	}
	shot(t, ctx, dir, "15-run-dark-320")
	step(t, ctx, dir, "light again", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}), chromedp.EmulateViewport(1280, 900), chromedp.Navigate(u+runPath), chromedp.WaitVisible(chromedp.CSS("#graph")))

	// A step's log is a keystroke away: its node is a link to its job, reached with Tab, followed with Enter.
	step(t, ctx, dir, "step job", chromedp.Focus(chromedp.CSS(`#run-rerun`)),
		chromedp.KeyEvent("\t"), until(`document.activeElement.dataset.step === 'build'`),
		chromedp.KeyEvent("\t"), until(`document.activeElement.dataset.step === 'wait'`), chromedp.KeyEvent("\r"),
		until(`location.pathname.startsWith('/jobs/gated-')`),
		until(`document.querySelector('#log').textContent.includes('hello from gated')`))
	step(t, ctx, dir, "back to the run", chromedp.Navigate(u+runPath), chromedp.WaitVisible(chromedp.CSS("#graph")))
	if got := eval[string](t, ctx, `document.querySelector('#steps [data-step="report"] .job a').textContent`); !strings.HasPrefix(got, "hello-") {
		t.Errorf("report's job link = %q, want a hello job", got)
	}

	// Run again, with the gate closed: the new run waits; Cancel ends it, and the page shows it without a reload.
	g.open.Store(false)
	step(t, ctx, dir, "run again", chromedp.Click(chromedp.CSS("#run-rerun")),
		until(`location.pathname.startsWith('/runs/deploy-') && location.pathname !== '`+runPath+`'`),
		until(node("wait", "running")), chromedp.WaitVisible(chromedp.CSS("#run-cancel")))
	step(t, ctx, dir, "cancel", chromedp.Click(chromedp.CSS("#run-cancel")),
		until(`document.querySelector('#run-status').textContent === 'cancelled'`), until(node("report", "cancelled")+` || `+node("report", "skipped")),
		chromedp.WaitNotPresent(chromedp.CSS("#run-cancel")))
	shot(t, ctx, dir, "16-run-cancelled")
}
