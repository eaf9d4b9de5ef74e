package sqlite

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/runplane/runplane/internal/store"
)

const ruleCols = `name, id, owner_id, rules, create_time, update_time`

// CreateEventRules stores a new rule set with a new id; ErrConflict if the name is taken.
func (s *Store) CreateEventRules(ctx context.Context, r store.EventRuleSet) (store.EventRuleSet, error) {
	r.ID = uuid.NewString()
	now := s.now().UTC()
	r.CreateTime, r.UpdateTime = now, now
	def, err := store.EncodeJSON(r.EventRules)
	if err != nil {
		return store.EventRuleSet{}, fmt.Errorf("sqlite: create event rules %q: encode: %w", r.Name, err)
	}
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertRules, r.Name, r.ID, r.OwnerID, string(def), toNanos(now), toNanos(now))
		return err
	}, insertRules)
	if isUnique(err) {
		return store.EventRuleSet{}, conflictf("event rules %q already exist", r.Name)
	}
	if err != nil {
		return store.EventRuleSet{}, fmt.Errorf("sqlite: create event rules %q: %w", r.Name, err)
	}
	return s.GetEventRules(ctx, r.Name)
}

// GetEventRules returns a rule set; ErrNotFound if absent.
func (s *Store) GetEventRules(ctx context.Context, name string) (store.EventRuleSet, error) {
	return getOne(ctx, s.rs, scanRules, notFoundf("event rules %q not found", name),
		fmt.Sprintf("sqlite: get event rules %q", name), `SELECT `+ruleCols+` FROM event_rules WHERE name = ?`, name)
}

// ListEventRules returns every rule set ordered by name.
func (s *Store) ListEventRules(ctx context.Context) ([]store.EventRuleSet, error) {
	return listAll(ctx, s.rs, scanRules, "sqlite: list event rules",
		`SELECT `+ruleCols+` FROM event_rules ORDER BY name`)
}

// UpdateEventRules replaces the rule set named r.Name, keeping its id; ErrNotFound if absent.
func (s *Store) UpdateEventRules(ctx context.Context, r store.EventRuleSet) (store.EventRuleSet, error) {
	def, err := store.EncodeJSON(r.EventRules)
	if err != nil {
		return store.EventRuleSet{}, fmt.Errorf("sqlite: update event rules %q: encode: %w", r.Name, err)
	}
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(updateRules, r.OwnerID, string(def), toNanos(s.now()), r.Name)
		return oneRow(res, err, "event rules", r.Name)
	}, updateRules)
	if err != nil {
		return store.EventRuleSet{}, wrap(err, "sqlite: update event rules %q", r.Name)
	}
	return s.GetEventRules(ctx, r.Name)
}

// DeleteEventRules removes a rule set; ErrNotFound if absent.
func (s *Store) DeleteEventRules(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteRules, name)
		return oneRow(res, err, "event rules", name)
	}, deleteRules)
	return wrap(err, "sqlite: delete event rules %q", name)
}

const (
	insertRules = `INSERT INTO event_rules (name, id, owner_id, rules, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?)`
	updateRules = `UPDATE event_rules SET owner_id = ?, rules = ?, update_time = ? WHERE name = ?`
	deleteRules = `DELETE FROM event_rules WHERE name = ?`
)

func scanRules(row scanner) (store.EventRuleSet, error) {
	var r store.EventRuleSet
	var def string
	var created, updated int64
	if err := row.Scan(&r.Name, &r.ID, &r.OwnerID, &def, &created, &updated); err != nil {
		return store.EventRuleSet{}, err
	}
	name := r.Name
	if err := store.DecodeJSON([]byte(def), &r.EventRules); err != nil {
		return store.EventRuleSet{}, fmt.Errorf("event rules %q: decode: %w", name, err)
	}
	r.Name, r.CreateTime, r.UpdateTime = name, fromNanos(created), fromNanos(updated)
	return r, nil
}
