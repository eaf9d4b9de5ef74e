package sqlite

import (
	"context"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// CreateWorkflow stores a new workflow; ErrConflict if the name is taken.
func (s *Store) CreateWorkflow(ctx context.Context, w api.Workflow) error {
	def, err := store.EncodeJSON(w)
	if err != nil {
		return fmt.Errorf("sqlite: create workflow %q: encode: %w", w.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertWorkflow, w.Name, string(def), now, now)
		return err
	}, insertWorkflow)
	if isUnique(err) {
		return conflictf("workflow %q already exists", w.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create workflow %q: %w", w.Name, err)
	}
	return nil
}

// GetWorkflow returns a workflow; ErrNotFound if absent.
func (s *Store) GetWorkflow(ctx context.Context, name string) (api.Workflow, error) {
	return getOne(ctx, s.rs, scanWorkflow, notFoundf("workflow %q not found", name),
		fmt.Sprintf("sqlite: get workflow %q", name), `SELECT name, definition FROM workflows WHERE name = ?`, name)
}

// ListWorkflows returns every workflow ordered by name; never nil.
func (s *Store) ListWorkflows(ctx context.Context) ([]api.Workflow, error) {
	return listAll(ctx, s.rs, scanWorkflow, "sqlite: list workflows",
		`SELECT name, definition FROM workflows ORDER BY name`)
}

// UpdateWorkflow replaces the workflow named w.Name; ErrNotFound if absent.
func (s *Store) UpdateWorkflow(ctx context.Context, w api.Workflow) error {
	def, err := store.EncodeJSON(w)
	if err != nil {
		return fmt.Errorf("sqlite: update workflow %q: encode: %w", w.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(updateWorkflow, string(def), now, w.Name)
		return oneRow(res, err, "workflow", w.Name)
	}, updateWorkflow)
	return wrap(err, "sqlite: update workflow %q", w.Name)
}

// DeleteWorkflow removes a workflow; ErrNotFound if absent. Its runs stay.
func (s *Store) DeleteWorkflow(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteWorkflow, name)
		return oneRow(res, err, "workflow", name)
	}, deleteWorkflow)
	return wrap(err, "sqlite: delete workflow %q", name)
}

const (
	insertWorkflow = `INSERT INTO workflows (name, definition, create_time, update_time) VALUES (?, ?, ?, ?)`
	updateWorkflow = `UPDATE workflows SET definition = ?, update_time = ? WHERE name = ?`
	deleteWorkflow = `DELETE FROM workflows WHERE name = ?`
)

func scanWorkflow(row scanner) (api.Workflow, error) {
	var name, def string
	if err := row.Scan(&name, &def); err != nil {
		return api.Workflow{}, err
	}
	var w api.Workflow
	if err := store.DecodeJSON([]byte(def), &w); err != nil {
		return api.Workflow{}, fmt.Errorf("workflow %q: decode: %w", name, err)
	}
	w.Name = name
	return w, nil
}
