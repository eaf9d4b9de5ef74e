package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	r.ResourceIDs = nonNil(r.ResourceIDs)
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO roles (`+roleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, r.Name,
			r.Resource, r.ResourceIDs, string(r.Access), r.Builtin, r.CreateTime, r.UpdateTime)
		return roleUniqueError(err, r)
	})
	if err != nil {
		return api.Role{}, wrap(err, "postgres: create role %q", r.Name)
	}
	return r, nil
}

// GetRole returns a role by id; ErrNotFound if absent.
func (s *Store) GetRole(ctx context.Context, id string) (api.Role, error) {
	r, err := scanRole(s.pool.QueryRow(ctx, `SELECT `+roleCols+` FROM roles WHERE id = $1`, id))
	if missing(err) {
		return api.Role{}, notFoundf("role %q not found", id)
	}
	if err != nil {
		return api.Role{}, wrap(err, "postgres: get role %q", id)
	}
	return r, nil
}

// GetRoleByName returns a role by name; ErrNotFound if absent.
func (s *Store) GetRoleByName(ctx context.Context, name string) (api.Role, error) {
	r, err := scanRole(s.pool.QueryRow(ctx, `SELECT `+roleCols+` FROM roles WHERE name = $1`, name))
	if missing(err) {
		return api.Role{}, notFoundf("role named %q not found", name)
	}
	if err != nil {
		return api.Role{}, wrap(err, "postgres: get role named %q", name)
	}
	return r, nil
}

// ListRoles returns every role ordered by name; never nil.
func (s *Store) ListRoles(ctx context.Context) ([]api.Role, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roleCols+` FROM roles ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list roles")
	}
	rs, err := collect(rows, scanRole)
	if err != nil {
		return nil, wrap(err, "postgres: list roles")
	}
	return rs, nil
}

// UpdateRole replaces the role r.ID; ErrNotFound if absent, ErrConflict if built in or the new name is taken.
func (s *Store) UpdateRole(ctx context.Context, r api.Role) (api.Role, error) {
	now := s.now()
	var stored api.Role
	err := s.write(ctx, func(tx pgx.Tx) error {
		var name string
		var builtin bool
		err := tx.QueryRow(ctx, `SELECT name, builtin FROM roles WHERE id = $1`, r.ID).Scan(&name, &builtin)
		if missing(err) {
			return notFoundf("role %q not found", r.ID)
		}
		if err != nil {
			return err
		}
		if builtin {
			return conflictf("role %q is built in and cannot be changed", name)
		}
		stored, err = scanRole(tx.QueryRow(ctx, `UPDATE roles
			SET name = $1, resource = $2, resource_ids = $3, access = $4, update_time = $5
			WHERE id = $6 RETURNING `+roleCols, r.Name, r.Resource, nonNil(r.ResourceIDs), string(r.Access), now, r.ID))
		return roleUniqueError(err, r)
	})
	if err != nil {
		return api.Role{}, wrap(err, "postgres: update role %q", r.ID)
	}
	return stored, nil
}

// DeleteRole removes a role; ErrNotFound if absent, ErrConflict if built in or bound (naming the bindings).
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var name string
		var builtin bool
		err := tx.QueryRow(ctx, `SELECT name, builtin FROM roles WHERE id = $1`, id).Scan(&name, &builtin)
		if missing(err) {
			return notFoundf("role %q not found", id)
		}
		if err != nil {
			return err
		}
		if builtin {
			return conflictf("role %q is built in and cannot be deleted", name)
		}
		bindings, err := column[string](ctx, tx, `SELECT name FROM role_bindings WHERE role_id = $1 ORDER BY name`, id)
		if err != nil {
			return err
		}
		if len(bindings) > 0 {
			return conflictf("role %q is bound by %s", name, store.Count(len(bindings), "role binding", "role bindings"))
		}
		_, err = tx.Exec(ctx, `DELETE FROM roles WHERE id = $1`, id)
		return err
	})
	return wrap(err, "postgres: delete role %q", id)
}

// roleUniqueError turns a violated constraint on writing r into ErrConflict.
func roleUniqueError(err error, r api.Role) error {
	switch violated(err) {
	case "":
		return err
	case "roles_pkey":
		return conflictf("role id %q already exists", r.ID)
	}
	return conflictf("role %q already exists", r.Name)
}

func scanRole(row pgx.Row) (api.Role, error) {
	var r api.Role
	var access string
	var created, updated time.Time
	if err := row.Scan(&r.ID, &r.Name, &r.Resource, &r.ResourceIDs, &access, &r.Builtin, &created, &updated); err != nil {
		return api.Role{}, err
	}
	r.Access = api.Access(access)
	r.CreateTime, r.UpdateTime = created.UTC(), updated.UTC()
	r.ResourceIDs = nonNil(r.ResourceIDs)
	return r, nil
}
