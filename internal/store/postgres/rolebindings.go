package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// selectBinding reads bindings with the names of their role and group.
const selectBinding = `SELECT b.id, b.name, b.role_id, b.group_id, r.name, g.provider, g.name, b.builtin,
	b.create_time, b.update_time
	FROM role_bindings b JOIN roles r ON r.id = b.role_id JOIN groups g ON g.id = b.group_id`

const selectBindingByID = selectBinding + ` WHERE b.id = $1`

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
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := checkBinding(ctx, tx, b); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO role_bindings (id, name, role_id, group_id, builtin, create_time,
			update_time) VALUES ($1, $2, $3, $4, $5, $6, $7)`, b.ID, b.Name, b.RoleID, b.GroupID, b.Builtin,
			b.CreateTime, b.UpdateTime)
		if err != nil {
			return bindingUniqueError(err, b)
		}
		stored, err = scanBinding(tx.QueryRow(ctx, selectBindingByID, b.ID))
		return err
	})
	if err != nil {
		return api.RoleBinding{}, wrap(err, "postgres: create role binding %q", b.Name)
	}
	return stored, nil
}

// GetRoleBinding returns a binding by id; ErrNotFound if absent.
func (s *Store) GetRoleBinding(ctx context.Context, id string) (api.RoleBinding, error) {
	b, err := scanBinding(s.pool.QueryRow(ctx, selectBindingByID, id))
	if missing(err) {
		return api.RoleBinding{}, notFoundf("role binding %q not found", id)
	}
	if err != nil {
		return api.RoleBinding{}, wrap(err, "postgres: get role binding %q", id)
	}
	return b, nil
}

// ListRoleBindings returns every binding ordered by name; never nil.
func (s *Store) ListRoleBindings(ctx context.Context) ([]api.RoleBinding, error) {
	rows, err := s.pool.Query(ctx, selectBinding+` ORDER BY b.name`)
	if err != nil {
		return nil, wrap(err, "postgres: list role bindings")
	}
	bs, err := collect(rows, scanBinding)
	if err != nil {
		return nil, wrap(err, "postgres: list role bindings")
	}
	return bs, nil
}

// UpdateRoleBinding replaces the name, role and group of the binding b.ID; ErrNotFound if absent, ErrConflict if
// built in, if the name is taken or if the role is already bound to the group, ErrInvalid if the role or group
// does not exist.
func (s *Store) UpdateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error) {
	now := s.now()
	var stored api.RoleBinding
	err := s.write(ctx, func(tx pgx.Tx) error {
		var name string
		var builtin bool
		err := tx.QueryRow(ctx, `SELECT name, builtin FROM role_bindings WHERE id = $1`, b.ID).Scan(&name, &builtin)
		if missing(err) {
			return notFoundf("role binding %q not found", b.ID)
		}
		if err != nil {
			return err
		}
		if builtin {
			return conflictf("role binding %q is built in and cannot be changed", name)
		}
		if err := checkBinding(ctx, tx, b); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE role_bindings SET name = $1, role_id = $2, group_id = $3, update_time = $4
			WHERE id = $5`, b.Name, b.RoleID, b.GroupID, now, b.ID); err != nil {
			return bindingUniqueError(err, b)
		}
		stored, err = scanBinding(tx.QueryRow(ctx, selectBindingByID, b.ID))
		return err
	})
	if err != nil {
		return api.RoleBinding{}, wrap(err, "postgres: update role binding %q", b.ID)
	}
	return stored, nil
}

// DeleteRoleBinding removes a binding; ErrNotFound if absent, ErrConflict if built in.
func (s *Store) DeleteRoleBinding(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var name string
		var builtin bool
		err := tx.QueryRow(ctx, `SELECT name, builtin FROM role_bindings WHERE id = $1`, id).Scan(&name, &builtin)
		if missing(err) {
			return notFoundf("role binding %q not found", id)
		}
		if err != nil {
			return err
		}
		if builtin {
			return conflictf("role binding %q is built in and cannot be deleted", name)
		}
		_, err = tx.Exec(ctx, `DELETE FROM role_bindings WHERE id = $1`, id)
		return err
	})
	return wrap(err, "postgres: delete role binding %q", id)
}

// checkBinding checks that b's role and group exist (ErrInvalid) and that no other binding binds the role to the
// group (ErrConflict, naming that binding).
func checkBinding(ctx context.Context, tx pgx.Tx, b api.RoleBinding) error {
	var role, group string
	err := tx.QueryRow(ctx, `SELECT name FROM roles WHERE id = $1`, b.RoleID).Scan(&role)
	if missing(err) {
		return invalidf("role %q does not exist", b.RoleID)
	}
	if err != nil {
		return err
	}
	err = tx.QueryRow(ctx, `SELECT name FROM groups WHERE id = $1`, b.GroupID).Scan(&group)
	if missing(err) {
		return invalidf("group %q does not exist", b.GroupID)
	}
	if err != nil {
		return err
	}
	var other string
	err = tx.QueryRow(ctx, `SELECT name FROM role_bindings WHERE role_id = $1 AND group_id = $2 AND id <> $3`,
		b.RoleID, b.GroupID, b.ID).Scan(&other)
	if err == nil {
		return conflictf("role %q is already bound to group %q by another role binding", role, group)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return nil
}

// bindingUniqueError turns a violated constraint on writing b into ErrConflict. checkBinding has ruled out the
// (role, group) pair, so a unique constraint is the name's.
func bindingUniqueError(err error, b api.RoleBinding) error {
	switch violated(err) {
	case "":
		return err
	case "role_bindings_pkey":
		return conflictf("role binding id %q already exists", b.ID)
	}
	return conflictf("role binding %q already exists", b.Name)
}

func scanBinding(row pgx.Row) (api.RoleBinding, error) {
	var b api.RoleBinding
	var created, updated time.Time
	if err := row.Scan(&b.ID, &b.Name, &b.RoleID, &b.GroupID, &b.RoleName, &b.SubjectProvider, &b.SubjectName,
		&b.Builtin, &created, &updated); err != nil {
		return api.RoleBinding{}, err
	}
	b.SubjectKind, b.SubjectID = api.SubjectKindGroups, b.GroupID
	b.CreateTime, b.UpdateTime = created.UTC(), updated.UTC()
	return b, nil
}
