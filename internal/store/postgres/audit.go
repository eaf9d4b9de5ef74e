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
	es, _, err := s.FindAudit(ctx, store.AuditFilter{Limit: max})
	return es, err
}

// FindAudit returns the entries matching f newest first by CreateTime, then id (never nil), and how many match f
// without its Limit and Offset. Both come from one statement, so from one snapshot.
func (s *Store) FindAudit(ctx context.Context, f store.AuditFilter) ([]api.AuditLog, int, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, t := range []string{f.User, f.EventType, f.EventTarget, f.Category, f.Status} {
		if !textOK(t) {
			return []api.AuditLog{}, 0, nil // no entry holds such text
		}
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+` = `+arg(v))
		}
	}
	if f.User != "" {
		u := arg(f.User)
		where = append(where, `(username = `+u+` OR user_id = `+u+`)`)
	}
	eq(`event_type`, f.EventType)
	eq(`event_target`, f.EventTarget)
	eq(`event_category`, f.Category)
	eq(`status`, f.Status)
	if !f.Since.IsZero() {
		where = append(where, `create_time >= `+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `create_time < `+arg(f.Until))
	}
	if f.IDs != nil {
		// An empty array matches nothing, as an empty IDs must. Ids no entry can have are left out.
		ids := []string{}
		for _, id := range f.IDs {
			if textOK(id) {
				ids = append(ids, id)
			}
		}
		where = append(where, `id = ANY(`+arg(ids)+`)`)
	}
	return page(ctx, s.pool, "audit log", "audit_logs", auditCols, where, args, f.Limit, f.Offset,
		func(rows pgx.Rows, total *int) (api.AuditLog, bool, error) {
			var text [10]*string
			var created *time.Time
			dest := []any{total}
			for i := range text {
				dest = append(dest, &text[i])
			}
			if err := rows.Scan(append(dest, &created)...); err != nil || text[0] == nil {
				return api.AuditLog{}, false, err
			}
			var e api.AuditLog
			for i, f := range []*string{&e.ID, &e.UserID, &e.Username, &e.Provider, &e.EventType, &e.EventCategory,
				&e.EventTarget, &e.Status, &e.Reason, &e.Source} {
				*f = *text[i]
			}
			e.CreateTime = created.UTC()
			return e, true, nil
		})
}

// pruneBatch bounds the entries one statement of PruneAudit deletes, so that no transaction runs long.
const pruneBatch = 5000

// PruneAudit deletes the entries created before before, pruneBatch at a time, and returns how many it deleted.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM audit_logs WHERE id IN
			(SELECT id FROM audit_logs WHERE create_time < $1 ORDER BY create_time LIMIT $2)`, before, pruneBatch)
		if err != nil {
			return total, wrap(err, "postgres: prune audit entries before %v", before)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
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
