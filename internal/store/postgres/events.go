package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

var _ store.Events = (*Store)(nil)

// Job events are notifications on one channel, sent (pg_notify) by the very statement that makes the change:
// PostgreSQL delivers them only if and when its transaction commits, to every session listening on the database,
// in commit order. So a listener that hears of a job finds it changed, whichever replica reads it.
//
// Payloads are small: "q:<id>" a job was queued, "f:<id>" it finished, "r" a change the payload could not
// describe (an id too long for a notification), which listeners take for a resync.
const eventChannel = "runplane_jobs"

const listenSQL = `LISTEN ` + eventChannel

// maxPayload is the longest payload sent; PostgreSQL refuses 8000 bytes and more.
const maxPayload = 7999

// eventPayload is the notification of kind for job id.
func eventPayload(kind store.JobEventKind, id string) string {
	var p string
	switch kind {
	case store.EventQueued:
		p = "q:" + id
	case store.EventFinished:
		p = "f:" + id
	}
	if p == "" || len(p) > maxPayload {
		return "r"
	}
	return p
}

// parseEvent reads a notification's payload; false if it is none eventPayload makes (a newer replica's).
func parseEvent(payload string) (store.JobEvent, bool) {
	if payload == "r" {
		return store.JobEvent{Kind: store.EventResync}, true
	}
	kind, id, ok := strings.Cut(payload, ":")
	switch {
	case !ok || id == "":
		return store.JobEvent{}, false
	case kind == "q":
		return store.JobEvent{Kind: store.EventQueued, ID: id}, true
	case kind == "f":
		return store.JobEvent{Kind: store.EventFinished, ID: id}, true
	}
	return store.JobEvent{}, false
}

// How long ListenJobs waits between attempts to listen again: doubling from minBackoff up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// ListenJobs calls fn, from this goroutine, with EventResync once it listens, then with every job event of every
// replica on the database, until ctx ends; then it returns nil. It returns an error only if it cannot connect
// and listen at the start.
//
// It listens on a connection of its own, outside the pool: a session that LISTENs must stay open. When that
// connection fails (the server restarted, an administrator ended the session, or the network dropped it, which
// Go's TCP keepalives notice within minutes), it connects and listens again, waiting minBackoff, then twice as
// long after each failure up to maxBackoff, and calls fn with EventResync, since what happened in between was not
// heard.
func (s *Store) ListenJobs(ctx context.Context, fn func(store.JobEvent)) error {
	conn, err := s.listen(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return wrap(err, "postgres: listen for job events")
	}
	for {
		fn(store.JobEvent{Kind: store.EventResync})
		err := s.deliver(ctx, conn, fn)
		closeConn(conn)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("job events: connection lost, listening again", "err", err)
		if conn = s.relisten(ctx); conn == nil {
			return nil
		}
	}
}

// deliver hands fn the events heard on conn until conn fails or ctx ends.
func (s *Store) deliver(ctx context.Context, conn *pgx.Conn, fn func(store.JobEvent)) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if ev, ok := parseEvent(n.Payload); ok {
			fn(ev)
		} else {
			s.log.Warn("unknown job event ignored", "payload", n.Payload)
		}
	}
}

// relisten connects and listens again, with backoff, until it succeeds or ctx ends (nil).
func (s *Store) relisten(ctx context.Context) *pgx.Conn {
	lost := time.Now()
	wait := minBackoff
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		conn, err := s.listen(ctx)
		if err == nil {
			s.log.Info("job events: listening again", "attempts", attempt, "after", time.Since(lost).Round(time.Millisecond))
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Debug("job events: listen again", "attempt", attempt, "err", err)
		wait = min(2*wait, maxBackoff)
	}
}

// listen opens a connection as the pool's are configured, and listens on it.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pg.Config().ConnConfig) // Config returns a copy

	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, listenSQL); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// closeConn closes conn, waiting a moment at most for a server that may be gone.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
