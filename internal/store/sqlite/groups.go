package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// groupCols reads a whole group in one row: its members and the roles bound to it as JSON arrays ordered by id.
const groupCols = `id, name, provider, builtin, create_time, update_time,
	(SELECT json_group_array(user_id ORDER BY user_id) FROM group_members WHERE group_id = groups.id),
	(SELECT json_group_array(role_id ORDER BY role_id) FROM role_bindings WHERE group_id = groups.id)`

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
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertGroup, g.ID, g.Name, g.Provider, g.Builtin, toNanos(g.CreateTime), toNanos(g.UpdateTime))
		if err != nil {
			return groupUniqueError(err, g)
		}
		if setMembers {
			return tx.setGroupMembers(g.ID, g.Name, g.Provider, g.UserIDs)
		}
		return nil
	}, groupWrites...)
	if err != nil {
		return api.Group{}, wrap(err, "sqlite: create group %q", g.Name)
	}
	return g, nil
}

// GetGroup returns a group by id; ErrNotFound if absent.
func (s *Store) GetGroup(ctx context.Context, id string) (api.Group, error) {
	return getOne(ctx, s.rs, scanGroup, notFoundf("group %q not found", id), fmt.Sprintf("sqlite: get group %q", id),
		selectGroup, id)
}

// GetGroupByName returns a group; ErrNotFound if absent.
func (s *Store) GetGroupByName(ctx context.Context, provider, name string) (api.Group, error) {
	return getOne(ctx, s.rs, scanGroup, notFoundf("group %q of provider %q not found", name, provider),
		fmt.Sprintf("sqlite: get group %q", name),
		`SELECT `+groupCols+` FROM groups WHERE provider = ? AND name = ?`, provider, name)
}

// ListGroups returns every group ordered by provider then name; never nil.
func (s *Store) ListGroups(ctx context.Context) ([]api.Group, error) {
	return listAll(ctx, s.rs, scanGroup, "sqlite: list groups",
		`SELECT `+groupCols+` FROM groups ORDER BY provider, name`)
}

// UpdateGroup renames the group g.ID and, when g.UserIDs is not nil, replaces its members; Provider and RoleIDs
// are ignored. ErrNotFound if absent, ErrConflict if the new name is taken or a built-in group would be renamed,
// ErrInvalid if a member does not exist or belongs to another provider.
func (s *Store) UpdateGroup(ctx context.Context, g api.Group) (api.Group, error) {
	now := toNanos(s.now())
	var stored api.Group
	err := s.write(ctx, func(tx *wtx) error {
		old, err := scanGroup(tx.queryRow(selectGroup, g.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("group %q not found", g.ID)
		}
		if err != nil {
			return err
		}
		if old.Builtin && g.Name != old.Name {
			return conflictf("group %q is built in and cannot be renamed", old.Name)
		}
		if _, err := tx.exec(updateGroup, g.Name, now, g.ID); err != nil {
			return groupUniqueError(err, api.Group{ID: g.ID, Name: g.Name, Provider: old.Provider})
		}
		if g.UserIDs != nil {
			if err := tx.setGroupMembers(g.ID, g.Name, old.Provider, idSet(g.UserIDs)); err != nil {
				return err
			}
		}
		stored, err = scanGroup(tx.queryRow(selectGroup, g.ID))
		return err
	}, groupWrites...)
	if err != nil {
		return api.Group{}, wrap(err, "sqlite: update group %q", g.ID)
	}
	return stored, nil
}

// DeleteGroup removes a group; ErrNotFound if absent, ErrConflict if built in, if it has members or if a role is
// bound to it, naming the members and bindings in the way.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *wtx) error {
		name, err := tx.notBuiltin(groupBuiltin, "group", id, "deleted")
		if err != nil {
			return err
		}
		members, err := tx.strings(groupMemberNames, id)
		if err != nil {
			return err
		}
		bindings, err := tx.strings(groupBindingNames, id)
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
		_, err = tx.exec(deleteGroup, id)
		return err
	}, groupBuiltin, groupMemberNames, groupBindingNames, deleteGroup)
	return wrap(err, "sqlite: delete group %q", id)
}

const (
	insertGroup = `INSERT INTO groups (id, name, provider, builtin, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?)`
	selectGroup      = `SELECT ` + groupCols + ` FROM groups WHERE id = ?`
	updateGroup      = `UPDATE groups SET name = ?, update_time = ? WHERE id = ?`
	groupBuiltin     = `SELECT name, builtin FROM groups WHERE id = ?`
	groupMemberNames = `SELECT u.username FROM group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? ORDER BY u.username`
	groupBindingNames = `SELECT name FROM role_bindings WHERE group_id = ? ORDER BY name`
	deleteGroup       = `DELETE FROM groups WHERE id = ?`
)

// groupWrites are the statements CreateGroup and UpdateGroup run.
var groupWrites = []string{insertGroup, selectGroup, updateGroup, memberUser, deleteGroupMembers, insertMember}

// groupUniqueError turns a violated constraint on writing g into ErrConflict.
func groupUniqueError(err error, g api.Group) error {
	switch {
	case isPrimaryKey(err):
		return conflictf("group id %q already exists", g.ID)
	case isUnique(err):
		return conflictf("group %q of provider %q already exists", g.Name, g.Provider)
	}
	return err
}

func scanGroup(row scanner) (api.Group, error) {
	var g api.Group
	var created, updated int64
	var users, roles string
	if err := row.Scan(&g.ID, &g.Name, &g.Provider, &g.Builtin, &created, &updated, &users, &roles); err != nil {
		return api.Group{}, err
	}
	g.CreateTime, g.UpdateTime = fromNanos(created), fromNanos(updated)
	var err error
	if g.UserIDs, err = decodeIDs("members of group "+g.ID, users); err != nil {
		return api.Group{}, err
	}
	if g.RoleIDs, err = decodeIDs("roles of group "+g.ID, roles); err != nil {
		return api.Group{}, err
	}
	return g, nil
}
