package postgres

import (
	"context"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// UserAccess returns a user and every role bound to a group the user belongs to, each role once, ordered by name;
// ErrNotFound if the user is absent. Both come from one statement, so from one snapshot: they agree with each
// other. The statement yields a row per role, the user's columns repeated, or one row with NULL role columns.
func (s *Store) UserAccess(ctx context.Context, userID string) (store.User, []api.Role, error) {
	if !textOK(userID) {
		return store.User{}, nil, notFoundf("user %q not found", userID)
	}
	rows, err := s.pool.Query(ctx, userAccess, userID)
	if err != nil {
		return store.User{}, nil, wrap(err, "postgres: access of user %q", userID)
	}
	defer rows.Close()
	var u store.User
	found := false
	roles := []api.Role{}
	for rows.Next() {
		var nu store.User
		var created, updated time.Time
		var (
			id, name, resource, access *string
			ids                        []string
			builtin                    *bool
			rc, ru                     *time.Time
		)
		if err := rows.Scan(&nu.ID, &nu.Username, &nu.Provider, &nu.Builtin, &created, &updated, &nu.PasswordHash,
			&nu.Generation, &nu.Groups, &id, &name, &resource, &ids, &access, &builtin, &rc, &ru); err != nil {
			return store.User{}, nil, wrap(err, "postgres: access of user %q", userID)
		}
		if !found {
			nu.CreateTime, nu.UpdateTime = created.UTC(), updated.UTC()
			nu.Groups = nonNil(nu.Groups)
			u, found = nu, true
		}
		if id == nil {
			continue
		}
		roles = append(roles, api.Role{ID: *id, Name: *name, Resource: *resource, ResourceIDs: nonNil(ids),
			Access: api.Access(*access), Builtin: *builtin, CreateTime: rc.UTC(), UpdateTime: ru.UTC()})
	}
	if err := rows.Err(); err != nil {
		return store.User{}, nil, wrap(err, "postgres: access of user %q", userID)
	}
	if !found {
		return store.User{}, nil, notFoundf("user %q not found", userID)
	}
	return u, roles, nil
}

const userAccess = `SELECT ` + userCols + `, r.id, r.name, r.resource, r.resource_ids, r.access, r.builtin,
		r.create_time, r.update_time
	FROM users LEFT JOIN LATERAL (
		SELECT * FROM roles WHERE id IN (
			SELECT b.role_id FROM group_members m JOIN role_bindings b ON b.group_id = m.group_id
			WHERE m.user_id = users.id)
	) r ON true
	WHERE users.id = $1
	ORDER BY r.name`
