package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/runplane/runplane/internal/store"
)

// AppendEvent stores e unless no sink exists or an event of its id is there; created says whether it stored it.
func (s *Store) AppendEvent(ctx context.Context, e store.OutboxEvent) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(appendEvent, e.ID, e.Kind, e.Subject, e.Type, toNanos(storedTime(e.Time, s.now())),
			nullText(e.Event))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}, appendEvent)
	if err != nil {
		return false, wrap(err, "sqlite: append event %q", e.ID)
	}
	return n == 1, nil
}

// PendingEvents returns up to n events not fanned out yet, by seq.
func (s *Store) PendingEvents(ctx context.Context, n int) ([]store.OutboxEvent, error) {
	return listAll(ctx, s.rs, scanOutboxEvent, "sqlite: pending events",
		`SELECT seq, id, kind, subject, type, create_time, event FROM event_outbox WHERE fanned = 0 ORDER BY seq LIMIT ?`, n)
}

// FanOut stores the events' CloudEvents and creates their deliveries, for those not fanned out before.
func (s *Store) FanOut(ctx context.Context, now time.Time, evs []store.FannedEvent) error {
	if len(evs) == 0 {
		return nil
	}
	due := toNanos(now)
	err := s.write(ctx, func(tx *wtx) error {
		for _, e := range evs {
			res, err := tx.exec(fanOut, nullText(e.Event), e.Seq)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				continue // fanned out before, or gone
			}
			for _, sink := range e.Sinks {
				if _, err := tx.exec(insertDelivery, sink, e.Seq, due); err != nil {
					return err
				}
			}
		}
		return nil
	}, fanOut, insertDelivery)
	return wrap(err, "sqlite: fan out %d events", len(evs))
}

// ClaimDeliveries leases up to n due deliveries of sink to l, by seq. The look and the lease are one write
// operation: no other claim, in any process, comes between them.
func (s *Store) ClaimDeliveries(ctx context.Context, sink string, now time.Time, l store.Lease, n int) ([]store.Delivery, error) {
	var ds []store.Delivery
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.query(dueDeliveries, sink, toNanos(now), toNanos(now), n)
		if err != nil {
			return err
		}
		if ds, err = scanAll(rows, scanDelivery); err != nil {
			return err
		}
		for i := range ds {
			ds[i].Sink = sink
			if _, err := tx.exec(leaseDelivery, l.Owner, leaseUntil(l.Until), sink, ds[i].Event.Seq); err != nil {
				return err
			}
		}
		return nil
	}, dueDeliveries, leaseDelivery)
	if err != nil {
		return nil, wrap(err, "sqlite: claim deliveries of sink %q", sink)
	}
	return ds, nil
}

// DeliveryDone records that sink received event seq at t.
func (s *Store) DeliveryDone(ctx context.Context, sink string, seq int64, t time.Time) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deliveryDone, toNanos(t), sink, seq)
		return oneRow(res, err, "delivery", fmt.Sprintf("%s/%d", sink, seq))
	}, deliveryDone)
	return wrap(err, "sqlite: delivery of event %d to sink %q done", seq, sink)
}

// RetryDelivery releases a delivery, due again at next; a failure counts an attempt.
func (s *Store) RetryDelivery(ctx context.Context, sink string, seq int64, next time.Time, failure string) error {
	attempt := 0
	if failure != "" {
		attempt = 1
	}
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(retryDelivery, toNanos(next), attempt, failure, sink, seq)
		return oneRow(res, err, "delivery", fmt.Sprintf("%s/%d", sink, seq))
	}, retryDelivery)
	return wrap(err, "sqlite: retry delivery of event %d to sink %q", seq, sink)
}

// PruneOutbox deletes the events fanned out before before that every sink received, with their deliveries.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		b := toNanos(before)
		if _, err := tx.exec(pruneDeliveries, b); err != nil {
			return err
		}
		res, err := tx.exec(pruneOutbox, b)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}, pruneDeliveries, pruneOutbox)
	if err != nil {
		return 0, wrap(err, "sqlite: prune events")
	}
	return int(n), nil
}

// EventBacklog returns the deliveries due per sink and the events not fanned out.
func (s *Store) EventBacklog(ctx context.Context) (map[string]int, int, error) {
	due := map[string]int{}
	var pending int
	err := s.read(ctx, func(tx *wtx) error {
		rows, err := tx.query(dueBySink)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sink string
			var n int
			if err := rows.Scan(&sink, &n); err != nil {
				return err
			}
			due[sink] = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.queryRow(countPending).Scan(&pending)
	}, dueBySink, countPending)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: event backlog: %w", err)
	}
	return due, pending, nil
}

const (
	appendEvent = `INSERT OR IGNORE INTO event_outbox (id, kind, subject, type, create_time, event)
		SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM event_sinks)`
	fanOut         = `UPDATE event_outbox SET fanned = 1, event = coalesce(?, event) WHERE seq = ? AND fanned = 0`
	insertDelivery = `INSERT OR IGNORE INTO event_deliveries (sink, event_seq, next_time) VALUES (?, ?, ?)`
	dueDeliveries  = `SELECT o.seq, o.id, o.kind, o.subject, o.type, o.create_time, o.event, d.attempts
		FROM event_deliveries d JOIN event_outbox o ON o.seq = d.event_seq
		WHERE d.sink = ? AND d.delivered_time IS NULL AND d.next_time <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)
		ORDER BY d.event_seq LIMIT ?`
	leaseDelivery = `UPDATE event_deliveries SET lease_owner = ?, lease_until = ? WHERE sink = ? AND event_seq = ?`
	deliveryDone  = `UPDATE event_deliveries SET delivered_time = ?, lease_owner = '', lease_until = NULL
		WHERE sink = ? AND event_seq = ?`
	retryDelivery = `UPDATE event_deliveries SET next_time = ?, attempts = attempts + ?,
		last_error = CASE WHEN ?3 != '' THEN ?3 ELSE last_error END, lease_owner = '', lease_until = NULL
		WHERE sink = ? AND event_seq = ? AND delivered_time IS NULL`
	prunable = `SELECT seq FROM event_outbox o WHERE fanned = 1 AND create_time < ?1 AND NOT EXISTS
		(SELECT 1 FROM event_deliveries d WHERE d.event_seq = o.seq AND d.delivered_time IS NULL)`
	pruneDeliveries = `DELETE FROM event_deliveries WHERE event_seq IN (` + prunable + `)`
	pruneOutbox     = `DELETE FROM event_outbox WHERE seq IN (` + prunable + `)`
	dueBySink       = `SELECT sink, count(*) FROM event_deliveries WHERE delivered_time IS NULL GROUP BY sink`
	countPending    = `SELECT count(*) FROM event_outbox WHERE fanned = 0`
)

func scanOutboxEvent(row scanner) (store.OutboxEvent, error) {
	var e store.OutboxEvent
	var t int64
	var ev sql.NullString
	if err := row.Scan(&e.Seq, &e.ID, &e.Kind, &e.Subject, &e.Type, &t, &ev); err != nil {
		return store.OutboxEvent{}, err
	}
	e.Time = fromNanos(t)
	if ev.Valid {
		e.Event = []byte(ev.String)
	}
	return e, nil
}

func scanDelivery(row scanner) (store.Delivery, error) {
	var d store.Delivery
	var t int64
	var ev sql.NullString
	if err := row.Scan(&d.Event.Seq, &d.Event.ID, &d.Event.Kind, &d.Event.Subject, &d.Event.Type, &t, &ev,
		&d.Attempts); err != nil {
		return store.Delivery{}, err
	}
	d.Event.Time = fromNanos(t)
	if ev.Valid {
		d.Event.Event = []byte(ev.String)
	}
	return d, nil
}
