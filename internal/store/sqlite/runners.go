package sqlite

import (
	"context"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const runnerCols = `name, image, git_url, branch, token_enc, secret_enc, pull_secret_enc`

// CreateRunner stores a new runner with its token and secrets sealed; ErrConflict if the name is taken.
func (s *Store) CreateRunner(ctx context.Context, r api.Runner) error {
	sealed, err := s.sealRunner(r)
	if err != nil {
		return err
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertRunner, r.Name, r.Image, r.GitURL, r.Branch, sealed.Token, sealed.Secrets, sealed.PullSecret, now, now)
		return err
	}, insertRunner)
	if isUnique(err) {
		return conflictf("runner %q already exists", r.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create runner %q: %w", r.Name, err)
	}
	return nil
}

// GetRunner returns a runner with its token and secrets opened; ErrNotFound if absent.
func (s *Store) GetRunner(ctx context.Context, name string) (api.Runner, error) {
	return getOne(ctx, s.rs, s.scanRunner, notFoundf("runner %q not found", name),
		fmt.Sprintf("sqlite: get runner %q", name), `SELECT `+runnerCols+` FROM runners WHERE name = ?`, name)
}

// ListRunners returns every runner ordered by name, opened.
func (s *Store) ListRunners(ctx context.Context) ([]api.Runner, error) {
	return listAll(ctx, s.rs, s.scanRunner, "sqlite: list runners", `SELECT `+runnerCols+` FROM runners ORDER BY name`)
}

// UpdateRunner replaces the runner named r.Name, resealing its token and secrets; ErrNotFound if absent.
func (s *Store) UpdateRunner(ctx context.Context, r api.Runner) error {
	sealed, err := s.sealRunner(r)
	if err != nil {
		return err
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(updateRunner, r.Image, r.GitURL, r.Branch, sealed.Token, sealed.Secrets, sealed.PullSecret, now, r.Name)
		return oneRow(res, err, "runner", r.Name)
	}, updateRunner)
	return wrap(err, "sqlite: update runner %q", r.Name)
}

// DeleteRunner removes a runner; ErrNotFound if absent, ErrConflict naming the tasks that still use it.
func (s *Store) DeleteRunner(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		tasks, err := tx.strings(runnerTasks, name)
		if err != nil {
			return err
		}
		res, err := tx.exec(deleteRunner, name)
		if err := oneRow(res, err, "runner", name); err != nil {
			return err
		}
		// The runner is deleted and then the operation fails: its savepoint rolls the delete back.
		if len(tasks) > 0 {
			return conflictf("runner %q is used by %s", name, store.Count(len(tasks), "task", "tasks"))
		}
		return nil
	}, runnerTasks, deleteRunner)
	return wrap(err, "sqlite: delete runner %q", name)
}

const (
	insertRunner = `INSERT INTO runners (` + runnerCols + `, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateRunner = `UPDATE runners
		SET image = ?, git_url = ?, branch = ?, token_enc = ?, secret_enc = ?, pull_secret_enc = ?, update_time = ?
		WHERE name = ?`
	runnerTasks  = `SELECT name FROM tasks WHERE runner = ? ORDER BY name`
	deleteRunner = `DELETE FROM runners WHERE name = ?`
)

// sealRunner seals the token, the secret map and the image pull secret (store.SealRunner).
func (s *Store) sealRunner(r api.Runner) (store.SealedRunner, error) {
	sealed, err := store.SealRunner(s.cipher, r)
	if err != nil {
		return store.SealedRunner{}, fmt.Errorf("sqlite: %w", err)
	}
	return sealed, nil
}

func (s *Store) scanRunner(row scanner) (api.Runner, error) {
	var r api.Runner
	var sealed store.SealedRunner
	if err := row.Scan(&r.Name, &r.Image, &r.GitURL, &r.Branch, &sealed.Token, &sealed.Secrets, &sealed.PullSecret); err != nil {
		return api.Runner{}, err
	}
	if err := store.OpenRunner(s.cipher, &r, sealed); err != nil {
		return api.Runner{}, err
	}
	return r, nil
}
