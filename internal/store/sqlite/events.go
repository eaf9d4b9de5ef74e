package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const eventCols = `event, create_time, dispatch_time, produced`

// CreateEvent stores e unless an event of its source and id is stored; then it returns that one, created false.
func (s *Store) CreateEvent(ctx context.Context, e api.Event) (api.Event, bool, error) {
	e.ReceiveTime = storedTime(e.ReceiveTime, s.now())
	def, err := store.EncodeJSON(e)
	if err != nil {
		return api.Event{}, false, fmt.Errorf("sqlite: create event %q: encode: %w", e.ID, err)
	}
	var stored api.Event
	created := true
	err = s.write(ctx, func(tx *wtx) error {
		// Insert first: a new event (the common case) then costs one statement in the writer, not a look-up too.
		res, err := tx.exec(insertEvent, e.Source, e.ID, e.Type, string(def), e.Produced, toNanos(e.ReceiveTime),
			nullNanos(e.DispatchTime))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			stored = e
			return err
		}
		p, err := scanEvent(tx.queryRow(lookupEvent, e.Source, e.ID))
		if err != nil {
			return err // the writer is the only one: a conflicting row is still there
		}
		stored, created = p, false
		return nil
	}, lookupEvent, insertEvent)
	if err != nil {
		return api.Event{}, false, fmt.Errorf("sqlite: create event %q: %w", e.ID, err)
	}
	return stored, created, nil
}

// GetEvent returns the event of source and id (the last received with id when source is empty).
func (s *Store) GetEvent(ctx context.Context, source, id string) (api.Event, error) {
	nf := notFoundf("event %q not found", id)
	what := fmt.Sprintf("sqlite: get event %q", id)
	if source == "" {
		return getOne(ctx, s.rs, scanEvent, nf, what,
			`SELECT `+eventCols+` FROM events WHERE id = ? ORDER BY create_time DESC LIMIT 1`, id)
	}
	return getOne(ctx, s.rs, scanEvent, nf, what, lookupEvent, source, id)
}

// ListEvents returns the events matching f newest first and how many match without Limit and Offset.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]api.Event, int, error) {
	var where []string
	var args []any
	if f.Type != "" {
		where = append(where, `type = ?`)
		args = append(args, f.Type)
	}
	if f.Source != "" {
		where = append(where, `source = ?`)
		args = append(args, f.Source)
	}
	if f.Sources != nil {
		b, err := json.Marshal(f.Sources)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list events: %w", err)
		}
		where = append(where, `source IN (SELECT value FROM json_each(?))`)
		args = append(args, string(b))
	}
	if !f.Since.IsZero() {
		where = append(where, `create_time >= ?`)
		args = append(args, toNanos(f.Since))
	}
	return page(ctx, s, "list events", "events", eventCols, where, args, f.Limit, f.Offset, scanEvent)
}

// UndispatchedEvents returns up to limit received events still to dispatch, oldest first.
func (s *Store) UndispatchedEvents(ctx context.Context, limit int) ([]api.Event, error) {
	return listAll(ctx, s.rs, scanEvent, "sqlite: undispatched events",
		`SELECT `+eventCols+` FROM events WHERE dispatch_time IS NULL AND produced = 0 ORDER BY create_time, id LIMIT ?`,
		limit)
}

// MarkEventDispatched records when the event was dispatched.
func (s *Store) MarkEventDispatched(ctx context.Context, source, id string, at time.Time) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(markEvent, toNanos(at), source, id)
		return oneRow(res, err, "event", id)
	}, markEvent)
	return wrap(err, "sqlite: mark event %q dispatched", id)
}

// MarkEventsDispatched records when the events of keys were dispatched, in one write operation.
func (s *Store) MarkEventsDispatched(ctx context.Context, keys []store.EventKey, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *wtx) error {
		for _, k := range keys {
			if _, err := tx.exec(markEvent, toNanos(at), k.Source, k.ID); err != nil {
				return err
			}
		}
		return nil
	}, markEvent)
	return wrap(err, "sqlite: mark %d events dispatched", len(keys))
}

// PruneEvents deletes the events received before before, but not received ones still to dispatch.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(pruneEvents, toNanos(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}, pruneEvents)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune events: %w", err)
	}
	return int(n), nil
}

const (
	lookupEvent = `SELECT ` + eventCols + ` FROM events WHERE source = ? AND id = ?`
	insertEvent = `INSERT INTO events (source, id, type, event, produced, create_time, dispatch_time)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING`
	// insertEvent, only while the rule sets are at the version given last. (SQLite needs the WHERE to read the
	// ON CONFLICT of an INSERT … SELECT as the upsert's.)
	insertEventAtVersion = `INSERT INTO events (source, id, type, event, produced, create_time, dispatch_time)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT version FROM event_rules_version WHERE id = 1) = ?
		ON CONFLICT (source, id) DO NOTHING`
	markEvent   = `UPDATE events SET dispatch_time = ? WHERE source = ? AND id = ?`
	pruneEvents = `DELETE FROM events WHERE create_time < ? AND (dispatch_time IS NOT NULL OR produced != 0)`
)

func scanEvent(row scanner) (api.Event, error) {
	var def string
	var received int64
	var dispatched sql.NullInt64
	var produced bool
	if err := row.Scan(&def, &received, &dispatched, &produced); err != nil {
		return api.Event{}, err
	}
	var e api.Event
	if err := store.DecodeJSON([]byte(def), &e); err != nil {
		return api.Event{}, fmt.Errorf("event: decode: %w", err)
	}
	e.ReceiveTime, e.Produced, e.DispatchTime = fromNanos(received), produced, nil
	if dispatched.Valid {
		t := fromNanos(dispatched.Int64)
		e.DispatchTime = &t
	}
	return e, nil
}

// CreateDispatchedEvent stores e, dispatched, with the runs and jobs its dispatch started, in one write operation,
// while the rule sets are at rulesVersion.
func (s *Store) CreateDispatchedEvent(ctx context.Context, e api.Event, rulesVersion int64, runs []store.RunWithJobs,
	maxQueued int) (api.Event, bool, []store.Run, []bool, error) {
	e.ReceiveTime = storedTime(e.ReceiveTime, s.now())
	def, err := store.EncodeJSON(e)
	if err != nil {
		return api.Event{}, false, nil, nil, fmt.Errorf("sqlite: create event %q: encode: %w", e.ID, err)
	}
	news := make([]*newRun, len(runs))
	for i, r := range runs {
		if news[i], err = s.newRunWithJobs(r.Run, r.Jobs); err != nil {
			return api.Event{}, false, nil, nil, err
		}
	}
	var stored api.Event
	created := true
	started := make([]store.Run, len(runs))
	runCreated := make([]bool, len(runs))
	failed := -1 // the run whose insert failed
	err = s.write(ctx, func(tx *wtx) error {
		// One statement inserts the event if it is new and the rule sets are at rulesVersion; only when it inserts
		// nothing is it looked up, to tell a duplicate (answered as such, whatever the rules' version) from rules
		// that changed.
		res, err := tx.exec(insertEventAtVersion, e.Source, e.ID, e.Type, string(def), e.Produced, toNanos(e.ReceiveTime),
			nullNanos(e.DispatchTime), rulesVersion)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			p, err := scanEvent(tx.queryRow(lookupEvent, e.Source, e.ID))
			if errors.Is(err, sql.ErrNoRows) {
				var v int64
				if err := tx.queryRow(rulesVersionSQL).Scan(&v); err != nil {
					return err
				}
				return fmt.Errorf("%w: version %d, not %d", store.ErrRulesChanged, v, rulesVersion)
			}
			if err != nil {
				return err
			}
			stored, created = p, false
			return nil
		}
		stored = e
		for i, n := range news {
			failed = i
			if started[i], runCreated[i], err = tx.insertRunWithJobs(n, maxQueued); err != nil {
				return err
			}
		}
		failed = -1
		return nil
	}, insertEventAtVersion, rulesVersionSQL, lookupEvent, insertRunOnly, lookupRunKey, insertJob, countQueuedOf)
	if err != nil {
		if failed >= 0 {
			err = news[failed].failed(err)
		}
		return api.Event{}, false, nil, nil, wrap(err, "sqlite: create dispatched event %q", e.ID)
	}
	if !created {
		return stored, false, nil, nil, nil
	}
	return stored, true, started, runCreated, nil
}

// EventRulesVersion returns the rule sets' version.
func (s *Store) EventRulesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.rs.queryRow(ctx, rulesVersionSQL).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: event rules version: %w", err)
	}
	return v, nil
}

// ListEventRulesVersion lists the rule sets and the version they are at: the version read before and after the
// list is the same (each change raises it with the change), else it reads again.
func (s *Store) ListEventRulesVersion(ctx context.Context) ([]store.EventRuleSet, int64, error) {
	return store.ListRulesAtVersion(ctx, s.EventRulesVersion, s.ListEventRules)
}

const rulesVersionSQL = `SELECT version FROM event_rules_version WHERE id = 1`
