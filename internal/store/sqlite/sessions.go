package sqlite

import (
	"context"
	"fmt"
	"time"
)

// RevokeSession records that the session id of user userID ended, until expires. Expired records are dropped on the
// way, so the table holds only sessions that could still be presented.
func (s *Store) RevokeSession(ctx context.Context, userID, id string, expires time.Time) error {
	now := toNanos(s.now())
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(pruneSessions, now); err != nil {
			return err
		}
		_, err := tx.exec(insertRevokedSession, id, userID, toNanos(expires))
		return err
	}, pruneSessions, insertRevokedSession)
	return wrap(err, "sqlite: revoke a session of user %q", userID)
}

// RevokedSessions returns the ids of userID's revoked sessions that have not expired; never nil.
func (s *Store) RevokedSessions(ctx context.Context, userID string) ([]string, error) {
	return listAll(ctx, s.rs, scanString, fmt.Sprintf("sqlite: revoked sessions of user %q", userID),
		`SELECT id FROM revoked_sessions WHERE user_id = ? AND expires > ? ORDER BY id`, userID, toNanos(s.now()))
}

// RevokeCredentials ends every session and API token of a user; ErrNotFound if absent.
func (s *Store) RevokeCredentials(ctx context.Context, userID string) error {
	now := toNanos(s.now())
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(bumpGeneration, now, userID)
		if err := oneRow(res, err, "user", userID); err != nil {
			return err
		}
		_, err = tx.exec(revokeUserTokens, now, now, userID)
		return err
	}, bumpGeneration, revokeUserTokens)
	return wrap(err, "sqlite: revoke the credentials of user %q", userID)
}

func scanString(row scanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

const (
	pruneSessions        = `DELETE FROM revoked_sessions WHERE expires <= ?`
	insertRevokedSession = `INSERT INTO revoked_sessions (id, user_id, expires) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`
	bumpGeneration       = `UPDATE users SET generation = generation + 1, update_time = ? WHERE id = ?`
	revokeUserTokens     = `UPDATE api_tokens SET enabled = 0, revoked_at = ?, update_time = ? WHERE owner = ?
		AND revoked_at IS NULL`
)
