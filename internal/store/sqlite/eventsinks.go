package sqlite

import (
	"context"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// CreateEventSink stores a new sink; ErrConflict if the name is taken.
func (s *Store) CreateEventSink(ctx context.Context, sk api.EventSink) error {
	def, err := store.EncodeJSON(sk)
	if err != nil {
		return fmt.Errorf("sqlite: create event sink %q: encode: %w", sk.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertEventSink, sk.Name, string(def), now, now)
		return err
	}, insertEventSink)
	if isUnique(err) {
		return conflictf("event sink %q already exists", sk.Name)
	}
	return wrap(err, "sqlite: create event sink %q", sk.Name)
}

// GetEventSink returns a sink; ErrNotFound if absent.
func (s *Store) GetEventSink(ctx context.Context, name string) (api.EventSink, error) {
	return getOne(ctx, s.rs, scanEventSink, notFoundf("event sink %q not found", name),
		fmt.Sprintf("sqlite: get event sink %q", name), `SELECT name, sink FROM event_sinks WHERE name = ?`, name)
}

// ListEventSinks returns every sink ordered by name; never nil.
func (s *Store) ListEventSinks(ctx context.Context) ([]api.EventSink, error) {
	return listAll(ctx, s.rs, scanEventSink, "sqlite: list event sinks",
		`SELECT name, sink FROM event_sinks ORDER BY name`)
}

// UpdateEventSink replaces the sink named sk.Name; ErrNotFound if absent.
func (s *Store) UpdateEventSink(ctx context.Context, sk api.EventSink) error {
	def, err := store.EncodeJSON(sk)
	if err != nil {
		return fmt.Errorf("sqlite: update event sink %q: encode: %w", sk.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(updateEventSink, string(def), now, sk.Name)
		return oneRow(res, err, "event sink", sk.Name)
	}, updateEventSink)
	return wrap(err, "sqlite: update event sink %q", sk.Name)
}

// DeleteEventSink removes a sink and its deliveries still due; ErrNotFound if absent.
func (s *Store) DeleteEventSink(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteEventSink, name)
		if err := oneRow(res, err, "event sink", name); err != nil {
			return err
		}
		_, err = tx.exec(deleteSinkDeliveries, name)
		return err
	}, deleteEventSink, deleteSinkDeliveries)
	return wrap(err, "sqlite: delete event sink %q", name)
}

const (
	insertEventSink      = `INSERT INTO event_sinks (name, sink, create_time, update_time) VALUES (?, ?, ?, ?)`
	updateEventSink      = `UPDATE event_sinks SET sink = ?, update_time = ? WHERE name = ?`
	deleteEventSink      = `DELETE FROM event_sinks WHERE name = ?`
	deleteSinkDeliveries = `DELETE FROM event_deliveries WHERE sink = ?`
)

func scanEventSink(row scanner) (api.EventSink, error) {
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
