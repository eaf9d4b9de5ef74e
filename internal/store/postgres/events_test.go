package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
	"github.com/runplane/runplane/internal/store/storetest"
)

func TestEventPayload(t *testing.T) {
	long := strings.Repeat("x", maxPayload)
	tests := []struct {
		name    string
		kind    store.JobEventKind
		id      string
		payload string
		want    store.JobEvent
	}{
		{"queued", store.EventQueued, "t-aaaaa", "q:t-aaaaa", store.JobEvent{Kind: store.EventQueued, ID: "t-aaaaa"}},
		{"finished", store.EventFinished, "t-aaaaa", "f:t-aaaaa", store.JobEvent{Kind: store.EventFinished, ID: "t-aaaaa"}},
		{"id with a colon", store.EventFinished, "a:b", "f:a:b", store.JobEvent{Kind: store.EventFinished, ID: "a:b"}},
		{"id too long to send", store.EventFinished, long, "r", store.JobEvent{Kind: store.EventResync}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := eventPayload(tt.kind, tt.id)
			if p != tt.payload {
				t.Errorf("eventPayload(%v, %.20q) = %.20q, want %.20q", tt.kind, tt.id, p, tt.payload)
			}
			got, ok := parseEvent(p)
			if !ok || got != tt.want {
				t.Errorf("parseEvent(%.20q) = %+v, %v; want %+v, true", p, got, ok, tt.want)
			}
		})
	}
	for _, p := range []string{"", "q", "q:", "x:t-aaaaa", "queued"} {
		if got, ok := parseEvent(p); ok {
			t.Errorf("parseEvent(%q) = %+v, true; want false", p, got)
		}
	}
}

// TestListenJobsAcrossStores has one store listen while another writes, as two replicas do: every change is
// heard, once, in order, and only once it committed, so that the listener finds the job as the event says.
func TestListenJobsAcrossStores(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	listener, writer := openAt(t, dsn), openAt(t, dsn)
	// Look the moment an event arrives, through the listener's store.
	l := storetest.Listen(t, listener, func(e store.JobEvent) {
		if e.Kind == store.EventResync {
			return
		}
		j, err := listener.GetJob(context.Background(), e.ID)
		switch {
		case err != nil:
			t.Errorf("on %+v: GetJob: %v", e, err)
		case e.Kind == store.EventFinished && !j.Status.Final():
			t.Errorf("on %+v: GetJob status = %s, want a final one", e, j.Status)
		}
	})

	const jobs, workers = 60, 8
	each := func(fn func(id string) error) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < jobs; i += workers {
					if err := fn(fmt.Sprintf("t-%05d", i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	each(func(id string) error {
		_, _, err := writer.CreateJob(t.Context(), store.Job{Job: api.Job{ID: id, Task: "t"}})
		return err
	})
	each(func(id string) error {
		_, err := writer.FinishJob(t.Context(), id, store.Finish{Status: api.JobCancelled})
		return err
	})
	heard := map[string][]store.JobEventKind{}
	for range 2 * jobs {
		e := l.Next(t)
		heard[e.ID] = append(heard[e.ID], e.Kind)
	}
	for i := range jobs {
		id := fmt.Sprintf("t-%05d", i)
		if want := []store.JobEventKind{store.EventQueued, store.EventFinished}; !cmp.Equal(heard[id], want) {
			t.Errorf("events of %s = %v, want %v", id, heard[id], want)
		}
	}

	// The statements publish; their transaction's commit delivers, and a rollback drops what they published.
	ctx := t.Context()
	create := func(id string) {
		t.Helper()
		if _, _, err := writer.CreateJob(ctx, store.Job{Job: api.Job{ID: id, Task: "t"}}); err != nil {
			t.Fatal(err)
		}
	}
	next := func(what string, want store.JobEvent) {
		t.Helper()
		if got := l.Next(t); got != want {
			t.Errorf("event %s = %+v, want %+v", what, got, want)
		}
	}
	create("t-held")
	next("after CreateJob", store.JobEvent{Kind: store.EventQueued, ID: "t-held"})
	conn := connect(t, dsn)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, finishJob, "succeeded", time.Now(), nil, "", nil, []byte{}, nil, "t-held",
		eventPayload(store.EventFinished, "t-held"), nil, nil); err != nil {
		t.Fatal(err)
	}
	create("t-meanwhile")
	next("while another transaction has published", store.JobEvent{Kind: store.EventQueued, ID: "t-meanwhile"})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	next("after it committed", store.JobEvent{Kind: store.EventFinished, ID: "t-held"})

	tx, err = conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, createJob, "t-rolled-back", "", "t", "queued", time.Now(), "", nil, []byte{}, nil, nil,
		"", "", eventPayload(store.EventQueued, "t-rolled-back"), "", "", "", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	create("t-last")
	next("after a rollback", store.JobEvent{Kind: store.EventQueued, ID: "t-last"})
}

// listenerPID returns the backend of the session listening on the database of dsn.
func listenerPID(t *testing.T, srv *pgtest.Server, dsn string) int {
	t.Helper()
	db, err := urlDatabase(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	err = connect(t, srv.SuperuserDSN("postgres")).QueryRow(t.Context(),
		`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query = $2`, db, listenSQL).Scan(&pid)
	if err != nil {
		t.Fatalf("find the listening session: %v", err)
	}
	return pid
}

// createJobEventually creates job id through s, retrying while the store reconnects after a restart.
func createJobEventually(t *testing.T, s *Store, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, err := s.CreateJob(t.Context(), store.Job{Job: api.Job{ID: id, Task: "t"}})
		if err == nil || errors.Is(err, store.ErrConflict) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateJob(%s): %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestListenJobsReconnects(t *testing.T) {
	// After each loss the listener resyncs, once it listens again, and then hears what follows.
	check := func(t *testing.T, s *Store, l *storetest.Listener) {
		t.Helper()
		if got := l.Next(t); got.Kind != store.EventResync {
			t.Fatalf("event after the connection was lost = %+v, want EventResync", got)
		}
		createJobEventually(t, s, "t-after")
		if got, want := l.Next(t), (store.JobEvent{Kind: store.EventQueued, ID: "t-after"}); got != want {
			t.Errorf("event after listening again = %+v, want %+v", got, want)
		}
	}

	t.Run("session terminated", func(t *testing.T) {
		srv := pgtest.Start(t)
		dsn := srv.CreateDatabase(t)
		s := openAt(t, dsn)
		l := storetest.Listen(t, s, nil)
		pid := listenerPID(t, srv, dsn)
		var ok bool
		if err := connect(t, srv.SuperuserDSN("postgres")).QueryRow(t.Context(),
			`SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
		}
		check(t, s, l)
		if again := listenerPID(t, srv, dsn); again == pid {
			t.Errorf("listening session after the old one ended = %d, the same", again)
		}
	})

	t.Run("server restarted", func(t *testing.T) {
		srv := pgtest.NewServer(t)
		s, logs := openLogged(t, srv.CreateDatabase(t))
		l := storetest.Listen(t, s, nil)
		srv.Stop(t)
		// Restart once attempts to listen again have failed, so that it must retry.
		waitLogged(t, logs, "attempt=2")
		srv.Restart(t)
		check(t, s, l)
	})
}

// openLogged opens the store at dsn, closed when t ends, with a log at debug level that the test can read.
func openLogged(t *testing.T, dsn string) (*Store, *syncWriter) {
	t.Helper()
	logs := &syncWriter{}
	opts := testOptions(t)
	opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// waitLogged waits until logs holds text.
func waitLogged(t *testing.T, logs *syncWriter, text string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), text); {
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged within 30s; log:\n%s", text, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenJobsStops(t *testing.T) {
	srv := pgtest.NewServer(t)
	s, logs := openLogged(t, srv.CreateDatabase(t))

	// Its context ends while it waits to listen again: it returns nil at once.
	l := storetest.Listen(t, s, nil)
	srv.Stop(t)
	waitLogged(t, logs, "connection lost")
	l.Stop(t)

	// It cannot listen at the start: an error, and fn is never called.
	err := s.ListenJobs(t.Context(), func(e store.JobEvent) { t.Errorf("ListenJobs without a server called fn(%+v)", e) })
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: listen for job events: ") {
		t.Errorf("ListenJobs without a server = %v, want an error saying it cannot listen", err)
	}
}
