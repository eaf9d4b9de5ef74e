package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
	"github.com/runplane/runplane/internal/trigger"
	"github.com/runplane/runplane/internal/trigger/events"
)

// env is a SQLite store with a user "ops" allowed to start runs of the rule set "deploy" only, and a firer whose
// engines do not run: what a dispatch starts stays queued, to be looked at.
type env struct {
	path  string
	st    *sqlite.Store
	firer *trigger.Firer
	ops   store.User
	cip   *secret.Cipher
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	must(t, err)
	e := &env{path: filepath.Join(t.TempDir(), "runplane.db"), cip: c}
	e.open(t)
	ctx := t.Context()
	e.ops, err = e.st.CreateUser(ctx, store.User{User: api.User{Username: "ops", Provider: api.ProviderLocal}})
	must(t, err)
	g, err := e.st.CreateGroup(ctx, api.Group{Name: "operators", Provider: api.ProviderLocal, UserIDs: []string{e.ops.ID}})
	must(t, err)
	role, err := e.st.CreateRole(ctx, api.Role{Name: "run-deploy", Resource: api.ResourceRuns, ResourceIDs: []string{"deploy"}, Access: api.AccessWrite})
	must(t, err)
	_, err = e.st.CreateRoleBinding(ctx, api.RoleBinding{Name: "run-deploy", RoleID: role.ID, GroupID: g.ID})
	must(t, err)
	return e
}

// open opens (or opens again, as a restarted server would) the store and the engines over it.
func (e *env) open(t testing.TB) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), e.path, sqlite.Options{Cipher: e.cip})
	must(t, err)
	t.Cleanup(func() { st.Close() })
	a, err := auth.New(st, []byte("0123456789abcdef0123456789abcdef"), auth.Options{})
	must(t, err)
	js := jobs.New(st, nil, nil, jobs.Options{})
	e.st, e.firer = st, trigger.NewFirer(a, js, runs.New(st, js, runs.Options{}))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rules stores a rule set "deploy" owned by ops with actions named after the events they match.
func (e *env) rules(t *testing.T, multiple bool, actions ...api.KeptnAction) store.EventRuleSet {
	t.Helper()
	r := api.EventRules{Name: "deploy", Owner: "ops", APIVersion: "v2", Multiple: multiple, Actions: actions}
	must(t, events.Validate(r))
	rs, err := e.st.CreateEventRules(t.Context(), store.EventRuleSet{EventRules: r, OwnerID: e.ops.ID})
	must(t, err)
	return rs
}

func action(name string, silent bool, ev api.KeptnEvent, tasks ...string) api.KeptnAction {
	a := api.KeptnAction{Name: name, Silent: silent, Events: []api.KeptnEvent{ev}}
	for _, t := range tasks {
		a.Tasks = append(a.Tasks, api.KeptnTask{Name: t, Image: "alpine", Cmd: []string{"sh", "-c", "echo " + t}})
	}
	if len(tasks) == 0 {
		a.Tasks = []api.KeptnTask{{Name: name + " task", Image: "alpine", Cmd: []string{"true"}}}
	}
	return a
}

func on(re string) api.KeptnEvent { return api.KeptnEvent{Name: re} }

func triggered(id string) api.Event {
	return api.Event{ID: id, Source: "shipyard", Type: "sh.keptn.event.deployment.triggered", SpecVersion: "1.0",
		Extensions: map[string]any{"shkeptncontext": "ctx-" + id},
		Data:       json.RawMessage(`{"project":"shop","stage":"dev","service":"cart","strategy":"blue-green"}`)}
}

// recorder is an Emitter that records what it is given.
type recorder struct {
	mu  sync.Mutex
	got []api.Event
}

func (r *recorder) Emit(_ context.Context, e api.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, e)
	return nil
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, e := range r.got {
		out = append(out, e.Type)
	}
	return out
}

// started returns the runs the rule set started, by the action each runs (from its description), oldest first.
func (e *env) started(t *testing.T) []store.Run {
	t.Helper()
	list, _, err := e.st.ListRuns(t.Context(), store.RunFilter{Workflow: "deploy"})
	must(t, err)
	out := []store.Run{}
	for i := len(list) - 1; i >= 0; i-- {
		r, err := e.st.GetRun(t.Context(), list[i].ID)
		must(t, err)
		out = append(out, r)
	}
	return out
}

func actionsOf(runs []store.Run) []string {
	out := []string{}
	for _, r := range runs {
		var spec struct{ Action string }
		_ = json.Unmarshal(r.Definition.Steps[0].Spec, &spec)
		out = append(out, spec.Action)
	}
	return out
}

func TestDispatchMatching(t *testing.T) {
	tests := []struct {
		name     string
		multiple bool
		actions  []api.KeptnAction
		want     []string
		answers  []string // types emitted
	}{
		{"first non-silent handles it", false, []api.KeptnAction{
			action("other", false, on("test.triggered")), action("first", false, on("deployment")), action("second", false, on("triggered")),
		}, []string{"first"}, []string{"sh.keptn.event.deployment.started"}},
		{"silent ones before it run too, unanswered", false, []api.KeptnAction{
			action("quiet", true, on("deployment")), action("loud", false, on("deployment")), action("late", false, on("deployment")),
		}, []string{"quiet", "loud"}, []string{"sh.keptn.event.deployment.started"}},
		{"multiple runs every match", true, []api.KeptnAction{
			action("one", false, on("deployment")), action("no", false, on("test")), action("two", false, on(".*")),
		}, []string{"one", "two"}, []string{"sh.keptn.event.deployment.started", "sh.keptn.event.deployment.started"}},
		{"jsonpath picks", false, []api.KeptnAction{
			action("canary", false, api.KeptnEvent{Name: "deployment", JSONPath: api.KeptnJSONPath{Property: "$.data.strategy", Match: "canary"}}),
			action("blue-green", false, api.KeptnEvent{Name: "deployment", JSONPath: api.KeptnJSONPath{Property: "$.data.strategy", Match: "blue-green"}}),
		}, []string{"blue-green"}, []string{"sh.keptn.event.deployment.started"}},
		{"nothing matches", false, []api.KeptnAction{action("tests", false, on(`^sh\.keptn\.event\.test\.`))}, []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rs := e.rules(t, tt.multiple, tt.actions...)
			rec := &recorder{}
			d := events.NewDispatcher(e.st, e.firer, events.Options{Emitter: rec})
			ctx := t.Context()
			acc, err := d.Accept(ctx, []api.Event{triggered("ev-1")})
			must(t, err)
			if acc[0].Duplicate {
				t.Fatalf("Accept() = %+v, want new", acc)
			}
			must(t, d.Dispatch(ctx))
			got := e.started(t)
			if diff := cmp.Diff(tt.want, actionsOf(got)); diff != "" {
				t.Errorf("actions run mismatch (-want +got):\n%s", diff)
			}
			for _, r := range got {
				want := &api.Trigger{Kind: api.TriggerEvent, Name: "deploy", Delivery: "ev-1", Source: "shipyard"}
				if diff := cmp.Diff(want, r.Trigger); diff != "" || r.Owner != "ops" {
					t.Errorf("run %s owner %s, trigger mismatch (-want +got):\n%s", r.ID, r.Owner, diff)
				}
			}
			if diff := cmp.Diff(tt.answers, rec.types()); diff != "" {
				t.Errorf("emitted mismatch (-want +got):\n%s", diff)
			}
			stored, err := e.st.GetEvent(ctx, "shipyard", "ev-1")
			must(t, err)
			if stored.DispatchTime == nil {
				t.Errorf("event not marked dispatched")
			}
			_ = rs
		})
	}
}

// TestDispatchTasksInOrder: an action's tasks are one run whose steps each wait for the one before.
func TestDispatchTasksInOrder(t *testing.T) {
	e := newEnv(t)
	e.rules(t, false, action("ship", false, on("deployment"), "Build it", "Test it", "Ship it"))
	d := events.NewDispatcher(e.st, e.firer, events.Options{})
	_, err := d.Accept(t.Context(), []api.Event{triggered("ev-1")})
	must(t, err)
	must(t, d.Dispatch(t.Context()))
	got := e.started(t)
	if len(got) != 1 {
		t.Fatalf("%d runs, want 1", len(got))
	}
	var order [][]string
	for _, s := range got[0].Definition.Steps {
		order = append(order, append([]string{s.Name}, s.DependsOn...))
	}
	want := [][]string{{"1-build-it"}, {"2-test-it", "1-build-it"}, {"3-ship-it", "2-test-it"}}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("steps and dependencies mismatch (-want +got):\n%s", diff)
	}
}

type markFails struct {
	events.Store
	fail atomic.Bool
}

func (m *markFails) MarkEventDispatched(ctx context.Context, source, id string, at time.Time) error {
	if m.fail.Load() {
		return errors.New("store went away")
	}
	return m.Store.MarkEventDispatched(ctx, source, id, at)
}

func (m *markFails) MarkEventsDispatched(ctx context.Context, keys []store.EventKey, at time.Time) error {
	if m.fail.Load() {
		return errors.New("store went away")
	}
	return m.Store.MarkEventsDispatched(ctx, keys, at)
}

// TestDispatchRestart: an event accepted by a server that stopped before dispatching it is dispatched by the next
// one; one dispatched again (the mark was lost) starts nothing twice; a duplicate starts nothing.
func TestDispatchRestart(t *testing.T) {
	e := newEnv(t)
	e.rules(t, true, action("a", false, on("deployment")), action("b", false, on("deployment")))
	ctx := t.Context()
	first := events.NewDispatcher(e.st, e.firer, events.Options{})
	_, err := first.Accept(ctx, []api.Event{triggered("ev-1")})
	must(t, err)
	// The server stops here. The next one opens the store again.
	must(t, e.st.Close())
	e.open(t)
	m := &markFails{Store: e.st}
	m.fail.Store(true)
	rec := &recorder{}
	next := events.NewDispatcher(m, e.firer, events.Options{Emitter: rec})
	if err := next.Dispatch(ctx); err == nil {
		t.Fatal("Dispatch() with the mark failing = nil, want its error")
	}
	if got := actionsOf(e.started(t)); !cmp.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after restart, actions run = %v, want a, b", got)
	}
	// Dispatched again: the same runs, the same answers.
	m.fail.Store(false)
	must(t, next.Dispatch(ctx))
	if got := actionsOf(e.started(t)); !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("dispatched again, actions run = %v, want a, b only", got)
	}
	if got := rec.types(); len(got) != 2 {
		t.Errorf("emitted %v, want two .started answers once each", got)
	}
	// A duplicate (same source and id) is accepted and starts nothing.
	acc, err := next.Accept(ctx, []api.Event{triggered("ev-1")})
	must(t, err)
	if !acc[0].Duplicate {
		t.Errorf("Accept(duplicate) = %+v, want Duplicate", acc)
	}
	must(t, next.Dispatch(ctx))
	if got := actionsOf(e.started(t)); len(got) != 2 {
		t.Errorf("after a duplicate, %d runs, want 2", len(got))
	}
}

// TestDispatchRefused: an action the owner may not start, or whose image is not allowed, or that asks for a
// privileged container, starts nothing and is answered errored.
func TestDispatchRefused(t *testing.T) {
	priv := true
	privileged := action("priv", false, on("deployment"))
	privileged.Tasks[0].SecurityContext.Privileged = &priv
	missing := action("missing", false, on("deployment"))
	missing.Tasks[0].Env = []api.KeptnEnv{{Name: "X", Value: "$.data.nope", ValueFrom: "event"}}
	tests := []struct {
		name    string
		rename  string
		action  api.KeptnAction
		images  []string
		message string
	}{
		{"owner may not", "elsewhere", action("a", false, on("deployment")), nil, "may not write runs of \"elsewhere\""},
		{"image not allowed", "", action("a", false, on("deployment")), []string{"registry.example.com/*"}, "Forbidden: Image alpine does not match configured image allowlist.\n"},
		{"privileged", "", privileged, nil, "asks for a privileged container"},
		{"value missing from the event", "", missing, nil, "could not add env with name 'X'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := api.EventRules{Name: "deploy", APIVersion: "v2", Actions: []api.KeptnAction{tt.action}}
			if tt.rename != "" {
				r.Name = tt.rename
			}
			_, err := e.st.CreateEventRules(t.Context(), store.EventRuleSet{EventRules: r, OwnerID: e.ops.ID})
			must(t, err)
			allow, err := imagepolicy.Parse(tt.images)
			must(t, err)
			rec := &recorder{}
			d := events.NewDispatcher(e.st, e.firer, events.Options{Emitter: rec, Images: allow})
			_, err = d.Accept(t.Context(), []api.Event{triggered("ev-1")})
			must(t, err)
			must(t, d.Dispatch(t.Context()))
			list, _, err := e.st.ListRuns(t.Context(), store.RunFilter{})
			must(t, err)
			if len(list) != 0 {
				t.Errorf("%d runs started, want none", len(list))
			}
			if got := rec.types(); !cmp.Equal(got, []string{"sh.keptn.event.deployment.started", "sh.keptn.event.deployment.finished"}) {
				t.Fatalf("emitted %v, want .started and .finished", got)
			}
			var data struct{ Status, Result, Message string }
			must(t, json.Unmarshal(rec.got[1].Data, &data))
			if data.Status != "errored" || data.Result != "fail" || !bytes.Contains([]byte(data.Message), []byte(tt.message)) {
				t.Errorf(".finished data = %+v, want errored/fail with %q", data, tt.message)
			}
			// The answers are stored too, as produced events.
			stored, _, err := e.st.ListEvents(t.Context(), store.EventFilter{Source: "runplane"})
			must(t, err)
			if len(stored) != 2 || !stored[0].Produced {
				t.Errorf("stored answers = %d, want 2 produced", len(stored))
			}
		})
	}
}

// TestDispatcherPrunes: the dispatcher's runnable deletes events older than the retention.
func TestDispatcherPrunes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	d := events.NewDispatcher(e.st, e.firer, events.Options{})
	_, err := d.Accept(ctx, []api.Event{triggered("old")})
	must(t, err)
	must(t, d.Dispatch(ctx))

	later := events.NewDispatcher(e.st, e.firer, events.Options{Retention: 24 * time.Hour,
		Now: func() time.Time { return time.Now().Add(25 * time.Hour) }})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- later.Run(runCtx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.st.GetEvent(ctx, "shipyard", "old")
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event past the retention still stored: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil when its context ends", err)
	}
}
