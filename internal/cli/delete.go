package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// deleteKinds is what delete accepts, singular as kubectl users type it.
var deleteKinds = []string{"runner", "task", "user", "group", "role", "rolebinding", "token"}

func (a *app) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete runner|task|user|group|role|rolebinding|token NAME...",
		Short: "Delete runners, tasks, users, groups, roles, role bindings or API tokens",
		Long: "Delete objects: runners and tasks by name, users, groups, roles and role bindings by name or id, API\n" +
			"tokens by id. What is still in use cannot be deleted (409): a runner a task uses, a user in a group, a\n" +
			"group with members or role bindings, a bound role; nor can the builtin objects (root, Admin).",
		Example: "  runplane delete task hello\n  runplane delete runner examples\n  runplane delete user alice\n" +
			"  runplane delete token 0b6f3c1e-...",
		Args: checkArgs(func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return errors.New("name a resource type (runner, task, user, group, role, rolebinding or token) and at least one name")
			}
			return nil
		}),
		ValidArgs: deleteKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := resourceKinds[args[0]]
			switch kind {
			case "runners", "tasks", "users", "groups", "roles", "rolebindings", "tokens":
			default:
				return usage(cmd, "cannot delete %q: want runner, task, user, group, role, rolebinding or token", args[0])
			}
			return a.deleteAll(cmd, kind, args[1:])
		},
	}
}

// deleteAll deletes the objects of kind named keys in order, saying so for each, and stops at the first error.
func (a *app) deleteAll(cmd *cobra.Command, kind string, keys []string) error {
	c, err := a.connect()
	if err != nil {
		return err
	}
	for _, key := range keys {
		ref, err := deleteOne(cmd.Context(), c, kind, key)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s deleted\n", ref)
	}
	return nil
}

// deleteOne deletes the object of kind named key (a name or an id) and returns how to name it: kind/NAME.
func deleteOne(ctx context.Context, c *client.Client, kind, key string) (string, error) {
	switch kind {
	case "runners":
		return "runner/" + key, c.DeleteRunner(ctx, key)
	case "tasks":
		return "task/" + key, c.DeleteTask(ctx, key)
	case "roles":
		return "role/" + key, c.DeleteRole(ctx, key)
	case "tokens":
		return "token/" + key, c.DeleteAPIToken(ctx, key)
	case "users":
		u, err := findUser(ctx, c, key)
		if err != nil {
			return "", err
		}
		return "user/" + u.Username + providerSuffix(u.Provider), c.DeleteUser(ctx, u.ID)
	case "groups":
		g, err := findGroup(ctx, c, key)
		if err != nil {
			return "", err
		}
		return "group/" + g.Name + providerSuffix(g.Provider), c.DeleteGroup(ctx, g.ID)
	}
	b, err := findBinding(ctx, c, key)
	if err != nil {
		return "", err
	}
	return "rolebinding/" + b.Name, c.DeleteRoleBinding(ctx, b.ID)
}

// providerSuffix marks a user or group of a provider other than local, as apply names them.
func providerSuffix(p string) string {
	if p == api.ProviderLocal || p == "" {
		return ""
	}
	return " (" + p + ")"
}
