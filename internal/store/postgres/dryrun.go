package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runplane/runplane/internal/store"
)

var _ store.DryRunner = (*Store)(nil)

// pgdb is what the store runs its statements on: the pool, or a dry run's transaction.
type pgdb interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// DryRun calls fn with a view of s whose statements all run in one transaction, rolled back when fn returns
// (store.DryRunner). The transaction holds catalogLock from its start, as every checking write does, so the
// checks fn's writes make hold as they would for real; each of fn's writes runs in a savepoint, so one that fails
// (a name taken) rolls back alone and leaves the transaction usable, as a failed write leaves the store.
func (s *Store) DryRun(ctx context.Context, fn func(view store.Store) error) error {
	if s.dry != nil {
		return fn(s)
	}
	tx, err := s.pg.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginCatalog})
	if err != nil {
		return wrap(err, "postgres: dry run")
	}
	defer func() {
		if err := tx.Rollback(context.WithoutCancel(ctx)); err != nil && err != pgx.ErrTxClosed {
			s.log.Warn("dry run: rollback", "err", fmt.Sprint(err))
		}
	}()
	view := *s
	view.pool, view.dry = tx, tx
	return fn(&view)
}
