package controller_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/store"
)

func phases(st map[string]any) string {
	ps, _ := kratix.Pipelines(st)
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"="+string(p.Phase))
	}
	return strings.Join(out, ",")
}

func (e *env) touch(t *testing.T, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// act asks c to act on request name, as POST …/{action} does.
func (e *env) act(t *testing.T, c *controller.Controller, p store.Promise, name string, a httpapi.WorkflowAction) error {
	t.Helper()
	r, _, ok := e.get(t, name)
	if !ok {
		t.Fatalf("request %s is gone", name)
	}
	_, err := c.ActOnRequest(t.Context(), a, p, r)
	return err
}

// A failing pipeline fails the workflow (ConfigureWorkflowCompleted False, the job's reason) and the pipelines after
// it do not run; retry is refused while nothing failed, and after a failure runs the workflow again.
func TestFailingPipelineAndRetry(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	w := api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{
		e.pipeline("check", `echo run >> "$TESTDIR/check.runs"; test -f "$TESTDIR/fixed"`),
		e.pipeline("notify", notifyScript),
	}}}
	p := e.promise(t, w)
	e.request(t, c, p, "broken", `{}`, nil)
	st := e.waitFor(t, "broken", "the workflow fails", func(st map[string]any) bool {
		s, _, _ := condition(st, kratix.ConditionConfigureWorkflowCompleted)
		return s == "False" && strings.Contains(phases(st), "Failed")
	})
	_, reason, msg := condition(st, kratix.ConditionConfigureWorkflowCompleted)
	if reason != kratix.ReasonConfigureWorkflowFailed || !strings.Contains(msg, "A Configure Pipeline has failed: check") {
		t.Errorf("ConfigureWorkflowCompleted = %s %q, want ConfigureWorkflowFailed naming check", reason, msg)
	}
	if got := phases(st); got != "check=Failed,notify=Pending" {
		t.Errorf("pipelines %s, want check Failed and notify never started", got)
	}
	if n := e.count("notify.runs"); n != 0 {
		t.Errorf("notify ran %d times after check failed", n)
	}

	e.touch(t, "fixed")
	if err := e.act(t, c, p, "broken", httpapi.ActionResume); !errors.Is(err, store.ErrConflict) {
		t.Errorf("resume with nothing suspended: %v, want a conflict", err)
	}
	if err := e.act(t, c, p, "broken", httpapi.ActionRetry); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// notify fails too (render never set the endpoint it wants): what matters is that check ran again and passed.
	e.waitFor(t, "broken", "check passes on retry", func(st map[string]any) bool {
		p, _ := kratix.Pipeline(st, "check")
		return p.Phase == kratix.PhaseSucceeded
	})
	if n := e.count("check.runs"); n != 2 {
		t.Errorf("check ran %d times, want 2", n)
	}
	if err := e.act(t, c, p, "broken", httpapi.ActionRetry); err == nil {
		// notify may still be running: retry is refused only while nothing failed.
		t.Log("retry accepted (notify had failed already)")
	}
}

// workflow-control.yaml suspend stops the workflow (Suspended, Reconciled WorkflowSuspended) until resumed; the
// pipeline then runs again, and the rest after it.
func TestSuspendResume(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	w := api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{
		e.pipeline("approve", `echo run >> "$TESTDIR/approve.runs"
test -f "$TESTDIR/approved" || printf 'suspend: true\nmessage: waiting for approval\n' > "$RUNPLANE_METADATA_DIR/workflow-control.yaml"`),
		e.pipeline("after", `echo run >> "$TESTDIR/after.runs"`),
	}}}
	p := e.promise(t, w)
	e.request(t, c, p, "gated", `{}`, nil)
	st := e.waitFor(t, "gated", "the workflow suspends", func(st map[string]any) bool {
		return strings.Contains(phases(st), "approve=Suspended")
	})
	if s, r, _ := condition(st, kratix.ConditionReconciled); s != "Unknown" || r != kratix.ReasonWorkflowSuspended {
		t.Errorf("Reconciled = %s %s, want Unknown WorkflowSuspended", s, r)
	}
	if ap, _ := kratix.Pipeline(st, "approve"); ap.Message != "waiting for approval" {
		t.Errorf("approve's message = %q", ap.Message)
	}
	if n := e.count("after.runs"); n != 0 {
		t.Errorf("the pipeline after a suspended one ran %d times", n)
	}
	if err := e.act(t, c, p, "gated", httpapi.ActionRetry); !errors.Is(err, store.ErrConflict) {
		t.Errorf("retry with nothing failed: %v, want a conflict", err)
	}
	e.touch(t, "approved")
	if err := e.act(t, c, p, "gated", httpapi.ActionResume); err != nil {
		t.Fatalf("resume: %v", err)
	}
	e.waitFor(t, "gated", "the workflow completes", completed)
	if a, b := e.count("approve.runs"), e.count("after.runs"); a != 2 || b != 1 {
		t.Errorf("approve ran %d times, after %d; want 2 and 1", a, b)
	}
}

// workflow-control.yaml retryAfter runs the pipeline again after the duration, counting attempts; past
// maxAttempts it fails.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name        string
		okAfter     int // the run that stops asking for a retry; 0: never
		maxAttempts int
		want        string
		runs        int
	}{
		{name: "succeeds on the third run", okAfter: 3, maxAttempts: 5, want: "Succeeded", runs: 3},
		{name: "gives up past maxAttempts", okAfter: 0, maxAttempts: 1, want: "Failed", runs: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			c, _ := e.controller(t, controller.Options{})
			script := fmt.Sprintf(`echo run >> "$TESTDIR/poll.runs"
n=$(wc -l < "$TESTDIR/poll.runs")
if [ %d -eq 0 ] || [ "$n" -lt %d ]; then printf 'retryAfter: 1s\nmessage: not ready\nmaxAttempts: %d\n' > "$RUNPLANE_METADATA_DIR/workflow-control.yaml"; fi`,
				tc.okAfter, tc.okAfter, tc.maxAttempts)
			p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{e.pipeline("poll", script)}}})
			e.request(t, c, p, "polled", `{}`, nil)
			st := e.waitFor(t, "polled", "poll ends "+tc.want, func(st map[string]any) bool {
				return phases(st) == "poll="+tc.want
			})
			if n := e.count("poll.runs"); n != tc.runs {
				t.Errorf("poll ran %d times, want %d", n, tc.runs)
			}
			pl, _ := kratix.Pipeline(st, "poll")
			if tc.want == "Failed" && !strings.Contains(pl.Message, "gave up after 1 attempts") {
				t.Errorf("poll's message = %q, want it to say it gave up", pl.Message)
			}
		})
	}
}

// A controller stopped while a pipeline runs leaves the request Running; another controller (as after a crash,
// or on another replica) picks it up, finds the same run by its idempotency key instead of starting one more, and
// completes the workflow: each pipeline ran once.
func TestCrashResume(t *testing.T) {
	e := newEnv(t, false)
	c1, stop1 := e.controller(t, controller.Options{})
	w := api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{
		e.pipeline("slow", `echo run >> "$TESTDIR/slow.runs"
while [ ! -f "$TESTDIR/go" ]; do sleep 0.02; done`),
		e.pipeline("after", `echo run >> "$TESTDIR/after.runs"`),
	}}}
	p := e.promise(t, w)
	e.request(t, c1, p, "resumed", `{}`, nil)
	e.waitFor(t, "resumed", "slow runs", func(st map[string]any) bool {
		return strings.Contains(phases(st), "slow=Running") && e.count("slow.runs") == 1
	})
	stop1()
	e.touch(t, "go")
	e.controller(t, controller.Options{})
	e.waitFor(t, "resumed", "the workflow completes", completed)
	if a, b := e.count("slow.runs"), e.count("after.runs"); a != 1 || b != 1 {
		t.Errorf("slow ran %d times, after %d; want each once", a, b)
	}
}

// A failed delete pipeline leaves the request stored, DeleteWorkflowCompleted False with the reason; retry runs
// the delete workflow again and the request goes.
func TestDeleteFailsThenRetry(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	w := e.cacheWorkflows()
	w.Resource.Delete = []api.Pipeline{e.pipeline("teardown", `echo run >> "$TESTDIR/teardown.runs"; test -f "$TESTDIR/fixed"`)}
	p := e.promise(t, w)
	e.request(t, c, p, "sticky", `{"size":"small"}`, nil)
	e.waitFor(t, "sticky", "configure completes", completed)
	if len(e.files_(t)) != 1 {
		t.Fatalf("state store holds %v, want render's file", keys(e.files_(t)))
	}
	r, _, _ := e.get(t, "sticky")
	if err := c.ReconcileRequest(t.Context(), httpapi.ChangeDeleting, p, r); !errors.Is(err, httpapi.ErrDeleteDeferred) {
		t.Fatalf("deleting: %v", err)
	}
	st := e.waitFor(t, "sticky", "the delete fails", func(st map[string]any) bool {
		s, _, _ := condition(st, kratix.ConditionDeleteWorkflowCompleted)
		return s == "False" && strings.Contains(phases(st), "Failed")
	})
	if _, r, m := condition(st, kratix.ConditionDeleteWorkflowCompleted); r != kratix.ReasonDeleteWorkflowFailed || !strings.Contains(m, "The Delete Pipeline has failed") {
		t.Errorf("DeleteWorkflowCompleted = %s %q", r, m)
	}
	if len(e.files_(t)) != 1 {
		t.Errorf("the files went although the delete pipeline failed")
	}
	if err := e.act(t, c, p, "sticky", httpapi.ActionReconcile); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reconcile while deleting: %v, want a conflict", err)
	}
	e.touch(t, "fixed")
	if err := e.act(t, c, p, "sticky", httpapi.ActionRetry); err != nil {
		t.Fatalf("retry: %v", err)
	}
	e.waitFor(t, "sticky", "the request is removed", gone)
	if len(e.files_(t)) != 0 {
		t.Errorf("after delete the state store holds %v", keys(e.files_(t)))
	}
}

// A paused request (label kratix.io/paused: "true") runs nothing; reconcile is refused for it.
func TestPaused(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	p := e.promise(t, e.cacheWorkflows())
	e.request(t, c, p, "quiet", `{"size":"small"}`, map[string]string{controller.PausedLabel: "true"})
	e.request(t, c, p, "loud", `{"size":"small"}`, nil)
	e.waitFor(t, "loud", "configure completes", completed)
	if err := e.act(t, c, p, "quiet", httpapi.ActionReconcile); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reconcile of a paused request: %v, want a conflict", err)
	}
	// loud's workflow completed after quiet was queued (queued first): quiet ran nothing.
	if _, st, _ := e.get(t, "quiet"); phases(st) != "" || st["message"] != "Pending" {
		t.Errorf("paused request's status: pipelines %q, message %v; want untouched", phases(st), st["message"])
	}
	if strings.Contains(readFile(e, "render.runs"), "quiet") {
		t.Errorf("render ran for the paused request")
	}
}

// Reconcile (POST …/reconcile) and an update of the promise's spec run every request's configure workflow again.
func TestReconcileAndPromiseUpdate(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	p := e.promise(t, e.cacheWorkflows())
	e.request(t, c, p, "one", `{"size":"small"}`, nil)
	e.request(t, c, p, "two", `{"size":"small"}`, nil)
	e.waitFor(t, "one", "configure completes", completed)
	e.waitFor(t, "two", "configure completes", completed)
	if err := e.act(t, c, p, "one", httpapi.ActionReconcile); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "one", "render runs again", func(map[string]any) bool { return strings.Count(readFile(e, "render.runs"), "one") == 2 })
	e.waitFor(t, "one", "configure completes again", completed)

	p, err := e.st.GetPromise(t.Context(), "cache") // its status moved on (its own, empty, configure workflow)
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Workflows.Resource.Configure[0] = e.pipeline("render", renderScript+"echo v2 >> \"$TESTDIR/v2.runs\"\n")
	p2, err := e.st.UpdatePromise(t.Context(), p.Promise, p.Version)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeUpdated, p2); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"one", "two"} {
		e.waitFor(t, n, "configure runs for the new promise", func(st map[string]any) bool {
			k, _ := st["kratix"].(map[string]any)
			w, _ := k["workflows"].(map[string]any)
			return completed(st) && fmt.Sprint(w["promiseGeneration"]) == "2"
		})
	}
	if n := e.count("v2.runs"); n != 2 {
		t.Errorf("the updated pipeline ran %d times, want once per request", n)
	}
}

// Every reconcileInterval a completed workflow runs again.
func TestReconcileInterval(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{ReconcileInterval: 1500 * time.Millisecond})
	p := e.promise(t, e.cacheWorkflows())
	e.request(t, c, p, "ticking", `{"size":"small"}`, nil)
	e.waitFor(t, "ticking", "render runs twice", func(map[string]any) bool { return e.count("render.runs") >= 2 })
}

func readFile(e *env, name string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name))
	return string(b)
}
