package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmts keeps each query prepared once per pool. Parsing is a large share of a small write's cost (a quarter of a
// job's cycle for the RETURNING statements), and the writer's single connection keeps its statements for good.
//
// Preparing takes a connection from the pool. A caller that holds one (inside a transaction) must therefore not
// prepare through the pool: with the writer's single connection it would wait for itself. Such callers call warm
// before they begin, and inTx afterwards; Store.write does so for every write.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// tx, when set, binds every statement to this transaction on base's connection instead (Store.DryRun).
	tx   *sql.Tx
	base *stmts
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if c.tx != nil {
		return c.base.inTx(ctx, c.tx, query)
	}
	if st := c.cached(query); st != nil {
		return st, nil
	}
	// Prepare without the lock, so that no caller ever waits for a connection while holding it.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok {
		st.Close()
		return prev, nil
	}
	c.m[query] = st
	return st, nil
}

func (c *stmts) cached(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// warm prepares queries that will run inside a transaction. Call it before beginning the transaction.
func (c *stmts) warm(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, err := c.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// inTx returns the statement for query bound to tx: the cached one if warm prepared it, otherwise one prepared
// on tx's own connection for this transaction only.
func (c *stmts) inTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := c.cached(query); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

func (c *stmts) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

func (c *stmts) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmts) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := c.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
