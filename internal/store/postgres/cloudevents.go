package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const eventCols = `event, create_time, dispatch_time, produced`

// CreateEvent stores e unless an event of its source and id is stored; then it returns that one, created false.
// The primary key is the insert's ON CONFLICT arbiter: of two replicas storing one event, one inserts.
func (s *Store) CreateEvent(ctx context.Context, e api.Event) (api.Event, bool, error) {
	if !textOK(e.Source) || !textOK(e.ID) || !textOK(e.Type) {
		return api.Event{}, false, invalidf("event %q: source, id and type must be valid UTF-8 without NUL", e.ID)
	}
	e.ReceiveTime = storedTime(e.ReceiveTime, s.now())
	def, err := store.EncodeJSON(e)
	if err != nil {
		return api.Event{}, false, fmt.Errorf("postgres: create event %q: encode: %w", e.ID, err)
	}
	var stored api.Event
	created := true
	err = s.change(ctx, func(q dbtx) error {
		for {
			tag, err := q.Exec(ctx, `INSERT INTO events (source, id, type, event, produced, create_time, dispatch_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, id) DO NOTHING`,
				e.Source, e.ID, e.Type, string(def), e.Produced, e.ReceiveTime, e.DispatchTime)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				stored = e
				return nil
			}
			p, err := scanEvent(q.QueryRow(ctx, lookupEvent, e.Source, e.ID))
			if errors.Is(err, pgx.ErrNoRows) {
				continue // pruned in between: insert again
			}
			stored, created = p, false
			return err
		}
	})
	if err != nil {
		return api.Event{}, false, wrap(err, "postgres: create event %q", e.ID)
	}
	return stored, created, nil
}

const lookupEvent = `SELECT ` + eventCols + ` FROM events WHERE source = $1 AND id = $2`

// GetEvent returns the event of source and id (the last received with id when source is empty).
func (s *Store) GetEvent(ctx context.Context, source, id string) (api.Event, error) {
	var row pgx.Row
	if source == "" {
		row = s.pool.QueryRow(ctx, `SELECT `+eventCols+` FROM events WHERE id = $1 ORDER BY create_time DESC LIMIT 1`, id)
	} else {
		row = s.pool.QueryRow(ctx, lookupEvent, source, id)
	}
	e, err := scanEvent(row)
	if missing(err) {
		return api.Event{}, notFoundf("event %q not found", id)
	}
	if err != nil {
		return api.Event{}, wrap(err, "postgres: get event %q", id)
	}
	return e, nil
}

// ListEvents returns the events matching f newest first and how many match without Limit and Offset, from one
// statement.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]api.Event, int, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, t := range []string{f.Type, f.Source} {
		if !textOK(t) {
			return []api.Event{}, 0, nil
		}
	}
	if f.Type != "" {
		where = append(where, `type = `+arg(f.Type))
	}
	if f.Source != "" {
		where = append(where, `source = `+arg(f.Source))
	}
	if f.Sources != nil {
		ss := []string{}
		for _, x := range f.Sources {
			if textOK(x) {
				ss = append(ss, x)
			}
		}
		where = append(where, `source = ANY(`+arg(ss)+`)`)
	}
	if !f.Since.IsZero() {
		where = append(where, `create_time >= `+arg(f.Since))
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	offset := max(f.Offset, 0)
	query := `SELECT n.total, e.event, e.create_time, e.dispatch_time, e.produced
		FROM (SELECT count(*) AS total FROM events` + cond + `) n
		LEFT JOIN LATERAL (SELECT ` + eventCols + `, id FROM events` + cond + `
			ORDER BY create_time DESC, id DESC LIMIT ` + arg(limit) + ` OFFSET ` + arg(offset) + `) e ON true
		ORDER BY e.create_time DESC, e.id DESC`
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, 0, wrap(err, "postgres: list events")
	}
	defer rows.Close()
	out := []api.Event{}
	var total int
	for rows.Next() {
		var def *string
		var received *time.Time
		var dispatched *time.Time
		var produced *bool
		if err := rows.Scan(&total, &def, &received, &dispatched, &produced); err != nil {
			return nil, 0, wrap(err, "postgres: list events")
		}
		if def == nil {
			continue // the count's row of an empty page
		}
		e, err := decodeEvent(*def, *received, dispatched, *produced)
		if err != nil {
			return nil, 0, wrap(err, "postgres: list events")
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap(err, "postgres: list events")
	}
	return out, total, nil
}

// UndispatchedEvents returns up to limit received events still to dispatch, oldest first.
func (s *Store) UndispatchedEvents(ctx context.Context, limit int) ([]api.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events WHERE dispatch_time IS NULL AND NOT produced
		ORDER BY create_time, id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap(err, "postgres: undispatched events")
	}
	out, err := collect(rows, scanEvent)
	return out, wrap(err, "postgres: undispatched events")
}

// MarkEventDispatched records when the event was dispatched.
func (s *Store) MarkEventDispatched(ctx context.Context, source, id string, at time.Time) error {
	if !textOK(source) || !textOK(id) {
		return notFoundf("event %q not found", id)
	}
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE events SET dispatch_time = $1 WHERE source = $2 AND id = $3`,
			at.Truncate(time.Microsecond).UTC(), source, id)
		return oneRow(tag, err, "event", id)
	})
	return wrap(err, "postgres: mark event %q dispatched", id)
}

// MarkEventsDispatched records when the events of keys were dispatched, in one statement.
func (s *Store) MarkEventsDispatched(ctx context.Context, keys []store.EventKey, at time.Time) error {
	var sources, ids []string
	for _, k := range keys {
		if textOK(k.Source) && textOK(k.ID) { // no event holds other text
			sources, ids = append(sources, k.Source), append(ids, k.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	err := s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `UPDATE events SET dispatch_time = $1
			WHERE (source, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
			at.Truncate(time.Microsecond).UTC(), sources, ids)
		return err
	})
	return wrap(err, "postgres: mark %d events dispatched", len(ids))
}

// PruneEvents deletes the events received before before, but not received ones still to dispatch.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `DELETE FROM events WHERE create_time < $1 AND (dispatch_time IS NOT NULL OR produced)`,
			before)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrap(err, "postgres: prune events")
	}
	return int(n), nil
}

func scanEvent(row pgx.Row) (api.Event, error) {
	var def string
	var received time.Time
	var dispatched *time.Time
	var produced bool
	if err := row.Scan(&def, &received, &dispatched, &produced); err != nil {
		return api.Event{}, err
	}
	return decodeEvent(def, received, dispatched, produced)
}

func decodeEvent(def string, received time.Time, dispatched *time.Time, produced bool) (api.Event, error) {
	var e api.Event
	if err := store.DecodeJSON([]byte(def), &e); err != nil {
		return api.Event{}, fmt.Errorf("event: decode: %w", err)
	}
	e.ReceiveTime, e.Produced, e.DispatchTime = received.UTC(), produced, nil
	if dispatched != nil {
		t := dispatched.UTC()
		e.DispatchTime = &t
	}
	return e, nil
}

// CreateDispatchedEvent stores e, dispatched, with the runs and jobs its dispatch started, in one transaction,
// while the rule sets are at rulesVersion: the version's row is locked FOR SHARE, so a change to the rule sets
// waits for this transaction, or this one sees it.
func (s *Store) CreateDispatchedEvent(ctx context.Context, e api.Event, rulesVersion int64, runs []store.RunWithJobs,
	maxQueued int) (api.Event, bool, []store.Run, []bool, error) {
	if !textOK(e.Source) || !textOK(e.ID) || !textOK(e.Type) {
		return api.Event{}, false, nil, nil, invalidf("event %q: source, id and type must be valid UTF-8 without NUL", e.ID)
	}
	e.ReceiveTime = storedTime(e.ReceiveTime, s.now())
	def, err := store.EncodeJSON(e)
	if err != nil {
		return api.Event{}, false, nil, nil, fmt.Errorf("postgres: create event %q: encode: %w", e.ID, err)
	}
	args := make([][]any, len(runs))
	jobArgs := make([][][]any, len(runs))
	for i, r := range runs {
		if r.Run.ID == "" {
			return api.Event{}, false, nil, nil, errors.New("postgres: create dispatched event: a run's id is required")
		}
		if args[i], err = s.runArgs(r.Run); err != nil {
			return api.Event{}, false, nil, nil, err
		}
		jobArgs[i] = make([][]any, len(r.Jobs))
		for k, j := range r.Jobs {
			if j.ID == "" {
				return api.Event{}, false, nil, nil, fmt.Errorf("postgres: create run %q: a job's id is required", r.Run.ID)
			}
			if _, jobArgs[i][k], err = s.newJobRow(j); err != nil {
				return api.Event{}, false, nil, nil, fmt.Errorf("postgres: create run %q: %w", r.Run.ID, err)
			}
		}
	}
	var stored api.Event
	var created bool
	var started []store.Run
	var runCreated []bool
	pa := store.AuditFrom(ctx)
	audited := pa.Take()
	change := func(tx pgx.Tx) error {
		created, started, runCreated = false, make([]store.Run, len(runs)), make([]bool, len(runs))
		tag, err := tx.Exec(ctx, `INSERT INTO events (source, id, type, event, produced, create_time, dispatch_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, id) DO NOTHING`,
			e.Source, e.ID, e.Type, string(def), e.Produced, e.ReceiveTime, e.DispatchTime)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// Stored by another request (the insert waited for its commit): pruned since, it is stored again by
			// the next try, so nothing here. A duplicate is one whatever the rules' version (as in SQLite).
			p, err := scanEvent(tx.QueryRow(ctx, lookupEvent, e.Source, e.ID))
			if err != nil {
				return err
			}
			stored = p
			return s.auditIf(ctx, tx, audited, pa)
		}
		// Checked (and held against a change, FOR SHARE) before anything the event starts is stored: a change
		// fails the transaction, which stores nothing.
		var v int64
		if err := tx.QueryRow(ctx, `SELECT version FROM event_rules_version WHERE id = 1 FOR SHARE`).Scan(&v); err != nil {
			return err
		}
		if v != rulesVersion {
			return fmt.Errorf("%w: version %d, not %d", store.ErrRulesChanged, v, rulesVersion)
		}
		stored, created = e, true
		for i, r := range runs {
			if started[i], runCreated[i], err = insertRunWithJobs(ctx, tx, r.Run, args[i], jobArgs[i], maxQueued); err != nil {
				return err
			}
		}
		return s.auditIf(ctx, tx, audited, pa)
	}
	if s.dry != nil {
		err = pgx.BeginFunc(ctx, s.dry, change)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, change)
	}
	if audited {
		pa.Done(err == nil)
	}
	switch {
	case errors.Is(err, store.ErrQueueFull), errors.Is(err, store.ErrRulesChanged):
		return api.Event{}, false, nil, nil, err
	case violated(err) == "runs_pkey", violated(err) == "jobs_pkey":
		return api.Event{}, false, nil, nil, conflictf("a run or job of event %q already exists", e.ID)
	case err != nil:
		return api.Event{}, false, nil, nil, wrap(err, "postgres: create dispatched event %q", e.ID)
	}
	if !created {
		return stored, false, nil, nil, nil
	}
	return stored, true, started, runCreated, nil
}

// EventRulesVersion returns the rule sets' version.
func (s *Store) EventRulesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM event_rules_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, wrap(err, "postgres: event rules version")
	}
	return v, nil
}

// ListEventRulesVersion lists the rule sets and the version they are at (store.ListRulesAtVersion).
func (s *Store) ListEventRulesVersion(ctx context.Context) ([]store.EventRuleSet, int64, error) {
	return store.ListRulesAtVersion(ctx, s.EventRulesVersion, s.ListEventRules)
}
