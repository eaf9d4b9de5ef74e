package cli

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// getIdentity prints users, groups, roles, role bindings, API tokens or audit logs. Tables show names where the
// objects hold ids, when the caller may list what they name; otherwise the ids.
func (a *app) getIdentity(cmd *cobra.Command, c *client.Client, kind, name string, o getOptions) error {
	ctx, output := cmd.Context(), o.output
	table := isTable(output)
	switch kind {
	case "users":
		us, err := c.ListUsers(ctx)
		if errors.Is(err, client.ErrForbidden) && name != "" {
			// Without users access one may still read one's own record, by id.
			if u, gerr := c.GetUser(ctx, name); gerr == nil {
				us, err = []api.User{u}, nil
			}
		}
		if err != nil {
			return err
		}
		var v any = us
		if name != "" {
			u, err := pick("user", name, us, func(u api.User) string { return u.ID }, func(u api.User) string { return u.Username })
			if err != nil {
				return err
			}
			v, us = u, []api.User{u}
		}
		gn := names{}
		if table {
			if gs, err := c.ListGroups(ctx); err == nil {
				gn = groupNames(gs)
			}
		}
		return a.print(cmd, output, v, func(w io.Writer) { userTable(w, us, gn) })
	case "groups":
		gs, err := c.ListGroups(ctx)
		if err != nil {
			return err
		}
		var v any = gs
		if name != "" {
			g, err := pick("group", name, gs, func(g api.Group) string { return g.ID }, func(g api.Group) string { return g.Name })
			if err != nil {
				return err
			}
			v, gs = g, []api.Group{g}
		}
		un, rn := names{}, names{}
		if table {
			if us, err := c.ListUsers(ctx); err == nil {
				un = userNames(us)
			}
			if rs, err := c.ListRoles(ctx); err == nil {
				rn = roleNames(rs)
			}
		}
		return a.print(cmd, output, v, func(w io.Writer) { groupTable(w, gs, un, rn) })
	case "roles":
		return getOrList(a, cmd, output, name, c.GetRole, c.ListRoles, roleTable)
	case "rolebindings":
		return getOrList(a, cmd, output, name,
			func(ctx context.Context, key string) (api.RoleBinding, error) { return findBinding(ctx, c, key) },
			c.ListRoleBindings, bindingTable)
	case "tokens":
		if name != "" {
			t, err := c.GetAPIToken(ctx, name)
			if err != nil {
				return err
			}
			return a.print(cmd, output, t, func(w io.Writer) { tokenTable(w, []api.APIToken{t}, nil) })
		}
		return a.listTokens(cmd, c, output, o.allTokens)
	}
	list, err := a.listAudit(cmd, c, o)
	if err != nil {
		return err
	}
	return getOrList(a, cmd, output, name, c.GetAuditLog, list, auditTable)
}

// listTokens prints the caller's API tokens, or with all every user's, with their owners.
func (a *app) listTokens(cmd *cobra.Command, c *client.Client, output string, all bool) error {
	ctx := cmd.Context()
	list := c.ListAPITokens
	if all {
		list = c.ListAllAPITokens
	}
	ts, err := list(ctx)
	if err != nil {
		return err
	}
	var owners names
	if all {
		owners = names{}
		if isTable(output) {
			if us, err := c.ListUsers(ctx); err == nil {
				owners = userNames(us)
			}
		}
	}
	return a.print(cmd, output, ts, func(w io.Writer) { tokenTable(w, ts, owners) })
}

func userTable(w io.Writer, us []api.User, groups names) {
	row(w, "USERNAME", "PROVIDER", "GROUPS", "ID")
	for _, u := range us {
		row(w, cell(u.Username, 40), u.Provider, cell(groups.of(u.Groups), 60), u.ID)
	}
}

func groupTable(w io.Writer, gs []api.Group, users, roles names) {
	row(w, "NAME", "PROVIDER", "USERS", "ROLES", "ID")
	for _, g := range gs {
		row(w, cell(g.Name, 40), g.Provider, cell(users.of(g.UserIDs), 50), cell(roles.of(g.RoleIDs), 40), g.ID)
	}
}

func roleTable(w io.Writer, rs []api.Role) {
	row(w, "NAME", "RESOURCE", "IDS", "ACCESS")
	for _, r := range rs {
		row(w, cell(r.Name, 40), r.Resource, cell(strings.Join(r.ResourceIDs, ","), 60), string(r.Access))
	}
}

func bindingTable(w io.Writer, bs []api.RoleBinding) {
	row(w, "NAME", "ROLE", "GROUP", "PROVIDER", "ID")
	for _, b := range bs {
		role, group := b.RoleName, b.SubjectName
		if role == "" {
			role = b.RoleID
		}
		if group == "" {
			group = b.GroupID
		}
		row(w, cell(b.Name, 40), cell(role, 40), cell(group, 40), cell(b.SubjectProvider, 20), b.ID)
	}
}

// tokenTable lists tokens; with owners (every user's tokens) it adds their owners.
func tokenTable(w io.Writer, ts []api.APIToken, owners names) {
	head := []string{"ID", "DESCRIPTION", "ENABLED", "EXPIRES"}
	if owners != nil {
		head = append(head, "OWNER")
	}
	row(w, head...)
	for _, t := range ts {
		expires := "never"
		if t.Expires != nil {
			expires = t.Expires.UTC().Format(time.RFC3339)
		}
		cells := []string{t.ID, cell(t.Description, 50), strconv.FormatBool(t.IsEnabled()), expires}
		if owners != nil {
			cells = append(cells, cell(owners.of([]string{t.Owner}), 40))
		}
		row(w, cells...)
	}
}

func auditTable(w io.Writer, ls []api.AuditLog) {
	row(w, "TIME", "USER", "EVENT", "RESOURCE", "TARGET", "STATUS", "ID")
	for _, l := range ls {
		row(w, l.CreateTime.UTC().Format(time.RFC3339), cell(l.Username, 30), l.EventType, l.EventCategory,
			cell(l.EventTarget, 40), l.Status, l.ID)
	}
}
