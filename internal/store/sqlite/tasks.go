package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const taskCols = `name, runner, command, synchronous, schema, timeout_ns, sync_timeout_ns, kubernetes, resources, network,
	containers`

// CreateTask stores a new task; ErrConflict if the name is taken. It does not check that the runner exists.
func (s *Store) CreateTask(ctx context.Context, t api.Task) error {
	kube, err := store.EncodeTaskKubernetes(t)
	if err != nil {
		return fmt.Errorf("sqlite: create task: %w", err)
	}
	resources, err := store.EncodeTaskResources(t)
	if err != nil {
		return fmt.Errorf("sqlite: create task: %w", err)
	}
	containers, err := store.EncodeList(t.Containers)
	if err != nil {
		return fmt.Errorf("sqlite: create task %q: encode containers: %w", t.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertTask, t.Name, t.Runner, t.Command, t.Synchronous, nullText(t.Schema), int64(t.Timeout),
			int64(t.SyncTimeout), nullText(kube), nullText(resources), t.Network, nullText(containers), now, now)
		return err
	}, insertTask)
	if isUnique(err) {
		return conflictf("task %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create task %q: %w", t.Name, err)
	}
	return nil
}

// GetTask returns a task; ErrNotFound if absent.
func (s *Store) GetTask(ctx context.Context, name string) (api.Task, error) {
	return getOne(ctx, s.rs, scanTask, notFoundf("task %q not found", name), fmt.Sprintf("sqlite: get task %q", name),
		`SELECT `+taskCols+` FROM tasks WHERE name = ?`, name)
}

// ListTasks returns every task ordered by name.
func (s *Store) ListTasks(ctx context.Context) ([]api.Task, error) {
	return listAll(ctx, s.rs, scanTask, "sqlite: list tasks", `SELECT `+taskCols+` FROM tasks ORDER BY name`)
}

// UpdateTask replaces the task named t.Name; ErrNotFound if absent.
func (s *Store) UpdateTask(ctx context.Context, t api.Task) error {
	kube, err := store.EncodeTaskKubernetes(t)
	if err != nil {
		return fmt.Errorf("sqlite: update task: %w", err)
	}
	resources, err := store.EncodeTaskResources(t)
	if err != nil {
		return fmt.Errorf("sqlite: update task: %w", err)
	}
	containers, err := store.EncodeList(t.Containers)
	if err != nil {
		return fmt.Errorf("sqlite: update task %q: encode containers: %w", t.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(updateTask, t.Runner, t.Command, t.Synchronous, nullText(t.Schema), int64(t.Timeout),
			int64(t.SyncTimeout), nullText(kube), nullText(resources), t.Network, nullText(containers), now, t.Name)
		return oneRow(res, err, "task", t.Name)
	}, updateTask)
	return wrap(err, "sqlite: update task %q", t.Name)
}

// DeleteTask removes a task; ErrNotFound if absent. Its jobs stay.
func (s *Store) DeleteTask(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteTask, name)
		return oneRow(res, err, "task", name)
	}, deleteTask)
	return wrap(err, "sqlite: delete task %q", name)
}

const (
	insertTask = `INSERT INTO tasks (` + taskCols + `, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateTask = `UPDATE tasks
		SET runner = ?, command = ?, synchronous = ?, schema = ?, timeout_ns = ?, sync_timeout_ns = ?, kubernetes = ?,
			resources = ?, network = ?, containers = ?, update_time = ?
		WHERE name = ?`
	deleteTask = `DELETE FROM tasks WHERE name = ?`
)

func scanTask(row scanner) (api.Task, error) {
	var t api.Task
	var schema, kube, resources, containers sql.NullString
	var timeout, syncTimeout int64
	if err := row.Scan(&t.Name, &t.Runner, &t.Command, &t.Synchronous, &schema, &timeout, &syncTimeout, &kube, &resources,
		&t.Network, &containers); err != nil {
		return api.Task{}, err
	}
	if err := store.DecodeJSON([]byte(containers.String), &t.Containers); err != nil {
		return api.Task{}, fmt.Errorf("task %q: decode containers: %w", t.Name, err)
	}
	if schema.Valid {
		t.Schema = json.RawMessage(schema.String)
	}
	if err := store.DecodeTaskKubernetes(&t, []byte(kube.String)); err != nil {
		return api.Task{}, err
	}
	if err := store.DecodeTaskResources(&t, []byte(resources.String)); err != nil {
		return api.Task{}, err
	}
	t.Timeout = api.Duration(time.Duration(timeout))
	t.SyncTimeout = api.Duration(time.Duration(syncTimeout))
	return t, nil
}
