package ui_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/runplane/runplane/internal/server/servertest"
)

// chrome starts Debian's chromium, headless, for one test and answers a tab's context and where screenshots go:
// $RUNPLANE_UI_ARTIFACTS/<test> when set, else a temporary directory. Without chromium the test is skipped, except
// under CI=true, where it fails: CI must run it (.ci/run installs chromium).
func chrome(t *testing.T) (context.Context, string) {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed, and CI=true requires the browser tests: apt-get install -y chromium")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium): browser tests skipped")
	}
	dir := t.TempDir()
	if base := os.Getenv("RUNPLANE_UI_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")))
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser; no timeout on this first call
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, dir
}

// step runs actions with a deadline and fails the test, with a screenshot, when they fail.
func step(t *testing.T, ctx context.Context, dir, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		shot(t, ctx, dir, "failed-"+strings.ReplaceAll(what, " ", "-"))
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// shot saves a full-page screenshot as dir/name.png, once the page has loaded (a page still loading after a
// reload has no size yet: chromium refuses to screenshot it).
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, until(`document.readyState === 'complete' && document.documentElement.scrollWidth > 0`))
	var png []byte
	if err == nil {
		png, err = chromedp.Run(sctx, chromedp.FullScreenshot(100))
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// until waits, up to 45 s, for a JavaScript condition to hold. A navigation during the wait (a sign-in, a reload)
// ends the browser's poll; it is started again on the new page.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		deadline := time.Now().Add(45 * time.Second)
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("waiting for %s: timeout", expr)
			}
			_, err := chromedp.Poll[any](expr, chromedp.WithPollingTimeout(left))(ctx, tg)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil || errors.Is(err, chromedp.ErrPollingTimeout) {
				return fmt.Errorf("waiting for %s: %w", expr, err)
			}
			// The page went away under the poll: wait for the next one to exist, then poll again.
			if _, err := chromedp.WaitReady(chromedp.CSS("body"))(ctx, tg); err != nil && ctx.Err() != nil {
				return err
			}
		}
	})
}

// clear empties the input sel.
func clear(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool]("(document.querySelector("+strconv.Quote(sel)+").value = '') === ''")(ctx, tg)
		return err
	})
}

// eval answers a JavaScript expression's value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// unlabelled counts the form controls of the page's main part that have no label.
func unlabelled(t *testing.T, ctx context.Context) int {
	t.Helper()
	return eval[int](t, ctx, `[...document.querySelectorAll('main input, main select, main textarea')].filter(i => i.type !== 'hidden' && i.labels.length === 0).length`)
}

func signIn(user, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	)
}

// visibleError is a condition: a field error shown inside the element that holds the control named name.
func visibleError(name string) string {
	return `(() => { const i = document.querySelector('#fields [name="` + name + `"]');
		const box = i && (i.closest('fieldset') || i.parentElement);
		const e = box && [...box.querySelectorAll('.field-error')].find(e => !e.hidden && e.textContent);
		return !!e && i.getAttribute('aria-invalid') === 'true'; })()`
}

// TestBrowser drives the UI in a real browser against a real server: sign-in (and back to the page asked for),
// the catalog, a run from the generated form (a client-side error at a field, then the server's 400 at the field
// it names, then success and its result), an async job whose log arrives live and which is cancelled, the job
// list, dark mode and 320 px, sign-out, and a user without rights who sees no run or cancel button (and whose
// direct API call is refused).
func TestBrowser(t *testing.T) {
	ctx, dir := chrome(t)
	f := setup(t)
	u := f.url

	// Signed out, a page sends the browser to sign in and, signed in, back to that page.
	step(t, ctx, dir, "open jobs signed out", chromedp.Navigate(u+"/jobs"), until(`location.pathname === '/login'`))
	shot(t, ctx, dir, "01-login")
	step(t, ctx, dir, "wrong password", signIn("root", "wrong-password"), until(`!document.querySelector('#login-error').hidden`))
	step(t, ctx, dir, "sign in", clear("#password"), signIn("", servertest.RootPassword), until(`location.pathname === '/jobs'`))

	// The catalog, grouped by runner, with search.
	step(t, ctx, dir, "catalog", chromedp.Navigate(u+"/tasks"), chromedp.WaitVisible(chromedp.CSS(`a[href="/tasks/greet"]`)))
	shot(t, ctx, dir, "02-tasks")

	// The generated form: client-side validation first.
	step(t, ctx, dir, "task page", chromedp.Navigate(u+"/tasks/greet"), chromedp.WaitVisible(chromedp.CSS(`#fields [name="name"]`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#fields input[type=password]').length`); n != 1 {
		t.Errorf("password fields = %d, want 1 (the secret)", n)
	}
	if v := eval[string](t, ctx, `document.querySelector('#fields [name="count"]').value`); v != "2" {
		t.Errorf("count field = %q, want its default 2", v)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#fields select[name="colour"] option').length`); n != 3 {
		t.Errorf("colour options = %d, want 3 (none, red, green)", n)
	}
	if n := eval[int](t, ctx, `[...document.querySelectorAll('main input, main select, main textarea')].filter(i => i.labels.length === 0).length`); n != 0 {
		t.Errorf("%d form controls have no label", n)
	}
	// Keyboard: the first Tab reaches the skip link; the form submits with Enter.
	step(t, ctx, dir, "tab", chromedp.KeyEvent("\t"), until(`document.activeElement.classList.contains('skip')`))
	step(t, ctx, dir, "client-side error", chromedp.Focus(chromedp.CSS(`#fields [name="count"]`)), chromedp.KeyEvent("\r"),
		until(visibleError("name")), until(`document.activeElement.name === 'name'`))
	step(t, ctx, dir, "pattern error", chromedp.SendKeys(chromedp.CSS(`#fields [name="name"]`), "Bob1"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)), until(visibleError("name")))
	shot(t, ctx, dir, "03-task-client-error")

	// Two tags pass the form but not the schema's maxItems: the server's 400 is shown at the tags.
	step(t, ctx, dir, "server error", clear(`#fields [name="name"]`),
		chromedp.SendKeys(chromedp.CSS(`#fields [name="name"]`), "bob"),
		chromedp.Click(`//button[text()="Add tags"]`), chromedp.Click(`//button[text()="Add tags"]`),
		chromedp.SendKeys(chromedp.CSS(`#fields [name="tags 1"]`), "a"),
		chromedp.SendKeys(chromedp.CSS(`#fields [name="tags 2"]`), "b"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)),
		until(`(() => { const lg = [...document.querySelectorAll('legend')].find(l => l.textContent === 'tags');
			const e = lg && lg.parentElement.querySelector(':scope > .field-error');
			return !!e && !e.hidden && e.textContent.length > 0; })()`),
		until(`document.querySelector('#run-error').textContent.includes('refused')`))
	shot(t, ctx, dir, "04-task-server-error")

	// Fixed, it runs synchronously and shows its result.
	step(t, ctx, dir, "success", chromedp.Click(`//button[text()="Remove"]`),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)),
		until(`!document.querySelector('#result').hidden`))
	if got := eval[string](t, ctx, `document.querySelector('#result-body').textContent`); !strings.Contains(got, `"name": "bob"`) || !strings.Contains(got, `"greeting": "hello"`) {
		t.Errorf("result = %q, want the job's json_data with the input", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('#result-status').textContent`); !strings.Contains(got, "succeeded") {
		t.Errorf("result status = %q, want succeeded", got)
	}
	shot(t, ctx, dir, "05-task-result")

	// An async job: its page follows the log live (colours rendered), and it can be cancelled.
	step(t, ctx, dir, "run slow", chromedp.Navigate(u+"/tasks/slow"), chromedp.WaitVisible(chromedp.CSS("#run")),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)), until(`location.pathname.startsWith('/jobs/slow-')`),
		until(`document.querySelector('#log').textContent.includes('tick 3')`))
	jobPath := eval[string](t, ctx, `location.pathname`)
	if got := eval[string](t, ctx, `(document.querySelector('#log span.a1') || {}).textContent || ''`); got != "red line" {
		t.Errorf("red log span = %q, want %q", got, "red line")
	}
	before := eval[int](t, ctx, `document.querySelector('#log').textContent.length`)
	step(t, ctx, dir, "log grows", until(fmt.Sprintf(`document.querySelector('#log').textContent.length > %d`, before)))
	shot(t, ctx, dir, "06-job-live")
	step(t, ctx, dir, "cancel", chromedp.Click(chromedp.CSS("#cancel")),
		until(`document.querySelector('#job-status') && document.querySelector('#job-status').textContent === 'cancelled'`),
		chromedp.WaitNotPresent(chromedp.CSS("#cancel")))
	shot(t, ctx, dir, "07-job-cancelled")

	// The job list, with its filters; then dark mode and a 320 px screen.
	step(t, ctx, dir, "jobs", chromedp.Navigate(u+"/jobs?task=slow"), until(`document.querySelector('a[href="`+jobPath+`"]') !== null`))
	shot(t, ctx, dir, "08-jobs")
	step(t, ctx, dir, "dark mode", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}), chromedp.EmulateViewport(320, 800), chromedp.Navigate(u+jobPath), chromedp.WaitVisible(chromedp.CSS("#log")))
	if bg := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(13, 17, 23)" {
		t.Errorf("dark mode background = %q, want rgb(13, 17, 23)", bg)
	}
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 320 {
		t.Errorf("page is %d px wide at a 320 px screen, want no horizontal scrolling", w)
	}
	shot(t, ctx, dir, "09-job-dark-320")
	step(t, ctx, dir, "light again", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}), chromedp.EmulateViewport(1280, 900))

	// Sign out; a user without rights signs in on the job page and gets back there, without buttons.
	step(t, ctx, dir, "sign out", chromedp.Click(chromedp.CSS("#signout")), until(`location.pathname === '/login'`))
	step(t, ctx, dir, "viewer on the job", chromedp.Navigate(u+jobPath), until(`location.pathname === '/login'`),
		signIn("viewer", viewerPassword), until(`location.pathname === '`+jobPath+`'`), chromedp.WaitVisible(chromedp.CSS("#log")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#cancel, #rerun').length`); n != 0 {
		t.Errorf("viewer sees %d cancel/rerun buttons, want none", n)
	}
	step(t, ctx, dir, "viewer catalog", chromedp.Navigate(u+"/tasks"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := eval[string](t, ctx, `document.querySelector('main').textContent`); !strings.Contains(got, "There is no task you may run.") {
		t.Errorf("viewer catalog = %q, want no runnable task", got)
	}
	step(t, ctx, dir, "viewer task", chromedp.Navigate(u+"/tasks/greet"), chromedp.WaitVisible(chromedp.CSS("main")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#run').length`); n != 0 {
		t.Error("viewer sees the run form")
	}
	shot(t, ctx, dir, "10-viewer-task")
	status := eval[int](t, ctx, `fetch('/api/v1/tasks/greet/run', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: '{"name":"eve"}'}).then(r => r.status)`)
	if status != 403 {
		t.Errorf("viewer's direct run = %d, want 403", status)
	}
}
