package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
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
	limit := int64(max)
	if max <= 0 {
		limit = -1 // SQLite: no limit
	}
	return listAll(ctx, s.rs, scanAudit, "sqlite: list audit log",
		`SELECT `+auditCols+` FROM audit_logs ORDER BY create_time DESC, id DESC LIMIT ?`, limit)
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
