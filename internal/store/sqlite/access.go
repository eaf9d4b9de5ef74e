package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// UserAccess returns a user and every role bound to a group the user belongs to, each role once, ordered by name;
// ErrNotFound if the user is absent. Both come from one read transaction, so they agree with each other.
func (s *Store) UserAccess(ctx context.Context, userID string) (store.User, []api.Role, error) {
	var u store.User
	var roles []api.Role
	err := s.read(ctx, func(tx *wtx) error {
		var err error
		u, err = scanUser(tx.queryRow(selectUser, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("user %q not found", userID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.query(userRoles, userID)
		if err != nil {
			return err
		}
		roles, err = scanAll(rows, scanRole)
		return err
	}, selectUser, userRoles)
	if err != nil {
		return store.User{}, nil, wrap(err, "sqlite: access of user %q", userID)
	}
	return u, roles, nil
}

const userRoles = `SELECT ` + roleCols + ` FROM roles WHERE id IN (
		SELECT b.role_id FROM group_members m JOIN role_bindings b ON b.group_id = m.group_id WHERE m.user_id = ?)
	ORDER BY name`
