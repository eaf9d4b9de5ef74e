package sqlite

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const roleCols = `id, name, resource, resource_ids, access, builtin, create_time, update_time`

// CreateRole stores a role; ErrConflict if the name or id is taken.
func (s *Store) CreateRole(ctx context.Context, r api.Role) (api.Role, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	store.SetAuditTarget(ctx, r.ID)
	now := s.now()
	r.CreateTime, r.UpdateTime = storedTime(r.CreateTime, now), storedTime(r.UpdateTime, now)
	if r.ResourceIDs == nil {
		r.ResourceIDs = []string{}
	}
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertRole, r.ID, r.Name, r.Resource, encodeIDs(r.ResourceIDs), string(r.Access), r.Builtin,
			toNanos(r.CreateTime), toNanos(r.UpdateTime))
		return roleUniqueError(err, r)
	}, insertRole)
	if err != nil {
		return api.Role{}, wrap(err, "sqlite: create role %q", r.Name)
	}
	return r, nil
}

// GetRole returns a role by id; ErrNotFound if absent.
func (s *Store) GetRole(ctx context.Context, id string) (api.Role, error) {
	return getOne(ctx, s.rs, scanRole, notFoundf("role %q not found", id), fmt.Sprintf("sqlite: get role %q", id),
		`SELECT `+roleCols+` FROM roles WHERE id = ?`, id)
}

// GetRoleByName returns a role by name; ErrNotFound if absent.
func (s *Store) GetRoleByName(ctx context.Context, name string) (api.Role, error) {
	return getOne(ctx, s.rs, scanRole, notFoundf("role named %q not found", name),
		fmt.Sprintf("sqlite: get role named %q", name), `SELECT `+roleCols+` FROM roles WHERE name = ?`, name)
}

// ListRoles returns every role ordered by name; never nil.
func (s *Store) ListRoles(ctx context.Context) ([]api.Role, error) {
	return listAll(ctx, s.rs, scanRole, "sqlite: list roles", `SELECT `+roleCols+` FROM roles ORDER BY name`)
}

// UpdateRole replaces the role r.ID; ErrNotFound if absent, ErrConflict if built in or the new name is taken.
func (s *Store) UpdateRole(ctx context.Context, r api.Role) (api.Role, error) {
	now := toNanos(s.now())
	var stored api.Role
	err := s.write(ctx, func(tx *wtx) error {
		_, err := tx.notBuiltin(roleBuiltin, "role", r.ID, "changed")
		if err != nil {
			return err
		}
		stored, err = scanRole(tx.queryRow(updateRole, r.Name, r.Resource, encodeIDs(r.ResourceIDs), string(r.Access),
			now, r.ID))
		return roleUniqueError(err, r)
	}, roleBuiltin, updateRole)
	if err != nil {
		return api.Role{}, wrap(err, "sqlite: update role %q", r.ID)
	}
	return stored, nil
}

// DeleteRole removes a role; ErrNotFound if absent, ErrConflict if built in or bound (naming the bindings).
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *wtx) error {
		name, err := tx.notBuiltin(roleBuiltin, "role", id, "deleted")
		if err != nil {
			return err
		}
		bindings, err := tx.strings(roleBindingNames, id)
		if err != nil {
			return err
		}
		if len(bindings) > 0 {
			return conflictf("role %q is bound by %s", name, store.Count(len(bindings), "role binding", "role bindings"))
		}
		_, err = tx.exec(deleteRole, id)
		return err
	}, roleBuiltin, roleBindingNames, deleteRole)
	return wrap(err, "sqlite: delete role %q", id)
}

const (
	insertRole = `INSERT INTO roles (` + roleCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	updateRole = `UPDATE roles SET name = ?, resource = ?, resource_ids = ?, access = ?, update_time = ?
		WHERE id = ? RETURNING ` + roleCols
	roleBuiltin      = `SELECT name, builtin FROM roles WHERE id = ?`
	roleBindingNames = `SELECT name FROM role_bindings WHERE role_id = ? ORDER BY name`
	deleteRole       = `DELETE FROM roles WHERE id = ?`
)

// roleUniqueError turns a violated constraint on writing r into ErrConflict.
func roleUniqueError(err error, r api.Role) error {
	switch {
	case isPrimaryKey(err):
		return conflictf("role id %q already exists", r.ID)
	case isUnique(err):
		return conflictf("role %q already exists", r.Name)
	}
	return err
}

func scanRole(row scanner) (api.Role, error) {
	var r api.Role
	var ids, access string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Name, &r.Resource, &ids, &access, &r.Builtin, &created, &updated); err != nil {
		return api.Role{}, err
	}
	r.Access = api.Access(access)
	r.CreateTime, r.UpdateTime = fromNanos(created), fromNanos(updated)
	var err error
	if r.ResourceIDs, err = decodeIDs("resource ids of role "+r.ID, ids); err != nil {
		return api.Role{}, err
	}
	return r, nil
}
