package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

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
		e := fromNanos(toNanos(*t.Expires))
		t.Expires = &e
	}
	if t.RevokedAt != nil {
		r := fromNanos(toNanos(*t.RevokedAt))
		t.RevokedAt = &r
	}
	err := s.write(ctx, func(tx *wtx) error {
		var one int
		err := tx.queryRow(userExists, t.Owner).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return invalidf("owner %q does not exist", t.Owner)
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(insertToken, t.ID, t.Owner, t.KeyHash, t.Description, enabled, nullNanos(t.Expires),
			toNanos(t.CreateTime), toNanos(t.UpdateTime), t.DisabledByAdmin, nullNanos(t.RevokedAt))
		switch {
		case isPrimaryKey(err):
			return conflictf("api token %q already exists", t.ID)
		case isUnique(err):
			// Not the hash itself: an error may reach a log or a client.
			return conflictf("another api token has the same key")
		}
		return err
	}, userExists, insertToken)
	if err != nil {
		return store.APIToken{}, wrap(err, "sqlite: create api token %q", t.ID)
	}
	return t, nil
}

// GetAPIToken returns a token by id; ErrNotFound if absent.
func (s *Store) GetAPIToken(ctx context.Context, id string) (store.APIToken, error) {
	return getOne(ctx, s.rs, scanToken, notFoundf("api token %q not found", id),
		fmt.Sprintf("sqlite: get api token %q", id), `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id)
}

// GetAPITokenByHash returns the token whose key hashes to keyHash; ErrNotFound if none.
func (s *Store) GetAPITokenByHash(ctx context.Context, keyHash string) (store.APIToken, error) {
	return getOne(ctx, s.rs, scanToken, notFoundf("api token not found"), "sqlite: get api token by key",
		`SELECT `+tokenCols+` FROM api_tokens WHERE key_hash = ?`, keyHash)
}

// ListAPITokens returns the tokens of owner, every token when owner is "", ordered by creation time (then id);
// never nil.
func (s *Store) ListAPITokens(ctx context.Context, owner string) ([]store.APIToken, error) {
	const what = "sqlite: list api tokens"
	if owner == "" {
		return listAll(ctx, s.rs, scanToken, what, `SELECT `+tokenCols+` FROM api_tokens ORDER BY create_time, id`)
	}
	return listAll(ctx, s.rs, scanToken, what,
		`SELECT `+tokenCols+` FROM api_tokens WHERE owner = ? ORDER BY create_time, id`, owner)
}

// UpdateAPIToken replaces the description, enabled flag (nil: enabled), DisabledByAdmin and expiry of the token
// t.ID; a revoked token stays disabled. ErrNotFound if absent.
func (s *Store) UpdateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	now := toNanos(s.now())
	var stored store.APIToken
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		stored, err = scanToken(tx.queryRow(updateToken, t.Description, t.IsEnabled(), t.DisabledByAdmin,
			nullNanos(t.Expires), now, t.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("api token %q not found", t.ID)
		}
		return err
	}, updateToken)
	if err != nil {
		return store.APIToken{}, wrap(err, "sqlite: update api token %q", t.ID)
	}
	return stored, nil
}

// DeleteAPIToken removes a token; ErrNotFound if absent.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteToken, id)
		return oneRow(res, err, "api token", id)
	}, deleteToken)
	return wrap(err, "sqlite: delete api token %q", id)
}

const (
	userExists  = `SELECT 1 FROM users WHERE id = ?`
	insertToken = `INSERT INTO api_tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateToken = `UPDATE api_tokens SET description = ?, enabled = (? AND revoked_at IS NULL), disabled_by_admin = ?,
		expires = ?, update_time = ? WHERE id = ? RETURNING ` + tokenCols
	deleteToken = `DELETE FROM api_tokens WHERE id = ?`
)

func scanToken(row scanner) (store.APIToken, error) {
	var t store.APIToken
	var enabled bool
	var expires, revoked sql.NullInt64
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Owner, &t.KeyHash, &t.Description, &enabled, &expires, &created, &updated,
		&t.DisabledByAdmin, &revoked); err != nil {
		return store.APIToken{}, err
	}
	t.Enabled, t.Expires, t.RevokedAt = &enabled, fromNullNanos(expires), fromNullNanos(revoked)
	t.CreateTime, t.UpdateTime = fromNanos(created), fromNanos(updated)
	return t, nil
}
