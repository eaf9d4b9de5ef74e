package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// selectBinding reads bindings with the names of their role and group.
const selectBinding = `SELECT b.id, b.name, b.role_id, b.group_id, r.name, g.provider, g.name, b.builtin,
	b.create_time, b.update_time
	FROM role_bindings b JOIN roles r ON r.id = b.role_id JOIN groups g ON g.id = b.group_id`

// CreateRoleBinding stores a binding of b.RoleID to b.GroupID (the name fields are ignored); ErrConflict if the
// name or id is taken or the role is already bound to the group, ErrInvalid if the role or group does not exist.
func (s *Store) CreateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error) {
	if b.ID == "" {
		b.ID = uuid.NewString()
	}
	store.SetAuditTarget(ctx, b.ID)
	now := s.now()
	b.CreateTime, b.UpdateTime = storedTime(b.CreateTime, now), storedTime(b.UpdateTime, now)
	var stored api.RoleBinding
	err := s.write(ctx, func(tx *wtx) error {
		if err := tx.checkBinding(b); err != nil {
			return err
		}
		_, err := tx.exec(insertBinding, b.ID, b.Name, b.RoleID, b.GroupID, b.Builtin, toNanos(b.CreateTime),
			toNanos(b.UpdateTime))
		if err != nil {
			return bindingUniqueError(err, b)
		}
		stored, err = scanBinding(tx.queryRow(selectBindingByID, b.ID))
		return err
	}, bindingWrites...)
	if err != nil {
		return api.RoleBinding{}, wrap(err, "sqlite: create role binding %q", b.Name)
	}
	return stored, nil
}

// GetRoleBinding returns a binding by id; ErrNotFound if absent.
func (s *Store) GetRoleBinding(ctx context.Context, id string) (api.RoleBinding, error) {
	return getOne(ctx, s.rs, scanBinding, notFoundf("role binding %q not found", id),
		fmt.Sprintf("sqlite: get role binding %q", id), selectBindingByID, id)
}

// ListRoleBindings returns every binding ordered by name; never nil.
func (s *Store) ListRoleBindings(ctx context.Context) ([]api.RoleBinding, error) {
	return listAll(ctx, s.rs, scanBinding, "sqlite: list role bindings", selectBinding+` ORDER BY b.name`)
}

// UpdateRoleBinding replaces the name, role and group of the binding b.ID; ErrNotFound if absent, ErrConflict if
// built in, if the name is taken or if the role is already bound to the group, ErrInvalid if the role or group
// does not exist.
func (s *Store) UpdateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error) {
	now := toNanos(s.now())
	var stored api.RoleBinding
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.notBuiltin(bindingBuiltin, "role binding", b.ID, "changed"); err != nil {
			return err
		}
		if err := tx.checkBinding(b); err != nil {
			return err
		}
		if _, err := tx.exec(updateBinding, b.Name, b.RoleID, b.GroupID, now, b.ID); err != nil {
			return bindingUniqueError(err, b)
		}
		var err error
		stored, err = scanBinding(tx.queryRow(selectBindingByID, b.ID))
		return err
	}, bindingWrites...)
	if err != nil {
		return api.RoleBinding{}, wrap(err, "sqlite: update role binding %q", b.ID)
	}
	return stored, nil
}

// DeleteRoleBinding removes a binding; ErrNotFound if absent, ErrConflict if built in.
func (s *Store) DeleteRoleBinding(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.notBuiltin(bindingBuiltin, "role binding", id, "deleted"); err != nil {
			return err
		}
		_, err := tx.exec(deleteBinding, id)
		return err
	}, bindingBuiltin, deleteBinding)
	return wrap(err, "sqlite: delete role binding %q", id)
}

// checkBinding checks that b's role and group exist (ErrInvalid) and that no other binding binds the role to the
// group (ErrConflict, naming that binding).
func (t *wtx) checkBinding(b api.RoleBinding) error {
	var role, group string
	err := t.queryRow(roleName, b.RoleID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return invalidf("role %q does not exist", b.RoleID)
	}
	if err != nil {
		return err
	}
	err = t.queryRow(groupName, b.GroupID).Scan(&group)
	if errors.Is(err, sql.ErrNoRows) {
		return invalidf("group %q does not exist", b.GroupID)
	}
	if err != nil {
		return err
	}
	var other string
	err = t.queryRow(bindingOfPair, b.RoleID, b.GroupID, b.ID).Scan(&other)
	if err == nil {
		return conflictf("role %q is already bound to group %q by another role binding", role, group)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

const (
	insertBinding = `INSERT INTO role_bindings (id, name, role_id, group_id, builtin, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	selectBindingByID = selectBinding + ` WHERE b.id = ?`
	updateBinding     = `UPDATE role_bindings SET name = ?, role_id = ?, group_id = ?, update_time = ? WHERE id = ?`
	bindingBuiltin    = `SELECT name, builtin FROM role_bindings WHERE id = ?`
	deleteBinding     = `DELETE FROM role_bindings WHERE id = ?`
	roleName          = `SELECT name FROM roles WHERE id = ?`
	groupName         = `SELECT name FROM groups WHERE id = ?`
	bindingOfPair     = `SELECT name FROM role_bindings WHERE role_id = ? AND group_id = ? AND id != ?`
)

// bindingWrites are the statements CreateRoleBinding and UpdateRoleBinding run.
var bindingWrites = []string{insertBinding, selectBindingByID, updateBinding, bindingBuiltin, roleName, groupName,
	bindingOfPair}

// bindingUniqueError turns a violated constraint on writing b into ErrConflict. checkBinding has ruled out the
// (role, group) pair, so a UNIQUE constraint is the name's.
func bindingUniqueError(err error, b api.RoleBinding) error {
	switch {
	case isPrimaryKey(err):
		return conflictf("role binding id %q already exists", b.ID)
	case isUnique(err):
		return conflictf("role binding %q already exists", b.Name)
	}
	return err
}

func scanBinding(row scanner) (api.RoleBinding, error) {
	var b api.RoleBinding
	var created, updated int64
	if err := row.Scan(&b.ID, &b.Name, &b.RoleID, &b.GroupID, &b.RoleName, &b.SubjectProvider, &b.SubjectName,
		&b.Builtin, &created, &updated); err != nil {
		return api.RoleBinding{}, err
	}
	b.SubjectKind, b.SubjectID = api.SubjectKindGroups, b.GroupID
	b.CreateTime, b.UpdateTime = fromNanos(created), fromNanos(updated)
	return b, nil
}
