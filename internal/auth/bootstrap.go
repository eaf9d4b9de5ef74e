package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Built-in objects EnsureBuiltins creates.
const (
	RootUser   = "root"
	AdminGroup = "Admin"
	AdminRole  = "Admin"
	// AdminBinding binds AdminRole to AdminGroup.
	AdminBinding = "Admin"
)

// BootstrapStore is the slice of the store EnsureBuiltins needs.
type BootstrapStore interface {
	store.Users
	store.Groups
	store.Roles
	store.RoleBindings
}

// WriteAllRole names the built-in role that grants write on every object of resource, e.g. WriteAllRunners.
func WriteAllRole(resource string) string {
	var b strings.Builder
	b.WriteString("WriteAll")
	for _, part := range strings.Split(resource, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// RootPassword is what the server was configured with for root: RUNPLANE_ROOT_PASSWORD, and whether to reset
// root's password to it (--reset-root-password).
type RootPassword struct {
	Password string
	Reset    bool
}

// Bootstrap is what EnsureBuiltins did about root's password.
type Bootstrap struct {
	// Generated is the random password root was created with, to be shown once; "" when it was configured.
	Generated string
	// Reset: root's password was reset to the configured one, as asked.
	Reset bool
	// Ignored: a password was configured but is not root's (root's was changed since); it was left alone.
	Ignored bool
}

// EnsureBuiltins creates what a fresh server needs and is idempotent: the local user root, the group Admin with
// root in it, the role Admin (write on everything), the binding of Admin to Admin, and one WriteAll<Resource> role
// per resource. Several replicas may run it at once.
//
// Root is created with the configured password or, when there is none, a random one that is returned so the
// caller can show it once; there is no fixed default. Later, root's password is whatever it was changed to: the
// configured password replaces it only when Reset asks (how a lost root password is recovered; whoever may set
// the server's configuration controls the server anyway). The password is never logged.
func EnsureBuiltins(ctx context.Context, st BootstrapStore, rp RootPassword) (Bootstrap, error) {
	root, res, err := ensureRoot(ctx, st, rp)
	if err != nil {
		return Bootstrap{}, err
	}
	group, err := ensure(ctx, "group "+AdminGroup,
		func() (api.Group, error) { return st.GetGroupByName(ctx, api.ProviderLocal, AdminGroup) },
		func() (api.Group, error) {
			return st.CreateGroup(ctx, api.Group{Name: AdminGroup, Provider: api.ProviderLocal, UserIDs: []string{root.ID}, Builtin: true})
		})
	if err != nil {
		return Bootstrap{}, err
	}
	if !slices.Contains(root.Groups, group.ID) && !slices.Contains(group.UserIDs, root.ID) {
		// Root was taken out of Admin: put it back, or nobody may be able to administer the server.
		if err := st.SetUserGroups(ctx, root.ID, append(root.Groups, group.ID)); err != nil {
			return Bootstrap{}, fmt.Errorf("auth: put root in %s: %w", AdminGroup, err)
		}
	}
	role, err := ensureRole(ctx, st, api.Role{Name: AdminRole, Resource: api.ResourceAll, ResourceIDs: []string{api.AllIDs}, Access: api.AccessWrite})
	if err != nil {
		return Bootstrap{}, err
	}
	for _, res := range api.Resources {
		r := api.Role{Name: WriteAllRole(res), Resource: res, ResourceIDs: []string{api.AllIDs}, Access: api.AccessWrite}
		if _, err := ensureRole(ctx, st, r); err != nil {
			return Bootstrap{}, err
		}
	}
	_, err = ensure(ctx, "role binding "+AdminBinding,
		func() (api.RoleBinding, error) {
			all, err := st.ListRoleBindings(ctx)
			if err != nil {
				return api.RoleBinding{}, err
			}
			for _, b := range all {
				if b.Name == AdminBinding {
					return b, nil
				}
			}
			return api.RoleBinding{}, store.ErrNotFound
		},
		func() (api.RoleBinding, error) {
			return st.CreateRoleBinding(ctx, api.RoleBinding{Name: AdminBinding, RoleID: role.ID, GroupID: group.ID, Builtin: true})
		})
	if err != nil {
		return Bootstrap{}, err
	}
	return res, nil
}

func ensureRole(ctx context.Context, st BootstrapStore, r api.Role) (api.Role, error) {
	r.Builtin = true
	return ensure(ctx, "role "+r.Name,
		func() (api.Role, error) { return st.GetRoleByName(ctx, r.Name) },
		func() (api.Role, error) { return st.CreateRole(ctx, r) })
}

// ensure gets an object, creating it when absent; a conflict on create means another replica created it first.
func ensure[T any](ctx context.Context, what string, get, create func() (T, error)) (T, error) {
	v, err := get()
	if errors.Is(err, store.ErrNotFound) {
		v, err = create()
		if errors.Is(err, store.ErrConflict) {
			v, err = get()
		}
	}
	if err != nil {
		return v, fmt.Errorf("auth: ensure %s: %w", what, err)
	}
	return v, nil
}

func ensureRoot(ctx context.Context, users store.Users, rp RootPassword) (store.User, Bootstrap, error) {
	u, err := users.GetUserByName(ctx, api.ProviderLocal, RootUser)
	switch {
	case err == nil:
		if rp.Password == "" {
			return u, Bootstrap{}, nil
		}
		if ok, verr := VerifyPassword(u.PasswordHash, rp.Password); verr == nil && ok {
			return u, Bootstrap{}, nil
		}
		if !rp.Reset {
			return u, Bootstrap{Ignored: true}, nil
		}
		hash, err := HashPassword(rp.Password)
		if err != nil {
			return u, Bootstrap{}, err
		}
		if err := users.SetPassword(ctx, u.ID, hash); err != nil {
			return u, Bootstrap{}, fmt.Errorf("auth: reset root password: %w", err)
		}
		return u, Bootstrap{Reset: true}, nil
	case !errors.Is(err, store.ErrNotFound):
		return u, Bootstrap{}, fmt.Errorf("auth: look up root: %w", err)
	}
	var res Bootstrap
	password := rp.Password
	if password == "" {
		password = rand.Text()
		res.Generated = password
	}
	hash, err := HashPassword(password)
	if err != nil {
		return u, Bootstrap{}, err
	}
	u, err = users.CreateUser(ctx, store.User{
		User:         api.User{Username: RootUser, Provider: api.ProviderLocal, Builtin: true},
		PasswordHash: hash,
	})
	if errors.Is(err, store.ErrConflict) {
		// Another replica created root first; its password stands.
		u, err = users.GetUserByName(ctx, api.ProviderLocal, RootUser)
		return u, Bootstrap{}, err
	}
	if err != nil {
		return u, Bootstrap{}, fmt.Errorf("auth: create root: %w", err)
	}
	return u, res, nil
}
