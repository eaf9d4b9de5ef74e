package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/runplane/runplane/internal/store"
)

// CreateUser stores a user; ErrConflict if (provider, username) or the id is taken. An empty ID is replaced by a
// new UUID and a zero CreateTime by now; read them back with GetUserByName.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	if u.CreateTime.IsZero() {
		u.CreateTime = s.now()
	}
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertUser, u.ID, u.Username, u.Provider, u.PasswordHash, toNanos(u.CreateTime))
		return err
	}, insertUser)
	if isUnique(err) {
		var e *sqlitedriver.Error
		if errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return conflictf("user id %q already exists", u.ID)
		}
		return conflictf("user %q of provider %q already exists", u.Username, u.Provider)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, err)
	}
	return nil
}

// GetUserByName returns a user; ErrNotFound if absent.
func (s *Store) GetUserByName(ctx context.Context, provider, username string) (store.User, error) {
	var u store.User
	var created int64
	err := s.rs.queryRow(ctx, `SELECT id, username, provider, password_hash, create_time
		FROM users WHERE provider = ? AND username = ?`, provider, username).
		Scan(&u.ID, &u.Username, &u.Provider, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, notFoundf("user %q of provider %q not found", username, provider)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: get user %q: %w", username, err)
	}
	u.CreateTime = fromNanos(created)
	return u, nil
}

// SetPassword replaces a user's password hash; ErrNotFound if absent.
func (s *Store) SetPassword(ctx context.Context, id, passwordHash string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(setPassword, passwordHash, id)
		return oneRow(res, err, "user", id)
	}, setPassword)
	return wrap(err, "sqlite: set password of user %q", id)
}

const (
	insertUser  = `INSERT INTO users (id, username, provider, password_hash, create_time) VALUES (?, ?, ?, ?, ?)`
	setPassword = `UPDATE users SET password_hash = ? WHERE id = ?`
)
