package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const auditCols = `id, user_id, username, provider, event_type, event_category, event_target, status, reason, source,
	create_time`

const insertAudit = `INSERT INTO audit_logs (` + auditCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// AppendAudit stores entries in one write, filling empty IDs and zero CreateTimes: all of them or, on an error,
// none. ErrConflict if an id is taken.
//
// The inserts go as one batch, which PostgreSQL runs as one implicit transaction: one round trip, all or nothing.
func (s *Store) AppendAudit(ctx context.Context, entries ...api.AuditLog) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	ids := make([]string, len(entries))
	b := &pgx.Batch{}
	for i, e := range entries {
		args := auditArgs(e, now)
		ids[i] = args[0].(string)
		b.Queue(insertAudit, args...)
	}
	br := s.pool.SendBatch(ctx, b)
	var err error
	for i := range ids {
		if _, err = br.Exec(); err != nil {
			if violated(err) == "audit_logs_pkey" {
				err = conflictf("audit entry %q already exists", ids[i])
			}
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return wrap(err, "postgres: append %d audit entries", len(entries))
}

// ListAudit returns the newest max entries (all when max <= 0), newest first by CreateTime, then id; never nil.
func (s *Store) ListAudit(ctx context.Context, max int) ([]api.AuditLog, error) {
	var limit *int // NULL: no limit
	if max > 0 {
		limit = &max
	}
	rows, err := s.pool.Query(ctx, `SELECT `+auditCols+` FROM audit_logs ORDER BY create_time DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrap(err, "postgres: list audit log")
	}
	es, err := collect(rows, scanAudit)
	if err != nil {
		return nil, wrap(err, "postgres: list audit log")
	}
	return es, nil
}

// GetAudit returns an entry by id; ErrNotFound if absent.
func (s *Store) GetAudit(ctx context.Context, id string) (api.AuditLog, error) {
	e, err := scanAudit(s.pool.QueryRow(ctx, `SELECT `+auditCols+` FROM audit_logs WHERE id = $1`, id))
	if missing(err) {
		return api.AuditLog{}, notFoundf("audit entry %q not found", id)
	}
	if err != nil {
		return api.AuditLog{}, wrap(err, "postgres: get audit entry %q", id)
	}
	return e, nil
}

func scanAudit(row pgx.Row) (api.AuditLog, error) {
	var e api.AuditLog
	var created time.Time
	if err := row.Scan(&e.ID, &e.UserID, &e.Username, &e.Provider, &e.EventType, &e.EventCategory, &e.EventTarget,
		&e.Status, &e.Reason, &e.Source, &created); err != nil {
		return api.AuditLog{}, err
	}
	e.CreateTime = created.UTC()
	return e, nil
}

// auditArgs are insertAudit's arguments for e, with an empty ID and a zero CreateTime filled.
func auditArgs(e api.AuditLog, now time.Time) []any {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	return []any{e.ID, e.UserID, e.Username, e.Provider, e.EventType, e.EventCategory, e.EventTarget, e.Status,
		e.Reason, e.Source, storedTime(e.CreateTime, now)}
}

// dbtx is what a change runs its statements on: the pool, or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// change runs fn, a change whose statements need no transaction of their own, on the pool. When ctx carries a
// pending audit entry (store.WithAudit), fn runs in a transaction that writes the entry after it: both commit or
// neither. fn's error rolls it back, so fn returns one for a change that did not happen (no row matched).
func (s *Store) change(ctx context.Context, fn func(q dbtx) error) error {
	p := store.AuditFrom(ctx)
	if !p.Take() {
		if s.dry != nil {
			// In a savepoint: a failed statement must not abort the dry run's whole transaction.
			return pgx.BeginFunc(ctx, s.dry, func(tx pgx.Tx) error { return fn(tx) })
		}
		return fn(s.pool)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.insertPendingAudit(ctx, tx, p)
	})
	p.Done(err == nil)
	return err
}

// insertPendingAudit writes p's entry in tx.
func (s *Store) insertPendingAudit(ctx context.Context, tx pgx.Tx, p *store.PendingAudit) error {
	if _, err := tx.Exec(ctx, insertAudit, auditArgs(p.Entry(), s.now())...); err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	return nil
}
