package sqlite

import (
	"context"
	"fmt"

	"github.com/runplane/runplane/internal/store"
)

var _ store.DryRunner = (*Store)(nil)

// DryRun calls fn with a view of s whose reads and writes all run in one transaction on the writer's connection,
// rolled back when fn returns (store.DryRunner). It takes the writer as a batch's leader does, so other writes
// wait for fn (a dry run is short: the API reads the request body before it begins); reads of other callers go on
// in the reader pool and see none of it. Statements the view runs are prepared on the transaction, never through
// the pool, whose one connection the transaction holds.
func (s *Store) DryRun(ctx context.Context, fn func(view store.Store) error) error {
	if s.dry != nil {
		return fn(s)
	}
	select {
	case s.wr.token <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wr.token }()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: dry run: begin: %w", err)
	}
	defer tx.Rollback()
	view := *s
	view.dry = &wtx{ctx: ctx, tx: tx, stmts: s.ws}
	view.rs = &stmts{tx: tx, base: s.ws}
	return fn(&view)
}

// savepoint runs fn in a savepoint of t: fn's error rolls back fn's changes and only them, as in a batch.
func (t *wtx) savepoint(fn func(tx *wtx) error) error {
	if _, err := t.exec(savepoint); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(t); err != nil {
		if _, rerr := t.exec(rollbackTo); rerr != nil {
			return fmt.Errorf("roll back a failed operation (%w): %w", err, rerr)
		}
		t.exec(release)
		return err
	}
	if _, err := t.exec(release); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}
