package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func sink(name string) api.EventSink {
	return api.EventSink{Name: name, URL: "https://hooks.example.com/" + name, Types: []string{}}
}

func testEventSinkRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	full := api.EventSink{Name: "full", URL: "http://127.0.0.1:9/e?x=1", Types: []string{"dev.runplane.job.", "sh.keptn."},
		Headers: map[string]api.HeaderValue{"X-Team": {Value: "ops"},
			"Authorization": {SecretRef: &api.SecretRef{Runner: "r", Key: "token"}}},
		IncludeResult: true}
	for _, sk := range []api.EventSink{full, sink("b-min"), sink("a-min")} {
		must(t, "CreateEventSink", s.CreateEventSink(ctx, sk))
	}
	got, err := s.GetEventSink(ctx, "full")
	must(t, "GetEventSink", err)
	if diff := cmp.Diff(full, got, opts); diff != "" {
		t.Errorf("GetEventSink(full) mismatch (-want +got):\n%s", diff)
	}
	list, err := s.ListEventSinks(ctx)
	must(t, "ListEventSinks", err)
	if diff := cmp.Diff([]api.EventSink{sink("a-min"), sink("b-min"), full}, list, opts); diff != "" {
		t.Errorf("ListEventSinks mismatch (-want +got):\n%s", diff)
	}

	checkErr(t, "CreateEventSink(full) again", s.CreateEventSink(ctx, sink("full")), store.ErrConflict,
		`event sink "full" already exists`)
	_, err = s.GetEventSink(ctx, "nope")
	checkErr(t, "GetEventSink(nope)", err, store.ErrNotFound, `event sink "nope" not found`)
	checkErr(t, "UpdateEventSink(nope)", s.UpdateEventSink(ctx, sink("nope")), store.ErrNotFound,
		`event sink "nope" not found`)
	checkErr(t, "DeleteEventSink(nope)", s.DeleteEventSink(ctx, "nope"), store.ErrNotFound,
		`event sink "nope" not found`)

	changed := sink("full")
	changed.URL = "https://elsewhere.example.com/"
	must(t, "UpdateEventSink", s.UpdateEventSink(ctx, changed))
	got, err = s.GetEventSink(ctx, "full")
	must(t, "GetEventSink", err)
	if diff := cmp.Diff(changed, got, opts); diff != "" {
		t.Errorf("GetEventSink after update mismatch (-want +got):\n%s", diff)
	}
	must(t, "DeleteEventSink", s.DeleteEventSink(ctx, "full"))
	_, err = s.GetEventSink(ctx, "full")
	checkErr(t, "GetEventSink after delete", err, store.ErrNotFound, "")
}

// pendingIDs returns the ids of the events not fanned out, in order.
func pendingIDs(t *testing.T, s store.Store) []store.OutboxEvent {
	t.Helper()
	evs, err := s.PendingEvents(t.Context(), 100)
	must(t, "PendingEvents", err)
	return evs
}

// outboxView is what a test compares of an outbox event: all but Seq.
func outboxView(evs []store.OutboxEvent) []store.OutboxEvent {
	out := []store.OutboxEvent{}
	for _, e := range evs {
		e.Seq = 0
		out = append(out, e)
	}
	return out
}

// testOutboxJobsAndRuns: a job's and a run's changes of status store their events in their own transactions,
// once each, while a sink exists; without one, nothing is stored.
func testOutboxJobsAndRuns(t *testing.T, s store.Store) {
	ctx := t.Context()
	// No sink: the engine's writes leave the outbox empty, and AppendEvent stores nothing.
	_, _, err := s.CreateJob(ctx, job("t-nosnk", "t", 0))
	must(t, "CreateJob", err)
	claimed, err := s.ClaimJob(ctx, at(1), store.Lease{Owner: "s1", Until: at(60)})
	must(t, "ClaimJob", err)
	_, err = s.FinishJob(ctx, claimed.ID, store.Finish{Status: api.JobSucceeded, Time: at(2)})
	must(t, "FinishJob", err)
	created, err := s.AppendEvent(ctx, store.OutboxEvent{ID: "x/1", Type: "x", Time: at(2), Event: []byte(`{}`)})
	must(t, "AppendEvent", err)
	if created {
		t.Errorf("AppendEvent with no sink: created = true, want false")
	}
	if evs := pendingIDs(t, s); len(evs) != 0 {
		t.Fatalf("PendingEvents with no sink = %+v, want none", evs)
	}

	must(t, "CreateEventSink", s.CreateEventSink(ctx, sink("a")))
	// A job: started when claimed, then its end; cancelled before it ran, only its end.
	_, _, err = s.CreateJob(ctx, job("t-aaaaa", "t", 10))
	must(t, "CreateJob", err)
	_, _, err = s.CreateJob(ctx, job("t-bbbbb", "t", 11))
	must(t, "CreateJob", err)
	claimed, err = s.ClaimJob(ctx, at(12), store.Lease{Owner: "s1", Until: at(60)})
	must(t, "ClaimJob", err)
	must(t, "SetJobHandle", s.SetJobHandle(ctx, claimed.ID, "h")) // no status change: no event
	_, err = s.FinishJob(ctx, "t-bbbbb", store.Finish{Status: api.JobCancelled, Time: at(13)})
	must(t, "FinishJob", err)
	_, err = s.FinishJob(ctx, "t-aaaaa", store.Finish{Status: api.JobFailed, Time: at(14)})
	must(t, "FinishJob", err)
	_, err = s.FinishJob(ctx, "t-aaaaa", store.Finish{Status: api.JobSucceeded, Time: at(15)})
	checkErr(t, "FinishJob twice", err, store.ErrConflict, "")

	// A run: started, then ended; a run stored already ended has its end.
	r, _, err := s.CreateRun(ctx, run("run-1", "w", 20))
	must(t, "CreateRun", err)
	r.Status, r.StartTime = api.RunRunning, ptr(at(21))
	r, err = s.UpdateRun(ctx, r)
	must(t, "UpdateRun", err)
	r.Reason = "still running" // no status change: no event
	r, err = s.UpdateRun(ctx, r)
	must(t, "UpdateRun", err)
	r.Status, r.CompletionTime = api.RunSucceeded, ptr(at(22))
	_, err = s.UpdateRun(ctx, r)
	must(t, "UpdateRun", err)
	ended := run("run-2", "w", 23)
	ended.Status, ended.CompletionTime = api.RunFailed, ptr(at(24))
	_, _, err = s.CreateRun(ctx, ended)
	must(t, "CreateRun", err)

	ev := func(kind, id, transition string, n int) store.OutboxEvent {
		return store.OutboxEvent{ID: kind + "/" + id + "/" + transition, Kind: kind, Subject: id,
			Type: "dev.runplane." + kind + "." + transition, Time: at(n)}
	}
	want := []store.OutboxEvent{
		ev("job", "t-aaaaa", "started", 12),
		ev("job", "t-bbbbb", "cancelled", 13),
		ev("job", "t-aaaaa", "failed", 14),
		ev("run", "run-1", "started", 21),
		ev("run", "run-1", "succeeded", 22),
		ev("run", "run-2", "failed", 24),
	}
	got := pendingIDs(t, s)
	if diff := cmp.Diff(want, outboxView(got), opts); diff != "" {
		t.Errorf("PendingEvents mismatch (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("PendingEvents seqs %d, %d: not increasing", got[i-1].Seq, got[i].Seq)
		}
	}
}

// testOutboxDeliveries: append, fan out once, claim with a lease, retry, deliver, prune.
func testOutboxDeliveries(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateEventSink", s.CreateEventSink(ctx, sink("a")))
	must(t, "CreateEventSink", s.CreateEventSink(ctx, sink("b")))
	e1 := store.OutboxEvent{ID: "keptn/1", Type: "sh.keptn.event.deploy.started", Subject: "s", Time: at(1),
		Event: []byte(`{"id":"keptn/1"}`)}
	created, err := s.AppendEvent(ctx, e1)
	must(t, "AppendEvent", err)
	if !created {
		t.Fatalf("AppendEvent(%q) created = false, want true", e1.ID)
	}
	again := e1
	again.Event = []byte(`{"id":"other"}`)
	if created, err = s.AppendEvent(ctx, again); err != nil || created {
		t.Fatalf("AppendEvent(%q) again = %v, %v; want false, nil", e1.ID, created, err)
	}
	_, err = s.AppendEvent(ctx, store.OutboxEvent{ID: "keptn/2", Type: "t2", Time: at(2), Event: []byte(`{"id":"keptn/2"}`)})
	must(t, "AppendEvent", err)
	pending := pendingIDs(t, s)
	if len(pending) != 2 || string(pending[0].Event) != `{"id":"keptn/1"}` {
		t.Fatalf("PendingEvents = %+v, want keptn/1 (as first stored) and keptn/2", pending)
	}
	due, n, err := s.EventBacklog(ctx)
	must(t, "EventBacklog", err)
	if len(due) != 0 || n != 2 {
		t.Errorf("EventBacklog = %v, %d; want none due, 2 pending", due, n)
	}

	// Fan out: event 1 to a and b, event 2 to a only. A second fan-out (another server) changes nothing.
	fan := []store.FannedEvent{{Seq: pending[0].Seq, Sinks: []string{"a", "b"}}, {Seq: pending[1].Seq, Sinks: []string{"a"}}}
	must(t, "FanOut", s.FanOut(ctx, at(3), fan))
	must(t, "FanOut again", s.FanOut(ctx, at(3), []store.FannedEvent{{Seq: pending[0].Seq, Event: []byte(`{}`), Sinks: []string{"a", "b", "c"}}}))
	if evs := pendingIDs(t, s); len(evs) != 0 {
		t.Errorf("PendingEvents after FanOut = %+v, want none", evs)
	}
	due, n, err = s.EventBacklog(ctx)
	must(t, "EventBacklog", err)
	if diff := cmp.Diff(map[string]int{"a": 2, "b": 1}, due); diff != "" || n != 0 {
		t.Errorf("EventBacklog = %v, %d; want a:2 b:1, 0 pending (%s)", due, n, diff)
	}

	// Not due before the fan-out's time; then a's two, in order, leased.
	l1 := store.Lease{Owner: "s1", Until: at(13)}
	ds, err := s.ClaimDeliveries(ctx, "a", at(2), l1, 10)
	must(t, "ClaimDeliveries", err)
	if len(ds) != 0 {
		t.Errorf("ClaimDeliveries before due = %+v, want none", ds)
	}
	ds, err = s.ClaimDeliveries(ctx, "a", at(3), l1, 10)
	must(t, "ClaimDeliveries", err)
	want := []store.Delivery{
		{Sink: "a", Event: pending[0]},
		{Sink: "a", Event: pending[1]},
	}
	if diff := cmp.Diff(want, ds, opts); diff != "" {
		t.Errorf("ClaimDeliveries(a) mismatch (-want +got):\n%s", diff)
	}
	// Leased: no one else gets them until the lease ends.
	ds, err = s.ClaimDeliveries(ctx, "a", at(5), store.Lease{Owner: "s2", Until: at(20)}, 10)
	must(t, "ClaimDeliveries", err)
	if len(ds) != 0 {
		t.Errorf("ClaimDeliveries of leased deliveries = %+v, want none", ds)
	}
	// The first failed: due again at 30, an attempt counted. The second is released unattempted.
	must(t, "RetryDelivery", s.RetryDelivery(ctx, "a", pending[0].Seq, at(30), "503 Service Unavailable"))
	must(t, "RetryDelivery", s.RetryDelivery(ctx, "a", pending[1].Seq, at(4), ""))
	ds, err = s.ClaimDeliveries(ctx, "a", at(5), store.Lease{Owner: "s2", Until: at(20)}, 10)
	must(t, "ClaimDeliveries", err)
	if diff := cmp.Diff([]store.Delivery{{Sink: "a", Event: pending[1]}}, ds, opts); diff != "" {
		t.Errorf("ClaimDeliveries after retries mismatch (-want +got):\n%s", diff)
	}
	must(t, "DeliveryDone", s.DeliveryDone(ctx, "a", pending[1].Seq, at(6)))
	// A lease that ended is taken over.
	ds, err = s.ClaimDeliveries(ctx, "a", at(31), store.Lease{Owner: "s2", Until: at(32)}, 10)
	must(t, "ClaimDeliveries", err)
	if diff := cmp.Diff([]store.Delivery{{Sink: "a", Event: pending[0], Attempts: 1}}, ds, opts); diff != "" {
		t.Errorf("ClaimDeliveries after the retry time mismatch (-want +got):\n%s", diff)
	}
	ds, err = s.ClaimDeliveries(ctx, "a", at(40), store.Lease{Owner: "s3", Until: at(50)}, 10)
	must(t, "ClaimDeliveries", err)
	if len(ds) != 1 || ds[0].Event.Seq != pending[0].Seq {
		t.Errorf("ClaimDeliveries after the lease ended = %+v, want event %d", ds, pending[0].Seq)
	}
	must(t, "DeliveryDone", s.DeliveryDone(ctx, "a", pending[0].Seq, at(41)))
	checkErr(t, "DeliveryDone(c)", s.DeliveryDone(ctx, "c", pending[0].Seq, at(41)), store.ErrNotFound, "")
	checkErr(t, "RetryDelivery of a delivered one", s.RetryDelivery(ctx, "a", pending[0].Seq, at(41), "x"),
		store.ErrNotFound, "")

	// Prune: event 2 went everywhere; event 1 still waits for b.
	pruned, err := s.PruneOutbox(ctx, at(100))
	must(t, "PruneOutbox", err)
	if pruned != 1 {
		t.Errorf("PruneOutbox = %d, want 1", pruned)
	}
	due, _, err = s.EventBacklog(ctx)
	must(t, "EventBacklog", err)
	if diff := cmp.Diff(map[string]int{"b": 1}, due); diff != "" {
		t.Errorf("EventBacklog after prune = %v, want b:1", due)
	}
	// Deleting b drops what it still had to receive; event 1 can then go, but not before its time.
	must(t, "DeleteEventSink", s.DeleteEventSink(ctx, "b"))
	if pruned, err = s.PruneOutbox(ctx, at(1)); err != nil || pruned != 0 {
		t.Errorf("PruneOutbox(before its time) = %d, %v; want 0", pruned, err)
	}
	if pruned, err = s.PruneOutbox(ctx, at(100)); err != nil || pruned != 1 {
		t.Errorf("PruneOutbox = %d, %v; want 1", pruned, err)
	}
	// Its id is free again: only delivered events are forgotten.
	if created, err = s.AppendEvent(ctx, e1); err != nil || !created {
		t.Errorf("AppendEvent(%q) after prune = %v, %v; want true", e1.ID, created, err)
	}
}

// testOutboxClaimConcurrent: claimers racing for one sink's deliveries get each exactly once.
func testOutboxClaimConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateEventSink", s.CreateEventSink(ctx, sink("a")))
	const events = 40
	for i := range events {
		_, err := s.AppendEvent(ctx, store.OutboxEvent{ID: fmt.Sprint("e", i), Type: "t", Time: at(i), Event: []byte(`{}`)})
		must(t, "AppendEvent", err)
	}
	var fan []store.FannedEvent
	for _, e := range pendingIDs(t, s) {
		fan = append(fan, store.FannedEvent{Seq: e.Seq, Sinks: []string{"a"}})
	}
	must(t, "FanOut", s.FanOut(ctx, at(0), fan))

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			l := store.Lease{Owner: fmt.Sprint("s", w), Until: at(3600)}
			for {
				ds, err := s.ClaimDeliveries(ctx, "a", at(100), l, 3)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.Event.Seq]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != events {
		t.Errorf("claimed %d deliveries, want %d", len(seen), events)
	}
	for seq, n := range seen {
		if n != 1 {
			t.Errorf("delivery of event %d claimed %d times, want once", seq, n)
		}
	}
}
