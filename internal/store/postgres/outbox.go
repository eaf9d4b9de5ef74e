package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

// AppendEvent stores e unless no sink exists or an event of its id is there; created says whether it stored it.
func (s *Store) AppendEvent(ctx context.Context, e store.OutboxEvent) (bool, error) {
	var created bool
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `INSERT INTO event_outbox (id, kind, subject, type, create_time, event)
			SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM event_sinks)
			ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Kind, e.Subject, e.Type, storedTime(e.Time, s.now()), nullText(e.Event))
		created = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, wrap(err, "postgres: append event %q", e.ID)
	}
	return created, nil
}

// PendingEvents returns up to n events not fanned out yet, by seq.
func (s *Store) PendingEvents(ctx context.Context, n int) ([]store.OutboxEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, id, kind, subject, type, create_time, event FROM event_outbox
		WHERE NOT fanned ORDER BY seq LIMIT $1`, n)
	if err != nil {
		return nil, wrap(err, "postgres: pending events")
	}
	evs, err := collect(rows, scanOutboxEvent)
	if err != nil {
		return nil, wrap(err, "postgres: pending events")
	}
	return evs, nil
}

// FanOut stores the events' CloudEvents and creates their deliveries, for those not fanned out before. Each
// event is one statement: the update's row lock makes a second server's update of the same event wait, then
// find it fanned out and create nothing.
func (s *Store) FanOut(ctx context.Context, now time.Time, evs []store.FannedEvent) error {
	if len(evs) == 0 {
		return nil
	}
	due := stored(now)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, e := range evs {
			sinks := e.Sinks
			if sinks == nil {
				sinks = []string{}
			}
			b.Queue(`WITH f AS (UPDATE event_outbox SET fanned = true, event = coalesce($1, event)
					WHERE seq = $2 AND NOT fanned RETURNING seq)
				INSERT INTO event_deliveries (sink, event_seq, next_time)
				SELECT sink, f.seq, $4 FROM f, unnest($3::text[]) AS sink
				ON CONFLICT DO NOTHING`, nullText(e.Event), e.Seq, sinks, due)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return wrap(err, "postgres: fan out %d events", len(evs))
}

// ClaimDeliveries leases up to n due deliveries of sink to l, by seq: one statement, exactly-once as ClaimJob is
// (the due rows no other transaction holds are locked, SKIP LOCKED, and leased).
func (s *Store) ClaimDeliveries(ctx context.Context, sink string, now time.Time, l store.Lease, n int) ([]store.Delivery, error) {
	if !textOK(sink) {
		return []store.Delivery{}, nil
	}
	rows, err := s.pool.Query(ctx, `WITH c AS (
			SELECT sink, event_seq FROM event_deliveries
			WHERE sink = $1 AND delivered_time IS NULL AND next_time <= $2 AND (lease_until IS NULL OR lease_until < $2)
			ORDER BY event_seq LIMIT $5 FOR UPDATE SKIP LOCKED),
		u AS (UPDATE event_deliveries d SET lease_owner = $3, lease_until = $4 FROM c
			WHERE d.sink = c.sink AND d.event_seq = c.event_seq RETURNING d.event_seq, d.attempts)
		SELECT o.seq, o.id, o.kind, o.subject, o.type, o.create_time, o.event, u.attempts
		FROM u JOIN event_outbox o ON o.seq = u.event_seq ORDER BY o.seq`,
		sink, stored(now), l.Owner, leaseUntil(l.Until), n)
	if err != nil {
		return nil, wrap(err, "postgres: claim deliveries of sink %q", sink)
	}
	ds, err := collect(rows, func(row pgx.Row) (store.Delivery, error) {
		var d store.Delivery
		var ev *string
		err := row.Scan(&d.Event.Seq, &d.Event.ID, &d.Event.Kind, &d.Event.Subject, &d.Event.Type, &d.Event.Time,
			&ev, &d.Attempts)
		d.Sink, d.Event.Time, d.Event.Event = sink, d.Event.Time.UTC(), textBytes(ev)
		return d, err
	})
	if err != nil {
		return nil, wrap(err, "postgres: claim deliveries of sink %q", sink)
	}
	return ds, nil
}

// DeliveryDone records that sink received event seq at t.
func (s *Store) DeliveryDone(ctx context.Context, sink string, seq int64, t time.Time) error {
	name := fmt.Sprintf("%s/%d", sink, seq)
	if !textOK(sink) {
		return notFoundf("delivery %q not found", name)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE event_deliveries SET delivered_time = $1, lease_owner = '', lease_until = NULL
		WHERE sink = $2 AND event_seq = $3`, stored(t), sink, seq)
	return wrap(oneRow(tag, err, "delivery", name), "postgres: delivery of event %d to sink %q done", seq, sink)
}

// RetryDelivery releases a delivery, due again at next; a failure counts an attempt.
func (s *Store) RetryDelivery(ctx context.Context, sink string, seq int64, next time.Time, failure string) error {
	name := fmt.Sprintf("%s/%d", sink, seq)
	if !textOK(sink) {
		return notFoundf("delivery %q not found", name)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE event_deliveries SET next_time = $1,
			attempts = attempts + CASE WHEN $2 <> '' THEN 1 ELSE 0 END,
			last_error = CASE WHEN $2 <> '' THEN $2 ELSE last_error END, lease_owner = '', lease_until = NULL
		WHERE sink = $3 AND event_seq = $4 AND delivered_time IS NULL`, stored(next), failure, sink, seq)
	return wrap(oneRow(tag, err, "delivery", name), "postgres: retry delivery of event %d to sink %q", seq, sink)
}

// PruneOutbox deletes the events fanned out before before that every sink received, with their deliveries: one
// statement, so the events it deletes are those whose deliveries it deletes.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `WITH e AS (
			DELETE FROM event_outbox o WHERE fanned AND create_time < $1 AND NOT EXISTS
				(SELECT 1 FROM event_deliveries d WHERE d.event_seq = o.seq AND d.delivered_time IS NULL)
			RETURNING seq),
		d AS (DELETE FROM event_deliveries WHERE event_seq IN (SELECT seq FROM e))
		SELECT seq FROM e`, stored(before))
	if err != nil {
		return 0, wrap(err, "postgres: prune events")
	}
	return int(tag.RowsAffected()), nil
}

// EventBacklog returns the deliveries due per sink and the events not fanned out.
func (s *Store) EventBacklog(ctx context.Context) (map[string]int, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT sink, count(*) FROM event_deliveries WHERE delivered_time IS NULL GROUP BY sink`)
	if err != nil {
		return nil, 0, wrap(err, "postgres: event backlog")
	}
	due := map[string]int{}
	var sink string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&sink, &n}, func() error { due[sink] = n; return nil }); err != nil {
		return nil, 0, wrap(err, "postgres: event backlog")
	}
	var pending int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE NOT fanned`).Scan(&pending); err != nil {
		return nil, 0, wrap(err, "postgres: event backlog")
	}
	return due, pending, nil
}

func scanOutboxEvent(row pgx.Row) (store.OutboxEvent, error) {
	var e store.OutboxEvent
	var ev *string
	if err := row.Scan(&e.Seq, &e.ID, &e.Kind, &e.Subject, &e.Type, &e.Time, &ev); err != nil {
		return store.OutboxEvent{}, err
	}
	e.Time, e.Event = e.Time.UTC(), textBytes(ev)
	return e, nil
}
