package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
		args[i] = []any{e.ID, e.UserID, e.Username, e.Provider, e.EventType, e.EventCategory, e.EventTarget, e.Status,
			e.Reason, e.Source, toNanos(storedTime(e.CreateTime, now))}
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
	rows, err := s.rs.query(ctx, `SELECT `+auditCols+` FROM audit_logs ORDER BY create_time DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit log: %w", err)
	}
	defer rows.Close()
	es := []api.AuditLog{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list audit log: %w", err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit log: %w", err)
	}
	return es, nil
}

// GetAudit returns an entry by id; ErrNotFound if absent.
func (s *Store) GetAudit(ctx context.Context, id string) (api.AuditLog, error) {
	e, err := scanAudit(s.rs.queryRow(ctx, `SELECT `+auditCols+` FROM audit_logs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return api.AuditLog{}, notFoundf("audit entry %q not found", id)
	}
	if err != nil {
		return api.AuditLog{}, fmt.Errorf("sqlite: get audit entry %q: %w", id, err)
	}
	return e, nil
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
