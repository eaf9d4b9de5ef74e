package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

const ruleCols = `name, id, owner_id, rules, create_time, update_time`

// CreateEventRules stores a new rule set with a new id; ErrConflict if the name is taken.
func (s *Store) CreateEventRules(ctx context.Context, r store.EventRuleSet) (store.EventRuleSet, error) {
	if !textOK(r.Name) {
		return store.EventRuleSet{}, invalidf("event rules %q: name must be valid UTF-8 without NUL", r.Name)
	}
	r.ID = uuid.NewString()
	def, err := store.EncodeJSON(r.EventRules)
	if err != nil {
		return store.EventRuleSet{}, fmt.Errorf("postgres: create event rules %q: encode: %w", r.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO event_rules (name, id, owner_id, rules, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $5)`, r.Name, r.ID, r.OwnerID, string(def), storedTime(time.Time{}, s.now()))
		return err
	})
	if violated(err) != "" {
		return store.EventRuleSet{}, conflictf("event rules %q already exist", r.Name)
	}
	if err != nil {
		return store.EventRuleSet{}, wrap(err, "postgres: create event rules %q", r.Name)
	}
	return s.GetEventRules(ctx, r.Name)
}

// GetEventRules returns a rule set; ErrNotFound if absent.
func (s *Store) GetEventRules(ctx context.Context, name string) (store.EventRuleSet, error) {
	r, err := scanRules(s.pool.QueryRow(ctx, `SELECT `+ruleCols+` FROM event_rules WHERE name = $1`, name))
	if missing(err) {
		return store.EventRuleSet{}, notFoundf("event rules %q not found", name)
	}
	if err != nil {
		return store.EventRuleSet{}, wrap(err, "postgres: get event rules %q", name)
	}
	return r, nil
}

// ListEventRules returns every rule set ordered by name.
func (s *Store) ListEventRules(ctx context.Context) ([]store.EventRuleSet, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleCols+` FROM event_rules ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list event rules")
	}
	out, err := collect(rows, scanRules)
	return out, wrap(err, "postgres: list event rules")
}

// UpdateEventRules replaces the rule set named r.Name, keeping its id; ErrNotFound if absent.
func (s *Store) UpdateEventRules(ctx context.Context, r store.EventRuleSet) (store.EventRuleSet, error) {
	if !textOK(r.Name) {
		return store.EventRuleSet{}, notFoundf("event rules %q not found", r.Name)
	}
	def, err := store.EncodeJSON(r.EventRules)
	if err != nil {
		return store.EventRuleSet{}, fmt.Errorf("postgres: update event rules %q: encode: %w", r.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE event_rules SET owner_id = $1, rules = $2, update_time = $3 WHERE name = $4`,
			r.OwnerID, string(def), storedTime(time.Time{}, s.now()), r.Name)
		return oneRow(tag, err, "event rules", r.Name)
	})
	if err != nil {
		return store.EventRuleSet{}, wrap(err, "postgres: update event rules %q", r.Name)
	}
	return s.GetEventRules(ctx, r.Name)
}

// DeleteEventRules removes a rule set; ErrNotFound if absent.
func (s *Store) DeleteEventRules(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "event_rules", "event rules", name)
}

func scanRules(row pgx.Row) (store.EventRuleSet, error) {
	var r store.EventRuleSet
	var def string
	var created, updated time.Time
	if err := row.Scan(&r.Name, &r.ID, &r.OwnerID, &def, &created, &updated); err != nil {
		return store.EventRuleSet{}, err
	}
	name := r.Name
	if err := store.DecodeJSON([]byte(def), &r.EventRules); err != nil {
		return store.EventRuleSet{}, fmt.Errorf("event rules %q: decode: %w", name, err)
	}
	r.Name, r.CreateTime, r.UpdateTime = name, created.UTC(), updated.UTC()
	return r, nil
}
