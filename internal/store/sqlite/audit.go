package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const auditCols = `id, user_id, username, provider, event_type, event_category, event_target, status, reason, source,
	create_time`

// AppendAudit stores entries in one write, filling empty IDs and zero CreateTimes: all of them or, on an error,
// none. ErrConflict if an id is taken.
func (s *Store) AppendAudit(ctx context.Context, entries ...api.AuditLog) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	args := make([][]any, len(entries))
	for i, e := range entries {
		args[i] = auditArgs(e, now)
	}
	err := s.write(ctx, func(tx *wtx) error {
		for _, a := range args {
			if _, err := tx.exec(insertAudit, a...); err != nil {
				if isPrimaryKey(err) {
					return conflictf("audit entry %q already exists", a[0])
				}
				return err
			}
		}
		return nil
	}, insertAudit)
	return wrap(err, "sqlite: append %d audit entries", len(entries))
}

// ListAudit returns the newest max entries (all when max <= 0), newest first by CreateTime, then id; never nil.
func (s *Store) ListAudit(ctx context.Context, max int) ([]api.AuditLog, error) {
	es, _, err := s.FindAudit(ctx, store.AuditFilter{Limit: max})
	return es, err
}

// FindAudit returns the entries matching f newest first by CreateTime, then id (never nil), and how many match f
// without its Limit and Offset. Both come from one read transaction, so from one snapshot.
func (s *Store) FindAudit(ctx context.Context, f store.AuditFilter) ([]api.AuditLog, int, error) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+` = ?`)
			args = append(args, v)
		}
	}
	if f.User != "" {
		where = append(where, `(username = ? OR user_id = ?)`)
		args = append(args, f.User, f.User)
	}
	eq(`event_type`, f.EventType)
	eq(`event_target`, f.EventTarget)
	eq(`event_category`, f.Category)
	eq(`status`, f.Status)
	if !f.Since.IsZero() {
		where = append(where, `create_time >= ?`)
		args = append(args, clampedNanos(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `create_time < ?`)
		args = append(args, clampedNanos(f.Until))
	}
	if f.IDs != nil {
		// One JSON argument keeps the statement text (and its prepared statement) the same for any number of ids.
		b, err := json.Marshal(f.IDs)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list audit log: %w", err)
		}
		where = append(where, `id IN (SELECT value FROM json_each(?))`)
		args = append(args, string(b))
	}
	return page(ctx, s, "list audit log", "audit_logs", auditCols, where, args, f.Limit, f.Offset, scanAudit)
}

// pruneBatch bounds the entries one write of PruneAudit deletes: the write lock is held for one batch at a time.
const pruneBatch = 5000

const pruneAudit = `DELETE FROM audit_logs WHERE rowid IN
	(SELECT rowid FROM audit_logs WHERE create_time < ? ORDER BY create_time LIMIT ?)`

// PruneAudit deletes the entries created before before, pruneBatch at a time, and returns how many it deleted.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	cutoff := clampedNanos(before)
	total := 0
	for {
		var n int64
		err := s.write(ctx, func(tx *wtx) error {
			res, err := tx.exec(pruneAudit, cutoff, pruneBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		}, pruneAudit)
		if err != nil {
			return total, fmt.Errorf("sqlite: prune audit entries before %v: %w", before, err)
		}
		total += int(n)
		if n < pruneBatch {
			return total, nil
		}
	}
}

// GetAudit returns an entry by id; ErrNotFound if absent.
func (s *Store) GetAudit(ctx context.Context, id string) (api.AuditLog, error) {
	return getOne(ctx, s.rs, scanAudit, notFoundf("audit entry %q not found", id),
		fmt.Sprintf("sqlite: get audit entry %q", id), `SELECT `+auditCols+` FROM audit_logs WHERE id = ?`, id)
}

const insertAudit = `INSERT INTO audit_logs (` + auditCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func scanAudit(row scanner) (api.AuditLog, error) {
	var e api.AuditLog
	var created int64
	if err := row.Scan(&e.ID, &e.UserID, &e.Username, &e.Provider, &e.EventType, &e.EventCategory, &e.EventTarget,
		&e.Status, &e.Reason, &e.Source, &created); err != nil {
		return api.AuditLog{}, err
	}
	e.CreateTime = fromNanos(created)
	return e, nil
}

// auditArgs are insertAudit's arguments for e, with an empty ID and a zero CreateTime filled.
func auditArgs(e api.AuditLog, now time.Time) []any {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	return []any{e.ID, e.UserID, e.Username, e.Provider, e.EventType, e.EventCategory, e.EventTarget, e.Status,
		e.Reason, e.Source, toNanos(storedTime(e.CreateTime, now))}
}
