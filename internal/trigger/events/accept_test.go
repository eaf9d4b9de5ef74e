package events_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/events"
)

// built is an event of type typ from source "ci", which no .triggered rule answers.
func built(id, typ string) api.Event {
	return api.Event{ID: id, Source: "ci", Type: typ, SpecVersion: "1.0", Data: json.RawMessage(`{"project":"shop"}`)}
}

// TestAcceptDispatches: an event whose actions can start at once is stored dispatched by Accept itself, with their
// runs and the runs' first jobs (one write); the others are stored to dispatch, and Dispatch starts them.
func TestAcceptDispatches(t *testing.T) {
	withFiles := action("files", false, on("deploy"))
	withFiles.Tasks[0].Files = []string{"job/run.sh"}
	tests := []struct {
		name    string
		actions []api.KeptnAction
		event   api.Event
		atOnce  bool     // dispatched by Accept
		want    []string // actions run once dispatched
	}{
		{"an action", []api.KeptnAction{action("ship", false, on("deploy"))}, built("e1", "dev.ci.deploy"), true, []string{"ship"}},
		{"nothing matches", []api.KeptnAction{action("ship", false, on("deploy"))}, built("e1", "dev.ci.test"), true, []string{}},
		{"every action of multiple", []api.KeptnAction{action("one", false, on("deploy")), action("two", false, on("dev"))},
			built("e1", "dev.ci.deploy"), true, []string{"one", "two"}},
		{"a silent action of a .triggered event", []api.KeptnAction{action("quiet", true, on("deployment"))}, triggered("e1"), true,
			[]string{"quiet"}},
		{"an action to answer: dispatched after", []api.KeptnAction{action("loud", false, on("deployment"))}, triggered("e1"), false,
			[]string{"loud"}},
		{"a task with files: dispatched after", []api.KeptnAction{withFiles}, built("e1", "dev.ci.deploy"), false, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.rules(t, true, tt.actions...)
			d := events.NewDispatcher(e.st, e.firer, events.Options{})
			ctx := t.Context()
			acc, err := d.Accept(ctx, []api.Event{tt.event})
			must(t, err)
			if acc[0].Duplicate {
				t.Fatalf("Accept() = %+v, want new", acc)
			}
			stored, err := e.st.GetEvent(ctx, tt.event.Source, tt.event.ID)
			must(t, err)
			if got := stored.DispatchTime != nil; got != tt.atOnce {
				t.Errorf("after Accept, dispatched %v, want %v", got, tt.atOnce)
			}
			if tt.atOnce {
				runs := e.started(t)
				if diff := cmp.Diff(tt.want, actionsOf(runs)); diff != "" {
					t.Errorf("after Accept, actions run mismatch (-want +got):\n%s", diff)
				}
				for _, r := range runs {
					if r.Status != api.RunRunning || r.Steps[0].Job == "" {
						t.Fatalf("run %s %s, first step's job %q; want running with its job", r.ID, r.Status, r.Steps[0].Job)
					}
					if j, err := e.st.GetJob(ctx, r.Steps[0].Job); err != nil || j.Status != api.JobQueued {
						t.Errorf("job %s of run %s: %s, %v; want queued", r.Steps[0].Job, r.ID, j.Status, err)
					}
				}
			} else if n := len(e.started(t)); n != 0 {
				t.Errorf("after Accept, %d runs, want none before Dispatch", n)
			}
			must(t, d.Dispatch(ctx))
			if diff := cmp.Diff(tt.want, actionsOf(e.started(t))); diff != "" {
				t.Errorf("after Dispatch, actions run mismatch (-want +got):\n%s", diff)
			}
			// The same event again starts nothing more.
			acc, err = d.Accept(ctx, []api.Event{tt.event})
			must(t, err)
			must(t, d.Dispatch(ctx))
			if !acc[0].Duplicate || len(e.started(t)) != len(tt.want) {
				t.Errorf("Accept(again) = %+v, %d runs; want a duplicate, %d runs", acc, len(e.started(t)), len(tt.want))
			}
		})
	}
}

// TestAcceptRulesChanged: rules changed behind the dispatcher's back (by another replica) are never dispatched
// against as they were: the event that finds them changed is stored to dispatch, and dispatched against them as
// they are; the next is dispatched at once again, against the new rules.
func TestAcceptRulesChanged(t *testing.T) {
	e := newEnv(t)
	rs := e.rules(t, false, action("old", false, on("deploy")))
	d := events.NewDispatcher(e.st, e.firer, events.Options{})
	ctx := t.Context()
	_, err := d.Accept(ctx, []api.Event{built("e1", "dev.ci.deploy")})
	must(t, err)
	rs.Actions = []api.KeptnAction{action("new", false, on("deploy"))}
	_, err = e.st.UpdateEventRules(ctx, store.EventRuleSet{EventRules: rs.EventRules, OwnerID: rs.OwnerID})
	must(t, err)
	_, err = d.Accept(ctx, []api.Event{built("e2", "dev.ci.deploy")})
	must(t, err)
	if got := actionsOf(e.started(t)); !cmp.Equal(got, []string{"old"}) {
		t.Fatalf("after the rules changed, Accept ran %v, want old only (e2 left to Dispatch)", got)
	}
	must(t, d.Dispatch(ctx))
	_, err = d.Accept(ctx, []api.Event{built("e3", "dev.ci.deploy")})
	must(t, err)
	stored, err := e.st.GetEvent(ctx, "ci", "e3")
	must(t, err)
	if got := actionsOf(e.started(t)); !cmp.Equal(got, []string{"old", "new", "new"}) || stored.DispatchTime == nil {
		t.Errorf("actions run %v, e3 dispatched %v; want old, new, new, e3 dispatched by Accept", got, stored.DispatchTime != nil)
	}
}
