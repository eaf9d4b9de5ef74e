package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

// userCols reads a whole user in one row, its groups as an array ordered by id. The names are qualified, so that
// UserAccess can join roles.
const userCols = `users.id, users.username, users.provider, users.builtin, users.create_time, users.update_time,
	users.password_hash, users.generation,
	ARRAY(SELECT group_id FROM group_members WHERE user_id = users.id ORDER BY group_id)`

// CreateUser stores a user and, when u.Groups is not nil, its membership; ErrConflict if (provider, username) or
// the id is taken, ErrInvalid if a group does not exist or belongs to another provider.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	store.SetAuditTarget(ctx, u.ID)
	now := s.now()
	u.CreateTime, u.UpdateTime = storedTime(u.CreateTime, now), storedTime(u.UpdateTime, now)
	u.Password = ""
	setGroups := u.Groups != nil
	u.Groups = idSet(u.Groups)
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, username, provider, builtin, create_time, update_time,
			password_hash, generation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, u.ID, u.Username, u.Provider,
			u.Builtin, u.CreateTime, u.UpdateTime, u.PasswordHash, u.Generation)
		switch violated(err) {
		case "":
		case "users_pkey":
			return conflictf("user id %q already exists", u.ID)
		default:
			return conflictf("user %q of provider %q already exists", u.Username, u.Provider)
		}
		if err != nil {
			return err
		}
		if setGroups {
			return setUserGroups(ctx, tx, u.ID, u.Username, u.Provider, u.Groups)
		}
		return nil
	})
	if err != nil {
		return store.User{}, wrap(err, "postgres: create user %q", u.Username)
	}
	return u, nil
}

// GetUser returns a user by id; ErrNotFound if absent.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, selectUser, id))
	if missing(err) {
		return store.User{}, notFoundf("user %q not found", id)
	}
	if err != nil {
		return store.User{}, wrap(err, "postgres: get user %q", id)
	}
	return u, nil
}

// GetUserByName returns a user; ErrNotFound if absent.
func (s *Store) GetUserByName(ctx context.Context, provider, username string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE provider = $1 AND username = $2`,
		provider, username))
	if missing(err) {
		return store.User{}, notFoundf("user %q of provider %q not found", username, provider)
	}
	if err != nil {
		return store.User{}, wrap(err, "postgres: get user %q", username)
	}
	return u, nil
}

// ListUsers returns every user ordered by provider then username; never nil.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY provider, username`)
	if err != nil {
		return nil, wrap(err, "postgres: list users")
	}
	us, err := collect(rows, scanUser)
	if err != nil {
		return nil, wrap(err, "postgres: list users")
	}
	return us, nil
}

// SetPassword replaces a user's password hash and ends every credential of the user, as RevokeCredentials does;
// ErrNotFound if absent.
func (s *Store) SetPassword(ctx context.Context, id, passwordHash string) error {
	if !textOK(id) {
		return notFoundf("user %q not found", id)
	}
	now := s.now()
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1, generation = generation + 1, update_time = $2
			WHERE id = $3`, passwordHash, now, id)
		if err := oneRow(tag, err, "user", id); err != nil {
			return err
		}
		return revokeUserTokens(ctx, tx, id, now)
	})
	return wrap(err, "postgres: set password of user %q", id)
}

// SetUserGroups replaces the groups a user belongs to; ErrNotFound if the user is absent, ErrInvalid if a group
// does not exist or belongs to another provider.
func (s *Store) SetUserGroups(ctx context.Context, userID string, groupIDs []string) error {
	now := s.now()
	err := s.write(ctx, func(tx pgx.Tx) error {
		var username, provider string
		err := tx.QueryRow(ctx, memberUser, userID).Scan(&username, &provider)
		if missing(err) {
			return notFoundf("user %q not found", userID)
		}
		if err != nil {
			return err
		}
		if err := setUserGroups(ctx, tx, userID, username, provider, idSet(groupIDs)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET update_time = $1 WHERE id = $2`, now, userID)
		return err
	})
	return wrap(err, "postgres: set groups of user %q", userID)
}

// DeleteUser removes a user and its API tokens; ErrNotFound if absent, ErrConflict if built in or still in a
// group (naming the groups).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var username string
		var builtin bool
		err := tx.QueryRow(ctx, `SELECT username, builtin FROM users WHERE id = $1`, id).Scan(&username, &builtin)
		if missing(err) {
			return notFoundf("user %q not found", id)
		}
		if err != nil {
			return err
		}
		if builtin {
			return conflictf("user %q is built in and cannot be deleted", username)
		}
		groups, err := column[string](ctx, tx, `SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
			WHERE m.user_id = $1 ORDER BY g.name`, id)
		if err != nil {
			return err
		}
		if len(groups) > 0 {
			return conflictf("user %q is in %s", username, store.Count(len(groups), "group", "groups"))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM api_tokens WHERE owner = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		return err
	})
	return wrap(err, "postgres: delete user %q", id)
}

const selectUser = `SELECT ` + userCols + ` FROM users WHERE id = $1`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created, updated time.Time
	if err := row.Scan(&u.ID, &u.Username, &u.Provider, &u.Builtin, &created, &updated, &u.PasswordHash,
		&u.Generation, &u.Groups); err != nil {
		return store.User{}, err
	}
	u.CreateTime, u.UpdateTime = created.UTC(), updated.UTC()
	u.Groups = nonNil(u.Groups)
	return u, nil
}
