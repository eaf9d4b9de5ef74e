package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// CreateEventSink stores a new sink; ErrConflict if the name is taken.
func (s *Store) CreateEventSink(ctx context.Context, sk api.EventSink) error {
	def, err := store.EncodeJSON(sk)
	if err != nil {
		return fmt.Errorf("postgres: create event sink %q: encode: %w", sk.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO event_sinks (name, sink, create_time, update_time) VALUES ($1, $2, $3, $3)`,
			sk.Name, string(def), s.now())
		return err
	})
	if violated(err) != "" {
		return conflictf("event sink %q already exists", sk.Name)
	}
	return wrap(err, "postgres: create event sink %q", sk.Name)
}

// GetEventSink returns a sink; ErrNotFound if absent.
func (s *Store) GetEventSink(ctx context.Context, name string) (api.EventSink, error) {
	sk, err := scanEventSink(s.pool.QueryRow(ctx, `SELECT name, sink FROM event_sinks WHERE name = $1`, name))
	if missing(err) {
		return api.EventSink{}, notFoundf("event sink %q not found", name)
	}
	if err != nil {
		return api.EventSink{}, wrap(err, "postgres: get event sink %q", name)
	}
	return sk, nil
}

// ListEventSinks returns every sink ordered by name; never nil.
func (s *Store) ListEventSinks(ctx context.Context) ([]api.EventSink, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, sink FROM event_sinks ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list event sinks")
	}
	sks, err := collect(rows, scanEventSink)
	if err != nil {
		return nil, wrap(err, "postgres: list event sinks")
	}
	return sks, nil
}

// UpdateEventSink replaces the sink named sk.Name; ErrNotFound if absent.
func (s *Store) UpdateEventSink(ctx context.Context, sk api.EventSink) error {
	if !textOK(sk.Name) {
		return notFoundf("event sink %q not found", sk.Name)
	}
	def, err := store.EncodeJSON(sk)
	if err != nil {
		return fmt.Errorf("postgres: update event sink %q: encode: %w", sk.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE event_sinks SET sink = $1, update_time = $2 WHERE name = $3`,
			string(def), s.now(), sk.Name)
		return oneRow(tag, err, "event sink", sk.Name)
	})
	return wrap(err, "postgres: update event sink %q", sk.Name)
}

// DeleteEventSink removes a sink and its deliveries still due; ErrNotFound if absent. One statement: the
// deliveries go only if the sink did.
func (s *Store) DeleteEventSink(ctx context.Context, name string) error {
	if !textOK(name) {
		return notFoundf("event sink %q not found", name)
	}
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `WITH gone AS (DELETE FROM event_sinks WHERE name = $1 RETURNING name),
			d AS (DELETE FROM event_deliveries WHERE sink IN (SELECT name FROM gone))
			SELECT name FROM gone`, name)
		return oneRow(tag, err, "event sink", name)
	})
	return wrap(err, "postgres: delete event sink %q", name)
}

func scanEventSink(row pgx.Row) (api.EventSink, error) {
	var name, def string
	if err := row.Scan(&name, &def); err != nil {
		return api.EventSink{}, err
	}
	var sk api.EventSink
	if err := store.DecodeJSON([]byte(def), &sk); err != nil {
		return api.EventSink{}, fmt.Errorf("event sink %q: decode: %w", name, err)
	}
	sk.Name = name
	return sk, nil
}
