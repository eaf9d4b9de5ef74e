package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const taskCols = `name, runner, command, synchronous, schema, timeout_ns, sync_timeout_ns, kubernetes, resources, network,
	containers`

// CreateTask stores a new task; ErrConflict if the name is taken. It does not check that the runner exists.
func (s *Store) CreateTask(ctx context.Context, t api.Task) error {
	kube, err := store.EncodeTaskKubernetes(t)
	if err != nil {
		return fmt.Errorf("postgres: create task: %w", err)
	}
	resources, err := store.EncodeTaskResources(t)
	if err != nil {
		return fmt.Errorf("postgres: create task: %w", err)
	}
	containers, err := store.EncodeList(t.Containers)
	if err != nil {
		return fmt.Errorf("postgres: create task %q: encode containers: %w", t.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO tasks (`+taskCols+`, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`, t.Name, t.Runner, t.Command, t.Synchronous,
			nullText(t.Schema), int64(t.Timeout), int64(t.SyncTimeout), nullText(kube), nullText(resources), t.Network,
			nullText(containers), s.now())
		return err
	})
	if violated(err) != "" {
		return conflictf("task %q already exists", t.Name)
	}
	return wrap(err, "postgres: create task %q", t.Name)
}

// GetTask returns a task; ErrNotFound if absent.
func (s *Store) GetTask(ctx context.Context, name string) (api.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks WHERE name = $1`, name))
	if missing(err) {
		return api.Task{}, notFoundf("task %q not found", name)
	}
	if err != nil {
		return api.Task{}, wrap(err, "postgres: get task %q", name)
	}
	return t, nil
}

// ListTasks returns every task ordered by name.
func (s *Store) ListTasks(ctx context.Context) ([]api.Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskCols+` FROM tasks ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list tasks")
	}
	ts, err := collect(rows, scanTask)
	if err != nil {
		return nil, wrap(err, "postgres: list tasks")
	}
	return ts, nil
}

// UpdateTask replaces the task named t.Name; ErrNotFound if absent.
func (s *Store) UpdateTask(ctx context.Context, t api.Task) error {
	if !textOK(t.Name) {
		return notFoundf("task %q not found", t.Name)
	}
	kube, err := store.EncodeTaskKubernetes(t)
	if err != nil {
		return fmt.Errorf("postgres: update task: %w", err)
	}
	resources, err := store.EncodeTaskResources(t)
	if err != nil {
		return fmt.Errorf("postgres: update task: %w", err)
	}
	containers, err := store.EncodeList(t.Containers)
	if err != nil {
		return fmt.Errorf("postgres: update task %q: encode containers: %w", t.Name, err)
	}
	err = s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE tasks
			SET runner = $1, command = $2, synchronous = $3, schema = $4, timeout_ns = $5, sync_timeout_ns = $6,
				kubernetes = $7, resources = $8, network = $9, containers = $10, update_time = $11
			WHERE name = $12`, t.Runner, t.Command, t.Synchronous, nullText(t.Schema), int64(t.Timeout),
			int64(t.SyncTimeout), nullText(kube), nullText(resources), t.Network, nullText(containers), s.now(), t.Name)
		return oneRow(tag, err, "task", t.Name)
	})
	return wrap(err, "postgres: update task %q", t.Name)
}

// DeleteTask removes a task; ErrNotFound if absent. Its jobs stay.
func (s *Store) DeleteTask(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "tasks", "task", name)
}

func scanTask(row pgx.Row) (api.Task, error) {
	var t api.Task
	var schema, kube, resources, containers *string
	var timeout, syncTimeout int64
	if err := row.Scan(&t.Name, &t.Runner, &t.Command, &t.Synchronous, &schema, &timeout, &syncTimeout, &kube, &resources,
		&t.Network, &containers); err != nil {
		return api.Task{}, err
	}
	if err := store.DecodeJSON(textBytes(containers), &t.Containers); err != nil {
		return api.Task{}, fmt.Errorf("task %q: decode containers: %w", t.Name, err)
	}
	if schema != nil {
		t.Schema = json.RawMessage(*schema)
	}
	if kube != nil {
		if err := store.DecodeTaskKubernetes(&t, []byte(*kube)); err != nil {
			return api.Task{}, err
		}
	}
	if resources != nil {
		if err := store.DecodeTaskResources(&t, []byte(*resources)); err != nil {
			return api.Task{}, err
		}
	}
	t.Timeout = api.Duration(time.Duration(timeout))
	t.SyncTimeout = api.Duration(time.Duration(syncTimeout))
	return t, nil
}

// deleteNamed deletes the row of table (a name this package gives, never input) whose name is name: the object
// called what in messages. ErrNotFound if there is none.
func (s *Store) deleteNamed(ctx context.Context, table, what, name string) error {
	if !textOK(name) {
		return notFoundf("%s %q not found", what, name)
	}
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `DELETE FROM `+table+` WHERE name = $1`, name)
		return oneRow(tag, err, what, name)
	})
	return wrap(err, "postgres: delete %s %q", what, name)
}
