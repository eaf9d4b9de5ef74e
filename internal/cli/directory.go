package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// directory is a snapshot of the server's identity objects, read by listing, for finding objects by name: the
// API addresses users, groups and role bindings only by their server-assigned ids.
type directory struct {
	users    []api.User
	groups   []api.Group
	roles    []api.Role
	bindings []api.RoleBinding
}

// Which lists loadDirectory reads.
const (
	dirUsers = 1 << iota
	dirGroups
	dirRoles
	dirBindings
)

// loadDirectory lists what which asks for.
func loadDirectory(ctx context.Context, c *client.Client, which int) (*directory, error) {
	d := &directory{}
	var err error
	if which&dirUsers != 0 {
		if d.users, err = c.ListUsers(ctx); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
	}
	if which&dirGroups != 0 {
		if d.groups, err = c.ListGroups(ctx); err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
	}
	if which&dirRoles != 0 {
		if d.roles, err = c.ListRoles(ctx); err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
	}
	if which&dirBindings != 0 {
		if d.bindings, err = c.ListRoleBindings(ctx); err != nil {
			return nil, fmt.Errorf("list role bindings: %w", err)
		}
	}
	return d, nil
}

// user returns the user of provider named name.
func (d *directory) user(provider, name string) (api.User, bool) {
	i := slices.IndexFunc(d.users, func(u api.User) bool { return u.Provider == provider && u.Username == name })
	if i < 0 {
		return api.User{}, false
	}
	return d.users[i], true
}

// group returns the group of provider named name.
func (d *directory) group(provider, name string) (api.Group, bool) {
	i := slices.IndexFunc(d.groups, func(g api.Group) bool { return g.Provider == provider && g.Name == name })
	if i < 0 {
		return api.Group{}, false
	}
	return d.groups[i], true
}

// role returns the role named name.
func (d *directory) role(name string) (api.Role, bool) {
	i := slices.IndexFunc(d.roles, func(r api.Role) bool { return r.Name == name })
	if i < 0 {
		return api.Role{}, false
	}
	return d.roles[i], true
}

// binding returns the role binding named name.
func (d *directory) binding(name string) (api.RoleBinding, bool) {
	i := slices.IndexFunc(d.bindings, func(b api.RoleBinding) bool { return b.Name == name })
	if i < 0 {
		return api.RoleBinding{}, false
	}
	return d.bindings[i], true
}

// putUser records u, replacing the user of the same id.
func (d *directory) putUser(u api.User) {
	d.users = put(d.users, u, func(x api.User) string { return x.ID })
}

// putGroup records g, replacing the group of the same id.
func (d *directory) putGroup(g api.Group) {
	d.groups = put(d.groups, g, func(x api.Group) string { return x.ID })
}

// putRole records r, replacing the role of the same id.
func (d *directory) putRole(r api.Role) {
	d.roles = put(d.roles, r, func(x api.Role) string { return x.ID })
}

func put[T any](s []T, v T, id func(T) string) []T {
	if i := slices.IndexFunc(s, func(x T) bool { return id(x) == id(v) }); i >= 0 {
		s[i] = v
		return s
	}
	return append(s, v)
}

// names maps ids to names, for tables; an id it does not know stays as it is.
type names map[string]string

// of returns the names of ids, sorted and joined with commas.
func (n names) of(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if name, ok := n[id]; ok {
			out[i] = name
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func userNames(us []api.User) names {
	n := names{}
	for _, u := range us {
		n[u.ID] = u.Username
	}
	return n
}

func groupNames(gs []api.Group) names {
	n := names{}
	for _, g := range gs {
		n[g.ID] = g.Name
	}
	return n
}

func roleNames(rs []api.Role) names {
	n := names{}
	for _, r := range rs {
		n[r.ID] = r.Name
	}
	return n
}

// notFound is an object the CLI looked for in a list and did not find: it matches client.ErrNotFound, as the
// server's 404 does.
type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == client.ErrNotFound }

// pick finds the object a command-line argument names: the one whose id is key, else the one whose name is key.
// Several with the name (users or groups of different providers) is an error asking for the id.
func pick[T any](kind, key string, items []T, id, name func(T) string) (T, error) {
	var zero T
	if i := slices.IndexFunc(items, func(x T) bool { return id(x) == key }); i >= 0 {
		return items[i], nil
	}
	var found []T
	for _, x := range items {
		if name(x) == key {
			found = append(found, x)
		}
	}
	switch len(found) {
	case 0:
		return zero, notFound(fmt.Sprintf("%s %q not found", kind, key))
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, x := range found {
		ids[i] = id(x)
	}
	return zero, fmt.Errorf("%d %ss are named %q: name one by its id (%s)", len(found), kind, key, strings.Join(ids, ", "))
}

// findUser returns the user whose id or username is key.
func findUser(ctx context.Context, c *client.Client, key string) (api.User, error) {
	us, err := c.ListUsers(ctx)
	if err != nil {
		return api.User{}, err
	}
	return pick("user", key, us, func(u api.User) string { return u.ID }, func(u api.User) string { return u.Username })
}

// findGroup returns the group whose id or name is key.
func findGroup(ctx context.Context, c *client.Client, key string) (api.Group, error) {
	gs, err := c.ListGroups(ctx)
	if err != nil {
		return api.Group{}, err
	}
	return pick("group", key, gs, func(g api.Group) string { return g.ID }, func(g api.Group) string { return g.Name })
}

// findBinding returns the role binding whose id or name is key.
func findBinding(ctx context.Context, c *client.Client, key string) (api.RoleBinding, error) {
	bs, err := c.ListRoleBindings(ctx)
	if err != nil {
		return api.RoleBinding{}, err
	}
	return pick("role binding", key, bs, func(b api.RoleBinding) string { return b.ID },
		func(b api.RoleBinding) string { return b.Name })
}
