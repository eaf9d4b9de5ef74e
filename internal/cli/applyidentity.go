package cli

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// identityApply brings users, groups, roles and role bindings in line with their documents. Documents name what
// they refer to; the server's objects are found by listing them, users and groups by provider and name.
//
// Membership may be declared on either side, a user's groups or a group's users, and both count: a user is meant
// to be in a group when either document says so. A side that is not declared (no groups, no users) is left as the
// server has it.
type identityApply struct {
	c        *client.Client
	dir      *directory
	users    []manifest
	groups   []manifest
	roles    []manifest
	bindings []manifest
	created  map[string]bool // refs of the groups this apply created
	// passwords are new passwords of existing users, set last: the server ends a user's sessions when their
	// password changes, and the user may be the one running this apply.
	passwords []manifest
}

// newIdentityApply lists the server's objects the documents of ms need and checks every name they use, before
// anything is changed. It returns nil when ms holds no identity documents.
func newIdentityApply(ctx context.Context, c *client.Client, ms []manifest) (*identityApply, error) {
	ia := &identityApply{c: c, created: map[string]bool{}}
	which := 0
	for _, m := range ms {
		switch m.kind {
		case kindUser:
			ia.users = append(ia.users, m)
			which |= dirUsers | dirGroups
		case kindGroup:
			ia.groups = append(ia.groups, m)
			which |= dirUsers | dirGroups
		case kindRole:
			ia.roles = append(ia.roles, m)
			which |= dirRoles
		case kindRoleBinding:
			ia.bindings = append(ia.bindings, m)
			which |= dirRoles | dirGroups | dirBindings
		}
	}
	if which == 0 {
		return nil, nil
	}
	var err error
	if ia.dir, err = loadDirectory(ctx, c, which); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	return ia, ia.check()
}

// check makes sure every group, user and role a document names exists on the server or is declared in the files,
// and that every new local user has a password.
func (ia *identityApply) check() error {
	for _, m := range ia.users {
		u := m.user
		if _, ok := ia.dir.user(u.Provider, u.Username); !ok && u.Provider == api.ProviderLocal && u.Password == "" {
			return fmt.Errorf("apply %s: %s: password is required to create a local user", m.source, m.ref())
		}
		for _, g := range u.Groups {
			if !ia.groupKnown(u.Provider, g) {
				return unknownRef(m, "group", g, u.Provider)
			}
		}
	}
	for _, m := range ia.groups {
		for _, u := range m.group.Users {
			if !ia.userKnown(m.group.Provider, u) {
				return unknownRef(m, "user", u, m.group.Provider)
			}
		}
	}
	for _, m := range ia.bindings {
		b := m.binding
		if !ia.roleKnown(b.Role) {
			return unknownRef(m, "role", b.Role, "")
		}
		if !ia.groupKnown(b.Provider, b.Group) {
			return unknownRef(m, "group", b.Group, b.Provider)
		}
	}
	return nil
}

func unknownRef(m manifest, kind, name, provider string) error {
	what := fmt.Sprintf("%s %q", kind, name)
	if provider != "" {
		what += " of provider " + provider
	}
	return fmt.Errorf("apply %s: %s: %s is neither on the server nor declared in the files", m.source, m.ref(), what)
}

func (ia *identityApply) groupKnown(provider, name string) bool {
	_, ok := ia.dir.group(provider, name)
	return ok || slices.ContainsFunc(ia.groups, func(m manifest) bool {
		return m.group.Provider == provider && m.group.Name == name
	})
}

func (ia *identityApply) userKnown(provider, name string) bool {
	_, ok := ia.dir.user(provider, name)
	return ok || slices.ContainsFunc(ia.users, func(m manifest) bool {
		return m.user.Provider == provider && m.user.Username == name
	})
}

func (ia *identityApply) roleKnown(name string) bool {
	_, ok := ia.dir.role(name)
	return ok || slices.ContainsFunc(ia.roles, func(m manifest) bool { return m.role.Name == name })
}

// apply makes the changes, writing one line per document to out: groups are created first (without members) so
// that users can join them, then users are applied, then group membership, roles and role bindings, and last the
// passwords of existing users.
func (ia *identityApply) apply(ctx context.Context, out io.Writer) error {
	steps := []struct {
		ms    []manifest
		apply func(context.Context, manifest) (string, error)
		print bool
	}{
		{ia.groups, ia.createGroup, false},
		{ia.users, ia.applyUser, true},
		{ia.groups, ia.applyMembers, true},
		{ia.roles, ia.applyRole, true},
		{ia.bindings, ia.applyBinding, true},
	}
	for _, s := range steps {
		for _, m := range s.ms {
			result, err := s.apply(ctx, m)
			if err != nil {
				return fmt.Errorf("apply %s: %s: %w", m.source, m.ref(), err)
			}
			if s.print {
				fmt.Fprintf(out, "%s %s\n", m.ref(), result)
			}
		}
	}
	for _, m := range ia.passwords { // collected by applyUser
		if err := ia.setPassword(ctx, m); err != nil {
			return fmt.Errorf("apply %s: %s: %w", m.source, m.ref(), err)
		}
	}
	return nil
}

// createGroup creates a declared group that does not exist yet, without members.
func (ia *identityApply) createGroup(ctx context.Context, m manifest) (string, error) {
	g := m.group
	if _, ok := ia.dir.group(g.Provider, g.Name); ok {
		return "", nil
	}
	got, err := ia.c.CreateGroup(ctx, api.Group{Name: g.Name, Provider: g.Provider})
	if err != nil {
		return "", err
	}
	ia.dir.putGroup(got)
	ia.created[m.ref()] = true
	return "created", nil
}

func (ia *identityApply) applyUser(ctx context.Context, m manifest) (string, error) {
	u := m.user
	var ids []string
	managed := u.Groups != nil
	if managed {
		var err error
		if ids, err = ia.groupIDs(u.Provider, ia.groupsOf(u)); err != nil {
			return "", err
		}
	}
	cur, ok := ia.dir.user(u.Provider, u.Username)
	if !ok {
		got, err := ia.c.CreateUser(ctx, api.User{Username: u.Username, Provider: u.Provider, Password: u.Password, Groups: ids})
		if err != nil {
			return "", err
		}
		ia.dir.putUser(got)
		return "created", nil
	}
	result := "unchanged"
	if u.Password != "" {
		ia.passwords = append(ia.passwords, m)
		result = "configured"
	}
	if !managed || sameSet(ids, cur.Groups) {
		return result, nil
	}
	got, err := ia.c.PatchUser(ctx, cur.ID, map[string]any{"groups": ids})
	if err != nil {
		return "", err
	}
	ia.dir.putUser(got)
	return "configured", nil
}

// setPassword sets the password of an existing user.
func (ia *identityApply) setPassword(ctx context.Context, m manifest) error {
	u, ok := ia.dir.user(m.user.Provider, m.user.Username)
	if !ok {
		return fmt.Errorf("user %q vanished during the apply", m.user.Username)
	}
	if _, err := ia.c.PatchUser(ctx, u.ID, map[string]any{"password": m.user.Password}); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// applyMembers sets the membership of a declared group whose document lists its users.
func (ia *identityApply) applyMembers(ctx context.Context, m manifest) (string, error) {
	g := m.group
	result := "unchanged"
	if ia.created[m.ref()] {
		result = "created"
	}
	cur, ok := ia.dir.group(g.Provider, g.Name)
	if !ok {
		return "", fmt.Errorf("group %q vanished during the apply", g.Name)
	}
	if g.Users == nil {
		return result, nil
	}
	ids, err := ia.userIDs(g.Provider, ia.usersOf(g))
	if err != nil {
		return "", err
	}
	// Applying users may have changed the membership: compare with the server's current view.
	if cur, err = ia.c.GetGroup(ctx, cur.ID); err != nil {
		return "", err
	}
	if sameSet(ids, cur.UserIDs) {
		return result, nil
	}
	got, err := ia.c.PatchGroup(ctx, cur.ID, map[string]any{"user_ids": ids})
	if err != nil {
		return "", err
	}
	ia.dir.putGroup(got)
	if result == "unchanged" {
		result = "configured"
	}
	return result, nil
}

func (ia *identityApply) applyRole(ctx context.Context, m manifest) (string, error) {
	want := m.role.apiRole()
	cur, ok := ia.dir.role(want.Name)
	if !ok {
		got, err := ia.c.CreateRole(ctx, want)
		if err != nil {
			return "", err
		}
		ia.dir.putRole(got)
		return "created", nil
	}
	if cur.Resource == want.Resource && cur.Access == want.Access && slices.Equal(cur.ResourceIDs, want.ResourceIDs) {
		return "unchanged", nil
	}
	want.ID = cur.ID
	got, err := ia.c.UpdateRole(ctx, want)
	if err != nil {
		return "", err
	}
	ia.dir.putRole(got)
	return "configured", nil
}

func (ia *identityApply) applyBinding(ctx context.Context, m manifest) (string, error) {
	b := m.binding
	role, ok := ia.dir.role(b.Role)
	if !ok {
		return "", fmt.Errorf("role %q not found", b.Role)
	}
	group, ok := ia.dir.group(b.Provider, b.Group)
	if !ok {
		return "", fmt.Errorf("group %q of provider %s not found", b.Group, b.Provider)
	}
	want := api.RoleBinding{Name: b.Name, RoleID: role.ID, GroupID: group.ID}
	cur, ok := ia.dir.binding(b.Name)
	if !ok {
		_, err := ia.c.CreateRoleBinding(ctx, want)
		return "created", err
	}
	if cur.RoleID == want.RoleID && cur.GroupID == want.GroupID {
		return "unchanged", nil
	}
	want.ID = cur.ID
	_, err := ia.c.UpdateRoleBinding(ctx, want)
	return "configured", err
}

// groupsOf returns the names of the groups a declared user is meant to be in: those its document lists and
// those whose documents list it.
func (ia *identityApply) groupsOf(u userDoc) []string {
	out := slices.Clone(u.Groups)
	for _, m := range ia.groups {
		g := m.group
		if g.Provider == u.Provider && slices.Contains(g.Users, u.Username) && !slices.Contains(out, g.Name) {
			out = append(out, g.Name)
		}
	}
	return out
}

// usersOf returns the names of the users a declared group is meant to hold: those its document lists and the
// declared users whose documents list it.
func (ia *identityApply) usersOf(g groupDoc) []string {
	out := slices.Clone(g.Users)
	for _, m := range ia.users {
		u := m.user
		if u.Provider == g.Provider && slices.Contains(u.Groups, g.Name) && !slices.Contains(out, u.Username) {
			out = append(out, u.Username)
		}
	}
	return out
}

// groupIDs resolves group names of provider to ids; [] rather than nil for none, so that it empties a membership.
func (ia *identityApply) groupIDs(provider string, names []string) ([]string, error) {
	ids := make([]string, 0, len(names))
	for _, n := range names {
		g, ok := ia.dir.group(provider, n)
		if !ok {
			return nil, fmt.Errorf("group %q of provider %s not found", n, provider)
		}
		ids = append(ids, g.ID)
	}
	return ids, nil
}

// userIDs resolves user names of provider to ids; [] rather than nil for none.
func (ia *identityApply) userIDs(provider string, names []string) ([]string, error) {
	ids := make([]string, 0, len(names))
	for _, n := range names {
		u, ok := ia.dir.user(provider, n)
		if !ok {
			return nil, fmt.Errorf("user %q of provider %s not found", n, provider)
		}
		ids = append(ids, u.ID)
	}
	return ids, nil
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
