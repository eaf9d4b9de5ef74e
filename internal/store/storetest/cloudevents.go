package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// cloudEvent is a Keptn-shaped event of source, id and type received at(n).
func cloudEvent(source, id, typ string, n int) api.Event {
	t := at(n)
	return api.Event{ID: id, Source: source, Type: typ, SpecVersion: "1.0", Subject: "carts", Time: &t,
		DataContentType: "application/json",
		Extensions:      map[string]any{"shkeptncontext": "ctx-" + id, "gitcommitid": "abc123"},
		Data:            json.RawMessage(`{"project":"sockshop","stage":"dev","labels":{"a":"<b>&"}}`),
		ReceiveTime:     at(n)}
}

func testEventCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := cloudEvent("keptn", "e1", "sh.keptn.event.deployment.triggered", 1)
	got, created, err := s.CreateEvent(ctx, e)
	must(t, "CreateEvent", err)
	if !created {
		t.Errorf("CreateEvent created = false, want true")
	}
	if diff := cmp.Diff(e, got, opts); diff != "" {
		t.Errorf("CreateEvent mismatch (-want +got):\n%s", diff)
	}
	for _, source := range []string{"keptn", ""} {
		got, err = s.GetEvent(ctx, source, "e1")
		must(t, "GetEvent", err)
		if diff := cmp.Diff(e, got, opts); diff != "" {
			t.Errorf("GetEvent(%q, e1) mismatch (-want +got):\n%s", source, diff)
		}
	}
	// A duplicate (same source and id) stores nothing and answers with the first.
	dup := cloudEvent("keptn", "e1", "other.type", 2)
	got, created, err = s.CreateEvent(ctx, dup)
	must(t, "CreateEvent duplicate", err)
	if created || got.Type != e.Type {
		t.Errorf("CreateEvent duplicate = %s created %v, want the first (%s) not created", got.Type, created, e.Type)
	}
	// The same id from another source is another event.
	if _, created, err = s.CreateEvent(ctx, cloudEvent("elsewhere", "e1", "x", 3)); err != nil || !created {
		t.Errorf("CreateEvent other source = created %v, %v; want created", created, err)
	}
	if got, _ := s.GetEvent(ctx, "", "e1"); got.Source != "elsewhere" {
		t.Errorf(`GetEvent("", e1) source = %q, want the last received (elsewhere)`, got.Source)
	}
	_, err = s.GetEvent(ctx, "keptn", "nope")
	checkErr(t, "GetEvent(nope)", err, store.ErrNotFound, "")
	checkErr(t, "MarkEventDispatched(nope)", s.MarkEventDispatched(ctx, "keptn", "nope", at(4)), store.ErrNotFound, "")
}

func testEventCreateConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 8 {
		wg.Go(func() {
			_, created, err := s.CreateEvent(ctx, cloudEvent("src", "same", "t", 1))
			if err != nil {
				t.Errorf("CreateEvent: %v", err)
			}
			if created {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n != 1 {
		t.Errorf("8 concurrent CreateEvent of one event created %d, want 1", n)
	}
}

func testEventList(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 5 {
		typ := "sh.keptn.event.test.triggered"
		if i%2 == 1 {
			typ = "sh.keptn.event.deployment.triggered"
		}
		_, _, err := s.CreateEvent(ctx, cloudEvent(fmt.Sprintf("s%d", i%3), fmt.Sprintf("e%d", i), typ, i))
		must(t, "CreateEvent", err)
	}
	ids := func(es []api.Event) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	tests := []struct {
		name  string
		f     store.EventFilter
		want  []string
		total int
	}{
		{"all newest first", store.EventFilter{}, []string{"e4", "e3", "e2", "e1", "e0"}, 5},
		{"type", store.EventFilter{Type: "sh.keptn.event.deployment.triggered"}, []string{"e3", "e1"}, 2},
		{"source", store.EventFilter{Source: "s0"}, []string{"e3", "e0"}, 2},
		{"sources", store.EventFilter{Sources: []string{"s1", "s2"}}, []string{"e4", "e2", "e1"}, 3},
		{"no sources", store.EventFilter{Sources: []string{}}, []string{}, 0},
		{"since", store.EventFilter{Since: at(3)}, []string{"e4", "e3"}, 2},
		{"page", store.EventFilter{Limit: 2, Offset: 1}, []string{"e3", "e2"}, 5},
		{"past the end", store.EventFilter{Offset: 9}, []string{}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListEvents(ctx, tt.f)
			must(t, "ListEvents", err)
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" || total != tt.total {
				t.Errorf("ListEvents(%+v) total %d (want %d), ids mismatch (-want +got):\n%s", tt.f, total, tt.total, diff)
			}
		})
	}
}

func testEventDispatchPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, id := range []string{"a", "b", "c"} {
		_, _, err := s.CreateEvent(ctx, cloudEvent("src", id, "t", i))
		must(t, "CreateEvent", err)
	}
	out := cloudEvent("runplane", "out", "t.started", 0)
	out.Produced = true
	_, _, err := s.CreateEvent(ctx, out)
	must(t, "CreateEvent produced", err)

	pending, err := s.UndispatchedEvents(ctx, 10)
	must(t, "UndispatchedEvents", err)
	if got := len(pending); got != 3 || pending[0].ID != "a" || pending[2].ID != "c" {
		t.Fatalf("UndispatchedEvents = %d events, want a, b, c oldest first (produced ones are not dispatched)", got)
	}
	if one, _ := s.UndispatchedEvents(ctx, 1); len(one) != 1 {
		t.Errorf("UndispatchedEvents(1) = %d events, want 1", len(one))
	}
	must(t, "MarkEventDispatched", s.MarkEventDispatched(ctx, "src", "a", at(5)))
	got, err := s.GetEvent(ctx, "src", "a")
	must(t, "GetEvent", err)
	if got.DispatchTime == nil || !got.DispatchTime.Equal(at(5)) {
		t.Errorf("DispatchTime = %v, want %v", got.DispatchTime, at(5))
	}
	pending, _ = s.UndispatchedEvents(ctx, 10)
	if len(pending) != 2 {
		t.Errorf("UndispatchedEvents after marking a = %d, want 2", len(pending))
	}
	// Several at once; an absent one and none at all are passed over.
	must(t, "MarkEventsDispatched(none)", s.MarkEventsDispatched(ctx, nil, at(6)))
	must(t, "MarkEventsDispatched(c, absent)", s.MarkEventsDispatched(ctx,
		[]store.EventKey{{Source: "src", ID: "c"}, {Source: "src", ID: "absent"}, {Source: "src\x00", ID: "c"}}, at(6)))
	if got, _ := s.GetEvent(ctx, "src", "c"); got.DispatchTime == nil || !got.DispatchTime.Equal(at(6)) {
		t.Errorf("DispatchTime of c after MarkEventsDispatched = %v, want %v", got.DispatchTime, at(6))
	}
	if got, _ := s.GetEvent(ctx, "src", "b"); got.DispatchTime != nil {
		t.Errorf("DispatchTime of b, not marked = %v, want none", got.DispatchTime)
	}
	pending, _ = s.UndispatchedEvents(ctx, 10)
	if len(pending) != 1 || pending[0].ID != "b" {
		t.Errorf("UndispatchedEvents after marking c = %d events, want b alone", len(pending))
	}
	// Pruning before at(2) deletes a (dispatched) and the produced one, not b (received at(1), not dispatched).
	n, err := s.PruneEvents(ctx, at(2))
	must(t, "PruneEvents", err)
	if n != 2 {
		t.Errorf("PruneEvents = %d, want 2", n)
	}
	for id, want := range map[string]bool{"a": false, "b": true, "c": true} {
		_, err := s.GetEvent(ctx, "", id)
		if (err == nil) != want {
			t.Errorf("after prune GetEvent(%s) error = %v, want kept %v", id, err, want)
		}
	}
}

func eventRules(name string) store.EventRuleSet {
	pull := 30
	priv := false
	return store.EventRuleSet{OwnerID: "u1", EventRules: api.EventRules{
		Name: name, Owner: "alice", APIVersion: "v2", Multiple: true,
		Actions: []api.KeptnAction{{
			Name:   "Run <tests>",
			Events: []api.KeptnEvent{{Name: "sh.keptn.event.test.triggered", JSONPath: api.KeptnJSONPath{Property: "$.data.test.teststrategy", Match: "locust"}}},
			Tasks: []api.KeptnTask{{Name: "Run locust", Image: "locustio/locust", Cmd: []string{"locust"},
				Args: []string{"-f", "/keptn/locust/basic.py"}, Files: []string{"locust/basic.py"}, MaxPollDuration: &pull,
				Env:             []api.KeptnEnv{{Name: "HOST", Value: "$.data.deployment.deploymentURIsPublic[0]", ValueFrom: "event"}},
				SecurityContext: api.KeptnSecurityContext{Privileged: &priv}, Annotations: map[string]string{"a": "b"}}},
		}},
	}}
}

func testEventRules(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := eventRules("keptn")
	created, err := s.CreateEventRules(ctx, r)
	must(t, "CreateEventRules", err)
	if created.ID == "" || created.CreateTime.IsZero() {
		t.Errorf("CreateEventRules = id %q created %v, want an id and a time", created.ID, created.CreateTime)
	}
	got, err := s.GetEventRules(ctx, "keptn")
	must(t, "GetEventRules", err)
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.String()
		return s == "EventRules.CreateTime" || s == "EventRules.UpdateTime" || s == "ID"
	}, cmp.Ignore())
	if diff := cmp.Diff(r, got, opts, ignore); diff != "" || got.ID != created.ID {
		t.Errorf("GetEventRules mismatch (-want +got):\n%s", diff)
	}
	_, err = s.CreateEventRules(ctx, r)
	checkErr(t, "CreateEventRules again", err, store.ErrConflict, `event rules "keptn" already exist`)

	r.Actions[0].Silent = true
	r.OwnerID = "u2"
	updated, err := s.UpdateEventRules(ctx, r)
	must(t, "UpdateEventRules", err)
	if updated.ID != created.ID || !updated.Actions[0].Silent || updated.OwnerID != "u2" {
		t.Errorf("UpdateEventRules = id %s silent %v owner %s, want id %s kept, silent, owner u2", updated.ID,
			updated.Actions[0].Silent, updated.OwnerID, created.ID)
	}
	_, err = s.UpdateEventRules(ctx, eventRules("nope"))
	checkErr(t, "UpdateEventRules(nope)", err, store.ErrNotFound, "")

	_, err = s.CreateEventRules(ctx, eventRules("another"))
	must(t, "CreateEventRules another", err)
	list, err := s.ListEventRules(ctx)
	must(t, "ListEventRules", err)
	if len(list) != 2 || list[0].Name != "another" || list[1].Name != "keptn" {
		t.Errorf("ListEventRules = %d sets, want another, keptn", len(list))
	}
	must(t, "DeleteEventRules", s.DeleteEventRules(ctx, "keptn"))
	checkErr(t, "DeleteEventRules again", s.DeleteEventRules(ctx, "keptn"), store.ErrNotFound, "")
	_, err = s.GetEventRules(ctx, "keptn")
	checkErr(t, "GetEventRules deleted", err, store.ErrNotFound, `event rules "keptn" not found`)
	// A new set of the name is another object.
	again, err := s.CreateEventRules(ctx, eventRules("keptn"))
	must(t, "CreateEventRules after delete", err)
	if again.ID == created.ID {
		t.Errorf("a new rule set of a deleted one's name has its id %s", again.ID)
	}
}
