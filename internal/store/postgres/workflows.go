package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// CreateWorkflow stores a new workflow; ErrConflict if the name is taken.
func (s *Store) CreateWorkflow(ctx context.Context, w api.Workflow) error {
	def, err := store.EncodeJSON(w)
	if err != nil {
		return fmt.Errorf("postgres: create workflow %q: encode: %w", w.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO workflows (name, definition, create_time, update_time) VALUES ($1, $2, $3, $3)`,
			w.Name, string(def), s.now())
		return err
	})
	if violated(err) != "" {
		return conflictf("workflow %q already exists", w.Name)
	}
	return wrap(err, "postgres: create workflow %q", w.Name)
}

// GetWorkflow returns a workflow; ErrNotFound if absent.
func (s *Store) GetWorkflow(ctx context.Context, name string) (api.Workflow, error) {
	w, err := scanWorkflow(s.pool.QueryRow(ctx, `SELECT name, definition FROM workflows WHERE name = $1`, name))
	if missing(err) {
		return api.Workflow{}, notFoundf("workflow %q not found", name)
	}
	if err != nil {
		return api.Workflow{}, wrap(err, "postgres: get workflow %q", name)
	}
	return w, nil
}

// ListWorkflows returns every workflow ordered by name; never nil.
func (s *Store) ListWorkflows(ctx context.Context) ([]api.Workflow, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, definition FROM workflows ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list workflows")
	}
	ws, err := collect(rows, scanWorkflow)
	if err != nil {
		return nil, wrap(err, "postgres: list workflows")
	}
	return ws, nil
}

// UpdateWorkflow replaces the workflow named w.Name; ErrNotFound if absent.
func (s *Store) UpdateWorkflow(ctx context.Context, w api.Workflow) error {
	if !textOK(w.Name) {
		return notFoundf("workflow %q not found", w.Name)
	}
	def, err := store.EncodeJSON(w)
	if err != nil {
		return fmt.Errorf("postgres: update workflow %q: encode: %w", w.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE workflows SET definition = $1, update_time = $2 WHERE name = $3`,
			string(def), s.now(), w.Name)
		return oneRow(tag, err, "workflow", w.Name)
	})
	return wrap(err, "postgres: update workflow %q", w.Name)
}

// DeleteWorkflow removes a workflow; ErrNotFound if absent. Its runs stay.
func (s *Store) DeleteWorkflow(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "workflows", "workflow", name)
}

func scanWorkflow(row pgx.Row) (api.Workflow, error) {
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
