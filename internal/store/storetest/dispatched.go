package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// testEventRulesVersion: every change to a rule set raises the version, and ListEventRulesVersion lists the sets
// at the version it returns.
func testEventRulesVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	v0, err := s.EventRulesVersion(ctx)
	must(t, "EventRulesVersion", err)
	last := v0
	changes := []struct {
		name string
		fn   func() error
	}{
		{"create", func() error { _, err := s.CreateEventRules(ctx, eventRules("a")); return err }},
		{"create another", func() error { _, err := s.CreateEventRules(ctx, eventRules("b")); return err }},
		{"update", func() error { _, err := s.UpdateEventRules(ctx, eventRules("a")); return err }},
		{"delete", func() error { return s.DeleteEventRules(ctx, "b") }},
	}
	for _, c := range changes {
		must(t, c.name, c.fn())
		v, err := s.EventRulesVersion(ctx)
		must(t, c.name+": EventRulesVersion", err)
		if v <= last {
			t.Errorf("after %s: EventRulesVersion = %d, want more than %d", c.name, v, last)
		}
		last = v
	}
	// A refused change changes nothing.
	if _, err := s.CreateEventRules(ctx, eventRules("a")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateEventRules(a) again = %v, want ErrConflict", err)
	}
	sets, v, err := s.ListEventRulesVersion(ctx)
	must(t, "ListEventRulesVersion", err)
	if v != last || len(sets) != 1 || sets[0].Name != "a" {
		t.Errorf("ListEventRulesVersion = %d sets, version %d; want [a] at %d", len(sets), v, last)
	}
}

// testDispatchedEvent: CreateDispatchedEvent stores the event, dispatched, with its runs and their jobs, or nothing
// at all — for a duplicate event, rule sets changed since the version given, a full queue, a taken id — and a
// run whose idempotency key is taken is the earlier one.
func testDispatchedEvent(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreateEventRules(ctx, eventRules("rules"))
	must(t, "CreateEventRules", err)
	version, err := s.EventRulesVersion(ctx)
	must(t, "EventRulesVersion", err)
	dispatched := at(5).Add(time.Second)
	ev := func(id string) api.Event {
		e := cloudEvent("bench", id, "dev.bench.t1", 5)
		e.DispatchTime = &dispatched
		return e
	}
	started := func(ids ...string) []store.RunWithJobs {
		var out []store.RunWithJobs
		for i, id := range ids {
			r, jobs := runWithJobs(id, "alice", "key-"+id, 10+i)
			out = append(out, store.RunWithJobs{Run: r, Jobs: jobs})
		}
		return out
	}
	// idTaken gives the second run a key of its own: its id is what is taken.
	idTaken := func(runs []store.RunWithJobs) []store.RunWithJobs {
		runs[1].Run.IdempotencyKey = "key-other"
		runs[1].Jobs[0].ID = "run-1-other-j1"
		runs[1].Run.Steps[0].Job = "run-1-other-j1"
		return runs
	}
	steps := []struct {
		name        string
		event       string
		version     int64
		runs        []store.RunWithJobs
		max         int
		wantCreated bool
		wantRuns    []string // the runs stored (and their first jobs) after the step
		wantNoRuns  []string // runs that must not be stored
		wantErr     error
	}{
		{"two runs", "e1", version, started("run-1", "run-2"), 0, true, []string{"run-1", "run-2"}, nil, nil},
		{"no run", "e2", version, nil, 0, true, nil, nil, nil},
		{"duplicate: nothing more", "e1", version, started("run-3"), 0, false, nil, []string{"run-3"}, nil},
		{"rules changed: nothing", "e4", version + 1, started("run-4"), 0, false, nil, []string{"run-4"}, store.ErrRulesChanged},
		{"duplicate under changed rules: the duplicate", "e1", version + 1, started("run-8"), 0, false, nil, []string{"run-8"}, nil},
		{"queue full: nothing", "e5", version, started("run-5"), 2, false, nil, []string{"run-5"}, store.ErrQueueFull},
		{"a run's id taken: nothing", "e6", version, idTaken(started("run-6", "run-1")), 0, false, nil,
			[]string{"run-6"}, store.ErrConflict},
	}
	for _, st := range steps {
		e := ev(st.event)
		got, created, runs, runCreated, err := s.CreateDispatchedEvent(ctx, e, st.version, st.runs, st.max)
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Errorf("%s: CreateDispatchedEvent(%s) error = %v, want %v", st.name, st.event, err, st.wantErr)
			}
			if _, err := s.GetEvent(ctx, e.Source, e.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetEvent(%s) of a refused event = %v, want ErrNotFound", st.name, e.ID, err)
			}
		} else {
			must(t, st.name+": CreateDispatchedEvent", err)
			if created != st.wantCreated || got.ID != e.ID {
				t.Errorf("%s: CreateDispatchedEvent(%s) = %s, created %v; want created %v", st.name, e.ID, got.ID, created, st.wantCreated)
			}
			if created && (len(runs) != len(st.runs) || len(runCreated) != len(st.runs)) {
				t.Errorf("%s: CreateDispatchedEvent returned %d runs, %d created flags; want %d", st.name, len(runs), len(runCreated), len(st.runs))
			}
			for i := range runs {
				if runs[i].ID != st.runs[i].Run.ID || !runCreated[i] || runs[i].Version != 1 {
					t.Errorf("%s: run %d = %s created %v version %d, want %s created, version 1", st.name, i, runs[i].ID,
						runCreated[i], runs[i].Version, st.runs[i].Run.ID)
				}
			}
			stored, err := s.GetEvent(ctx, e.Source, e.ID)
			must(t, st.name+": GetEvent", err)
			if stored.DispatchTime == nil || !stored.DispatchTime.Equal(dispatched) {
				t.Errorf("%s: event %s dispatch time %v, want %v", st.name, e.ID, stored.DispatchTime, dispatched)
			}
		}
		for _, id := range st.wantRuns {
			r, err := s.GetRun(ctx, id)
			must(t, st.name+": GetRun "+id, err)
			if _, err := s.GetJob(ctx, r.Steps[0].Job); err != nil {
				t.Errorf("%s: GetJob(%s) of run %s: %v", st.name, r.Steps[0].Job, id, err)
			}
		}
		for _, id := range st.wantNoRuns {
			if _, err := s.GetRun(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetRun(%s) = %v, want ErrNotFound", st.name, id, err)
			}
			if _, err := s.GetJob(ctx, id+"-j1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetJob(%s-j1) = %v, want ErrNotFound", st.name, id, err)
			}
		}
	}
	// A dispatched event is not to dispatch again.
	pending, err := s.UndispatchedEvents(ctx, 10)
	must(t, "UndispatchedEvents", err)
	if len(pending) != 0 {
		t.Errorf("UndispatchedEvents = %d events, want none", len(pending))
	}
	// A run's key taken (the event pruned and sent again): that run stands for it, and the event is stored.
	runs := started("run-7")
	runs[0].Run.IdempotencyKey = "key-run-1"
	_, created, got, runCreated, err := s.CreateDispatchedEvent(ctx, ev("e7"), version, runs, 0)
	must(t, "CreateDispatchedEvent e7", err)
	if !created || len(got) != 1 || got[0].ID != "run-1" || runCreated[0] {
		t.Errorf("CreateDispatchedEvent(e7) created %v, runs %v; want created, run-1 not created", created, got)
	}
	if _, err := s.GetRun(ctx, "run-7"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(run-7) = %v, want ErrNotFound", err)
	}
}
