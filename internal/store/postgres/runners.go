package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	now := s.now()
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO runners (`+runnerCols+`, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, r.Name, r.Image, r.GitURL, r.Branch, sealed.Token, sealed.Secrets,
			sealed.PullSecret, now)
		return err
	})
	if violated(err) != "" {
		return conflictf("runner %q already exists", r.Name)
	}
	return wrap(err, "postgres: create runner %q", r.Name)
}

// GetRunner returns a runner with its token and secrets opened; ErrNotFound if absent.
func (s *Store) GetRunner(ctx context.Context, name string) (api.Runner, error) {
	r, err := s.scanRunner(s.pool.QueryRow(ctx, `SELECT `+runnerCols+` FROM runners WHERE name = $1`, name))
	if missing(err) {
		return api.Runner{}, notFoundf("runner %q not found", name)
	}
	if err != nil {
		return api.Runner{}, wrap(err, "postgres: get runner %q", name)
	}
	return r, nil
}

// ListRunners returns every runner ordered by name, opened.
func (s *Store) ListRunners(ctx context.Context) ([]api.Runner, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+runnerCols+` FROM runners ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list runners")
	}
	rs, err := collect(rows, s.scanRunner)
	if err != nil {
		return nil, wrap(err, "postgres: list runners")
	}
	return rs, nil
}

// UpdateRunner replaces the runner named r.Name, resealing its token and secrets; ErrNotFound if absent.
func (s *Store) UpdateRunner(ctx context.Context, r api.Runner) error {
	if !textOK(r.Name) {
		return notFoundf("runner %q not found", r.Name)
	}
	sealed, err := s.sealRunner(r)
	if err != nil {
		return err
	}
	err = s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `UPDATE runners
			SET image = $1, git_url = $2, branch = $3, token_enc = $4, secret_enc = $5, pull_secret_enc = $6, update_time = $7
			WHERE name = $8`, r.Image, r.GitURL, r.Branch, sealed.Token, sealed.Secrets, sealed.PullSecret, s.now(), r.Name)
		return oneRow(tag, err, "runner", r.Name)
	})
	return wrap(err, "postgres: update runner %q", r.Name)
}

// DeleteRunner removes a runner; ErrNotFound if absent, ErrConflict naming the tasks that still use it.
func (s *Store) DeleteRunner(ctx context.Context, name string) error {
	if !textOK(name) {
		return notFoundf("runner %q not found", name)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		tasks, err := column[string](ctx, tx, `SELECT name FROM tasks WHERE runner = $1 ORDER BY name`, name)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM runners WHERE name = $1`, name)
		if err := oneRow(tag, err, "runner", name); err != nil {
			return err
		}
		// The runner is deleted and then the transaction fails: the delete rolls back.
		if len(tasks) > 0 {
			return conflictf("runner %q is used by %s", name, store.Count(len(tasks), "task", "tasks"))
		}
		return nil
	})
	return wrap(err, "postgres: delete runner %q", name)
}

// sealRunner seals the token, the secret map and the image pull secret (store.SealRunner).
func (s *Store) sealRunner(r api.Runner) (store.SealedRunner, error) {
	sealed, err := store.SealRunner(s.cipher, r)
	if err != nil {
		return store.SealedRunner{}, fmt.Errorf("postgres: %w", err)
	}
	return sealed, nil
}

func (s *Store) scanRunner(row pgx.Row) (api.Runner, error) {
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
