package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/runplane/runplane/internal/store"
)

// userCols reads a whole user in one row, its groups as a JSON array ordered by id.
const userCols = `id, username, provider, builtin, create_time, update_time, password_hash, generation,
	(SELECT json_group_array(group_id ORDER BY group_id) FROM group_members WHERE user_id = users.id)`

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
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertUser, u.ID, u.Username, u.Provider, u.Builtin, toNanos(u.CreateTime),
			toNanos(u.UpdateTime), u.PasswordHash, u.Generation)
		switch {
		case isPrimaryKey(err):
			return conflictf("user id %q already exists", u.ID)
		case isUnique(err):
			return conflictf("user %q of provider %q already exists", u.Username, u.Provider)
		case err != nil:
			return err
		}
		if setGroups {
			return tx.setUserGroups(u.ID, u.Username, u.Provider, u.Groups)
		}
		return nil
	}, userWrites...)
	if err != nil {
		return store.User{}, wrap(err, "sqlite: create user %q", u.Username)
	}
	return u, nil
}

// GetUser returns a user by id; ErrNotFound if absent.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return getOne(ctx, s.rs, scanUser, notFoundf("user %q not found", id), fmt.Sprintf("sqlite: get user %q", id),
		selectUser, id)
}

// GetUserByName returns a user; ErrNotFound if absent.
func (s *Store) GetUserByName(ctx context.Context, provider, username string) (store.User, error) {
	return getOne(ctx, s.rs, scanUser, notFoundf("user %q of provider %q not found", username, provider),
		fmt.Sprintf("sqlite: get user %q", username),
		`SELECT `+userCols+` FROM users WHERE provider = ? AND username = ?`, provider, username)
}

// ListUsers returns every user ordered by provider then username; never nil.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	return listAll(ctx, s.rs, scanUser, "sqlite: list users",
		`SELECT `+userCols+` FROM users ORDER BY provider, username`)
}

// SetPassword replaces a user's password hash and ends every credential of the user, as RevokeCredentials does;
// ErrNotFound if absent.
func (s *Store) SetPassword(ctx context.Context, id, passwordHash string) error {
	now := toNanos(s.now())
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(setPassword, passwordHash, now, id)
		if err := oneRow(res, err, "user", id); err != nil {
			return err
		}
		_, err = tx.exec(revokeUserTokens, now, now, id)
		return err
	}, setPassword, revokeUserTokens)
	return wrap(err, "sqlite: set password of user %q", id)
}

// SetUserGroups replaces the groups a user belongs to; ErrNotFound if the user is absent, ErrInvalid if a group
// does not exist or belongs to another provider.
func (s *Store) SetUserGroups(ctx context.Context, userID string, groupIDs []string) error {
	now := toNanos(s.now())
	err := s.write(ctx, func(tx *wtx) error {
		var username, provider string
		err := tx.queryRow(memberUser, userID).Scan(&username, &provider)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("user %q not found", userID)
		}
		if err != nil {
			return err
		}
		if err := tx.setUserGroups(userID, username, provider, idSet(groupIDs)); err != nil {
			return err
		}
		_, err = tx.exec(touchUser, now, userID)
		return err
	}, userWrites...)
	return wrap(err, "sqlite: set groups of user %q", userID)
}

// DeleteUser removes a user and its API tokens; ErrNotFound if absent, ErrConflict if built in or still in a
// group (naming the groups).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *wtx) error {
		username, err := tx.notBuiltin(userBuiltin, "user", id, "deleted")
		if err != nil {
			return err
		}
		groups, err := tx.strings(userGroupNames, id)
		if err != nil {
			return err
		}
		if len(groups) > 0 {
			return conflictf("user %q is in %s", username, store.Count(len(groups), "group", "groups"))
		}
		if _, err := tx.exec(deleteUserTokens, id); err != nil {
			return err
		}
		_, err = tx.exec(deleteUser, id)
		return err
	}, userBuiltin, userGroupNames, deleteUserTokens, deleteUser)
	return wrap(err, "sqlite: delete user %q", id)
}

const (
	insertUser = `INSERT INTO users (id, username, provider, builtin, create_time, update_time, password_hash,
		generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	selectUser     = `SELECT ` + userCols + ` FROM users WHERE id = ?`
	setPassword    = `UPDATE users SET password_hash = ?, generation = generation + 1, update_time = ? WHERE id = ?`
	touchUser      = `UPDATE users SET update_time = ? WHERE id = ?`
	userBuiltin    = `SELECT username, builtin FROM users WHERE id = ?`
	userGroupNames = `SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = ? ORDER BY g.name`
	deleteUserTokens = `DELETE FROM api_tokens WHERE owner = ?`
	deleteUser       = `DELETE FROM users WHERE id = ?`
)

// userWrites are the statements CreateUser and SetUserGroups run.
var userWrites = []string{insertUser, memberUser, touchUser, memberGroup, deleteUserMembers, insertMember}

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var created, updated int64
	var groups string
	if err := row.Scan(&u.ID, &u.Username, &u.Provider, &u.Builtin, &created, &updated, &u.PasswordHash,
		&u.Generation, &groups); err != nil {
		return store.User{}, err
	}
	u.CreateTime, u.UpdateTime = fromNanos(created), fromNanos(updated)
	var err error
	if u.Groups, err = decodeIDs("groups of user "+u.ID, groups); err != nil {
		return store.User{}, err
	}
	return u, nil
}
