package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// groupCols reads a whole group in one row: its members and the roles bound to it as arrays ordered by id.
const groupCols = `id, name, provider, builtin, create_time, update_time,
	ARRAY(SELECT user_id FROM group_members WHERE group_id = groups.id ORDER BY user_id),
	ARRAY(SELECT role_id FROM role_bindings WHERE group_id = groups.id ORDER BY role_id)`

// CreateGroup stores a group and, when g.UserIDs is not nil, its members; ErrConflict if (provider, name) or the
// id is taken, ErrInvalid if a member does not exist or belongs to another provider. RoleIDs is ignored.
func (s *Store) CreateGroup(ctx context.Context, g api.Group) (api.Group, error) {
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	store.SetAuditTarget(ctx, g.ID)
	now := s.now()
	g.CreateTime, g.UpdateTime = storedTime(g.CreateTime, now), storedTime(g.UpdateTime, now)
	setMembers := g.UserIDs != nil
	g.UserIDs, g.RoleIDs = idSet(g.UserIDs), []string{}
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO groups (id, name, provider, builtin, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6)`, g.ID, g.Name, g.Provider, g.Builtin, g.CreateTime, g.UpdateTime)
		if err != nil {
			return groupUniqueError(err, g)
		}
		if setMembers {
			return setGroupMembers(ctx, tx, g.ID, g.Name, g.Provider, g.UserIDs)
		}
		return nil
	})
	if err != nil {
		return api.Group{}, wrap(err, "postgres: create group %q", g.Name)
	}
	return g, nil
}

// GetGroup returns a group by id; ErrNotFound if absent.
func (s *Store) GetGroup(ctx context.Context, id string) (api.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, selectGroup, id))
	if missing(err) {
		return api.Group{}, notFoundf("group %q not found", id)
	}
	if err != nil {
		return api.Group{}, wrap(err, "postgres: get group %q", id)
	}
	return g, nil
}

// GetGroupByName returns a group; ErrNotFound if absent.
func (s *Store) GetGroupByName(ctx context.Context, provider, name string) (api.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM groups WHERE provider = $1 AND name = $2`,
		provider, name))
	if missing(err) {
		return api.Group{}, notFoundf("group %q of provider %q not found", name, provider)
	}
	if err != nil {
		return api.Group{}, wrap(err, "postgres: get group %q", name)
	}
	return g, nil
}

// ListGroups returns every group ordered by provider then name; never nil.
func (s *Store) ListGroups(ctx context.Context) ([]api.Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+groupCols+` FROM groups ORDER BY provider, name`)
	if err != nil {
		return nil, wrap(err, "postgres: list groups")
	}
	gs, err := collect(rows, scanGroup)
	if err != nil {
		return nil, wrap(err, "postgres: list groups")
	}
	return gs, nil
}

// UpdateGroup renames the group g.ID and, when g.UserIDs is not nil, replaces its members; Provider and RoleIDs
// are ignored. ErrNotFound if absent, ErrConflict if the new name is taken or a built-in group would be renamed,
// ErrInvalid if a member does not exist or belongs to another provider.
func (s *Store) UpdateGroup(ctx context.Context, g api.Group) (api.Group, error) {
	now := s.now()
	var stored api.Group
	err := s.write(ctx, func(tx pgx.Tx) error {
		old, err := scanGroup(tx.QueryRow(ctx, selectGroup, g.ID))
		if missing(err) {
			return notFoundf("group %q not found", g.ID)
		}
		if err != nil {
			return err
		}
		if old.Builtin && g.Name != old.Name {
			return conflictf("group %q is built in and cannot be renamed", old.Name)
		}
		if _, err := tx.Exec(ctx, `UPDATE groups SET name = $1, update_time = $2 WHERE id = $3`, g.Name, now,
			g.ID); err != nil {
			return groupUniqueError(err, api.Group{ID: g.ID, Name: g.Name, Provider: old.Provider})
		}
		if g.UserIDs != nil {
			if err := setGroupMembers(ctx, tx, g.ID, g.Name, old.Provider, idSet(g.UserIDs)); err != nil {
				return err
			}
		}
		stored, err = scanGroup(tx.QueryRow(ctx, selectGroup, g.ID))
		return err
	})
	if err != nil {
		return api.Group{}, wrap(err, "postgres: update group %q", g.ID)
	}
	return stored, nil
}

// DeleteGroup removes a group; ErrNotFound if absent, ErrConflict if built in, if it has members or if a role is
// bound to it, naming the members and bindings in the way.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var name string
		var builtin bool
		err := tx.QueryRow(ctx, `SELECT name, builtin FROM groups WHERE id = $1`, id).Scan(&name, &builtin)
		if missing(err) {
			return notFoundf("group %q not found", id)
		}
		if err != nil {
			return err
		}
		if builtin {
			return conflictf("group %q is built in and cannot be deleted", name)
		}
		members, err := column[string](ctx, tx, `SELECT u.username FROM group_members m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = $1 ORDER BY u.username`, id)
		if err != nil {
			return err
		}
		bindings, err := column[string](ctx, tx, `SELECT name FROM role_bindings WHERE group_id = $1 ORDER BY name`, id)
		if err != nil {
			return err
		}
		var inTheWay []string
		if len(members) > 0 {
			inTheWay = append(inTheWay, store.Count(len(members), "member", "members"))
		}
		if len(bindings) > 0 {
			inTheWay = append(inTheWay, store.Count(len(bindings), "role binding", "role bindings"))
		}
		if len(inTheWay) > 0 {
			return conflictf("group %q has %s", name, strings.Join(inTheWay, " and "))
		}
		_, err = tx.Exec(ctx, `DELETE FROM groups WHERE id = $1`, id)
		return err
	})
	return wrap(err, "postgres: delete group %q", id)
}

const selectGroup = `SELECT ` + groupCols + ` FROM groups WHERE id = $1`

// groupUniqueError turns a violated constraint on writing g into ErrConflict.
func groupUniqueError(err error, g api.Group) error {
	switch violated(err) {
	case "":
		return err
	case "groups_pkey":
		return conflictf("group id %q already exists", g.ID)
	}
	return conflictf("group %q of provider %q already exists", g.Name, g.Provider)
}

func scanGroup(row pgx.Row) (api.Group, error) {
	var g api.Group
	var created, updated time.Time
	if err := row.Scan(&g.ID, &g.Name, &g.Provider, &g.Builtin, &created, &updated, &g.UserIDs, &g.RoleIDs); err != nil {
		return api.Group{}, err
	}
	g.CreateTime, g.UpdateTime = created.UTC(), updated.UTC()
	g.UserIDs, g.RoleIDs = nonNil(g.UserIDs), nonNil(g.RoleIDs)
	return g, nil
}
