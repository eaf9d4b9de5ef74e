package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// eventWait bounds every wait for an event: long enough for a listener to get through a database restart.
const eventWait = 30 * time.Second

// Listener runs a store's ListenJobs for a test and hands over the events fn hears.
type Listener struct {
	events chan store.JobEvent
	cancel context.CancelFunc
	done   chan error
}

// Listen starts ev.ListenJobs and returns once it listens, which its first event, EventResync, tells. Each event
// goes to onEvent (when not nil), on ListenJobs' goroutine as it arrives, then to Next. The listener stops when t
// ends, if Stop did not stop it before.
func Listen(t *testing.T, ev store.Events, onEvent func(store.JobEvent)) *Listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{events: make(chan store.JobEvent, 1000), cancel: cancel, done: make(chan error, 1)}
	go func() {
		l.done <- ev.ListenJobs(ctx, func(e store.JobEvent) {
			if onEvent != nil {
				onEvent(e)
			}
			l.events <- e
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-l.done
	})
	if e := l.Next(t); e.Kind != store.EventResync {
		t.Fatalf("ListenJobs: first event = %+v, want EventResync", e)
	}
	return l
}

// Next returns the next event, failing t if none comes in time or ListenJobs returned.
func (l *Listener) Next(t *testing.T) store.JobEvent {
	t.Helper()
	select {
	case e := <-l.events:
		return e
	case err := <-l.done:
		l.done <- err
		t.Fatalf("ListenJobs returned %v while events were expected", err)
	case <-time.After(eventWait):
		t.Fatalf("no job event within %v", eventWait)
	}
	return store.JobEvent{}
}

// Stop ends ListenJobs' context and fails t unless it returns nil promptly.
func (l *Listener) Stop(t *testing.T) {
	t.Helper()
	l.cancel()
	select {
	case err := <-l.done:
		l.done <- err
		if err != nil {
			t.Errorf("ListenJobs after its context ended = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ListenJobs did not return within 5s of its context ending")
	}
}

// testJobEvents checks that a store shared by servers publishes what changes, and only that, in order. Stores
// that one process uses alone do not implement store.Events.
func testJobEvents(t *testing.T, s store.Store) {
	ev, ok := s.(store.Events)
	if !ok {
		t.Skip("the store does not implement store.Events")
	}
	l := Listen(t, ev, nil)
	ctx := t.Context()
	keyed := func(id string) store.Job {
		j := job(id, "t", 2)
		j.IdempotencyKey, j.OwnerID = "k", "u1"
		return j
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"create t-1", func() error { _, _, err := s.CreateJob(ctx, job("t-1", "t", 1)); return err }},
		{"create t-2 with a key", func() error { _, _, err := s.CreateJob(ctx, keyed("t-2")); return err }},
		{"create t-3 with the key: nothing", func() error {
			if _, created, err := s.CreateJob(ctx, keyed("t-3")); err != nil || created {
				t.Errorf("CreateJob(t-3 with a used key) created = %v, %v; want false", created, err)
			}
			return nil
		}},
		{"create t-1 again: refused", func() error {
			_, _, err := s.CreateJob(ctx, job("t-1", "t", 1))
			checkErr(t, "CreateJob(t-1) again", err, store.ErrConflict, "")
			return nil
		}},
		{"claim t-1", func() error { _, err := s.ClaimJob(ctx, at(10), held); return err }},
		{"set its handle", func() error { return s.SetJobHandle(ctx, "t-1", "h") }},
		{"renew its lease", func() error { _, err := s.RenewLeases(ctx, held); return err }},
		{"finish t-1", func() error {
			_, err := s.FinishJob(ctx, "t-1", store.Finish{Status: api.JobSucceeded})
			return err
		}},
		{"finish t-1 again: refused", func() error {
			_, err := s.FinishJob(ctx, "t-1", store.Finish{Status: api.JobFailed})
			checkErr(t, "FinishJob(t-1) again", err, store.ErrConflict, "")
			return nil
		}},
		{"cancel queued t-2", func() error {
			_, err := s.FinishJob(ctx, "t-2", store.Finish{Status: api.JobCancelled})
			return err
		}},
		{"create t-4", func() error { _, _, err := s.CreateJob(ctx, job("t-4", "t", 4)); return err }},
	}
	for _, st := range steps {
		must(t, st.name, st.fn())
	}
	want := []store.JobEvent{
		{Kind: store.EventQueued, ID: "t-1"},
		{Kind: store.EventQueued, ID: "t-2"},
		{Kind: store.EventFinished, ID: "t-1"},
		{Kind: store.EventFinished, ID: "t-2"},
		{Kind: store.EventQueued, ID: "t-4"},
	}
	var got []store.JobEvent
	for range want {
		got = append(got, l.Next(t))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job events (-want +got):\n%s", diff)
	}
	l.Stop(t)
}
