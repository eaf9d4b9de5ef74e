package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// RevokeSession records that the session id of user userID ended, until expires. Expired records are dropped on the
// way, so the table holds only sessions that could still be presented.
func (s *Store) RevokeSession(ctx context.Context, userID, id string, expires time.Time) error {
	if !textOK(userID) || !textOK(id) {
		return invalidf("text must be valid UTF-8 without NUL bytes")
	}
	err := s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `WITH pruned AS (DELETE FROM revoked_sessions WHERE expires <= $4)
			INSERT INTO revoked_sessions (id, user_id, expires) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			id, userID, stored(expires), s.now())
		return err
	})
	return wrap(err, "postgres: revoke a session of user %q", userID)
}

// RevokedSessions returns the ids of userID's revoked sessions that have not expired; never nil.
func (s *Store) RevokedSessions(ctx context.Context, userID string) ([]string, error) {
	if !textOK(userID) {
		return []string{}, nil
	}
	ids, err := column[string](ctx, s.pool, `SELECT id FROM revoked_sessions WHERE user_id = $1 AND expires > $2
		ORDER BY id`, userID, s.now())
	if err != nil {
		return nil, wrap(err, "postgres: revoked sessions of user %q", userID)
	}
	return nonNil(ids), nil
}

// RevokeCredentials ends every session and API token of a user; ErrNotFound if absent. It holds catalogLock, so
// that a token created concurrently is either revoked too or created after (and then valid).
func (s *Store) RevokeCredentials(ctx context.Context, userID string) error {
	if !textOK(userID) {
		return notFoundf("user %q not found", userID)
	}
	now := s.now()
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET generation = generation + 1, update_time = $1 WHERE id = $2`,
			now, userID)
		if err := oneRow(tag, err, "user", userID); err != nil {
			return err
		}
		return revokeUserTokens(ctx, tx, userID, now)
	})
	return wrap(err, "postgres: revoke the credentials of user %q", userID)
}

// revokeUserTokens disables every token of owner not yet revoked, marking it revoked at now.
func revokeUserTokens(ctx context.Context, tx pgx.Tx, owner string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE api_tokens SET enabled = false, revoked_at = $1, update_time = $1
		WHERE owner = $2 AND revoked_at IS NULL`, now, owner)
	return err
}
