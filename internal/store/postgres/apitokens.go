package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

const tokenCols = `id, owner, key_hash, description, enabled, expires, create_time, update_time, disabled_by_admin,
	revoked_at`

// CreateAPIToken stores a token; ErrConflict if the id or key hash is taken, ErrInvalid if the owner does not
// exist. The stored token always has Enabled set: a token created without it is enabled.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	store.SetAuditTarget(ctx, t.ID)
	now := s.now()
	t.CreateTime, t.UpdateTime = storedTime(t.CreateTime, now), storedTime(t.UpdateTime, now)
	t.Key = ""
	enabled := t.IsEnabled()
	t.Enabled = &enabled
	if t.Expires != nil {
		e := stored(*t.Expires)
		t.Expires = &e
	}
	if t.RevokedAt != nil {
		r := stored(*t.RevokedAt)
		t.RevokedAt = &r
	}
	if !textOK(t.Owner) {
		return store.APIToken{}, invalidf("owner %q does not exist", t.Owner)
	}
	// Under catalogLock, so that DeleteUser cannot remove the owner between the check and the insert.
	err := s.write(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, t.Owner).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return invalidf("owner %q does not exist", t.Owner)
		}
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			t.ID, t.Owner, t.KeyHash, t.Description, enabled, t.Expires, t.CreateTime, t.UpdateTime, t.DisabledByAdmin,
			t.RevokedAt)
		switch violated(err) {
		case "":
			return err
		case "api_tokens_pkey":
			return conflictf("api token %q already exists", t.ID)
		}
		// Not the hash itself: an error may reach a log or a client.
		return conflictf("another api token has the same key")
	})
	if err != nil {
		return store.APIToken{}, wrap(err, "postgres: create api token %q", t.ID)
	}
	return t, nil
}

// GetAPIToken returns a token by id; ErrNotFound if absent.
func (s *Store) GetAPIToken(ctx context.Context, id string) (store.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = $1`, id))
	if missing(err) {
		return store.APIToken{}, notFoundf("api token %q not found", id)
	}
	if err != nil {
		return store.APIToken{}, wrap(err, "postgres: get api token %q", id)
	}
	return t, nil
}

// GetAPITokenByHash returns the token whose key hashes to keyHash; ErrNotFound if none.
func (s *Store) GetAPITokenByHash(ctx context.Context, keyHash string) (store.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE key_hash = $1`, keyHash))
	if missing(err) {
		return store.APIToken{}, notFoundf("api token not found")
	}
	if err != nil {
		return store.APIToken{}, wrap(err, "postgres: get api token by key")
	}
	return t, nil
}

// ListAPITokens returns the tokens of owner, every token when owner is "", ordered by creation time (then id);
// never nil.
func (s *Store) ListAPITokens(ctx context.Context, owner string) ([]store.APIToken, error) {
	if !textOK(owner) {
		return []store.APIToken{}, nil // no user has such an id
	}
	var rows pgx.Rows
	var err error
	if owner == "" {
		rows, err = s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens ORDER BY create_time, id`)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE owner = $1 ORDER BY create_time, id`, owner)
	}
	if err != nil {
		return nil, wrap(err, "postgres: list api tokens")
	}
	ts, err := collect(rows, scanToken)
	if err != nil {
		return nil, wrap(err, "postgres: list api tokens")
	}
	return ts, nil
}

// UpdateAPIToken replaces the description, enabled flag (nil: enabled), DisabledByAdmin and expiry of the token
// t.ID; a revoked token stays disabled. ErrNotFound if absent.
func (s *Store) UpdateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if !textOK(t.ID) {
		return store.APIToken{}, notFoundf("api token %q not found", t.ID)
	}
	var expires *time.Time
	if t.Expires != nil {
		e := stored(*t.Expires)
		expires = &e
	}
	var stored store.APIToken
	err := s.change(ctx, func(q dbtx) (err error) {
		stored, err = scanToken(q.QueryRow(ctx, `UPDATE api_tokens
			SET description = $1, enabled = ($2 AND revoked_at IS NULL), disabled_by_admin = $3, expires = $4,
				update_time = $5 WHERE id = $6
			RETURNING `+tokenCols, t.Description, t.IsEnabled(), t.DisabledByAdmin, expires, s.now(), t.ID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIToken{}, notFoundf("api token %q not found", t.ID)
	}
	if err != nil {
		return store.APIToken{}, wrap(err, "postgres: update api token %q", t.ID)
	}
	return stored, nil
}

// DeleteAPIToken removes a token; ErrNotFound if absent.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	if !textOK(id) {
		return notFoundf("api token %q not found", id)
	}
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
		return oneRow(tag, err, "api token", id)
	})
	return wrap(err, "postgres: delete api token %q", id)
}

func scanToken(row pgx.Row) (store.APIToken, error) {
	var t store.APIToken
	var enabled bool
	var created, updated time.Time
	if err := row.Scan(&t.ID, &t.Owner, &t.KeyHash, &t.Description, &enabled, &t.Expires, &created, &updated,
		&t.DisabledByAdmin, &t.RevokedAt); err != nil {
		return store.APIToken{}, err
	}
	t.Enabled, t.Expires, t.RevokedAt = &enabled, utc(t.Expires), utc(t.RevokedAt)
	t.CreateTime, t.UpdateTime = created.UTC(), updated.UTC()
	return t, nil
}
