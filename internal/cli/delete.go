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
var deleteKinds = []string{"runner", "task", "workflow", "cronjob", "user", "group", "role", "rolebinding", "token", "webhook", "promise", "resource"}

func (a *app) deleteCommand() *cobra.Command {
	var files []string
	var recursive, ignoreNotFound bool
	var namespace string
	cmd := &cobra.Command{
		Use:   "delete runner|task|workflow|cronjob|user|group|role|rolebinding|token NAME... | -f FILE|DIR|-",
		Short: "Delete runners, tasks, workflows, cron jobs, users, groups, roles, role bindings or API tokens",
		Long: "Delete objects: runners, tasks, workflows and cron jobs by name (a workflow's runs and a cron job's jobs stay), users, groups, roles and role bindings by name or id, API\n" +
			"tokens by id. What is still in use cannot be deleted (409): a runner a task uses, a user in a group, a\n" +
			"group with members or role bindings, a bound role; nor can the builtin objects (root, Admin).\n\n" +
			"With -f, the objects the documents declare (as \"runplane apply\" reads them) are deleted, in the\n" +
			"reverse of apply's order: role bindings, roles, users, groups, cron jobs, workflows, tasks, runners. One that is not found is\n" +
			"reported and the rest still deleted (the exit code is then 1), unless --ignore-not-found.",
		Example: "  runplane delete task hello\n  runplane delete runner examples\n  runplane delete user alice\n" +
			"  runplane delete token 0b6f3c1e-...\n  runplane delete -f examples/",
		Args: checkArgs(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("filename") {
				if len(args) > 0 {
					return errors.New("give -f or a resource type and names, not both")
				}
				return nil
			}
			if len(args) < 2 {
				return errors.New("name a resource type (runner, task, workflow, cronjob, user, group, role, rolebinding or token) and at least one name, or -f FILE")
			}
			return nil
		}),
		ValidArgs: deleteKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(files) > 0 {
				return a.deleteFiles(cmd, files, recursive, ignoreNotFound)
			}
			kind := resourceKinds[args[0]]
			switch kind {
			case "resources":
				if len(args) < 3 {
					return usage(cmd, "delete resource PROMISE NAME...: name the promise and at least one request")
				}
				return a.deleteRequests(cmd, args[1], namespace, args[2:])
			case "runners", "tasks", "workflows", "cronjobs", "users", "groups", "roles", "rolebindings", "tokens", "webhooks", "promises":
			default:
				return usage(cmd, "cannot delete %q: want runner, task, workflow, cronjob, user, group, role, rolebinding, token or webhook", args[0])
			}
			return a.deleteAll(cmd, kind, args[1:])
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&files, "filename", "f", nil, "file, directory or - (stdin) holding the documents of the objects to delete; repeatable")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	f.BoolVarP(&recursive, "recursive", "R", false, "with -f: read directories' subdirectories too")
	f.BoolVar(&ignoreNotFound, "ignore-not-found", false, "with -f: an object that does not exist is not an error")
	f.StringVarP(&namespace, "namespace", "n", "", "resource: the requests' namespace (default: default)")
	return cmd
}

// deleteFiles deletes the objects files declare, dependents first.
func (a *app) deleteFiles(cmd *cobra.Command, files []string, recursive, ignoreNotFound bool) error {
	ms, err := a.loadManifests(files, recursive)
	if err != nil {
		return err
	}
	c, err := a.connect()
	if err != nil {
		return err
	}
	kindOf := map[string]string{kindRunner: "runners", kindTask: "tasks", kindWorkflow: "workflows", kindCronJob: "cronjobs", kindUser: "users", kindGroup: "groups",
		kindRole: "roles", kindRoleBinding: "rolebindings"}
	if err := resolveRequests(cmd.Context(), c, ms); err != nil {
		return err
	}
	kindOf[kindPromise] = "promises"
	missing := 0
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		err := leaveGroups(cmd.Context(), c, m)
		if err == nil && m.kind == kindRequest {
			err = c.DeleteResourceRequest(cmd.Context(), m.reqPromise, m.request.Metadata.Namespace, m.request.Metadata.Name)
		} else if err == nil && m.kind == kindComposition {
			err = c.DeleteComposition(cmd.Context(), m.request.Metadata.Namespace, compositionResource(m.request), m.request.Metadata.Name)
		} else if err == nil {
			_, err = deleteOne(cmd.Context(), c, kindOf[m.kind], m.name())
		}
		switch {
		case errors.Is(err, client.ErrNotFound):
			if !ignoreNotFound {
				fmt.Fprintf(a.stderr, "Error: %s not found\n", m.ref())
				missing++
			}
		case err != nil:
			return fmt.Errorf("delete %s: %w", m.ref(), err)
		default:
			fmt.Fprintf(a.stdout, "%s deleted\n", m.ref())
		}
	}
	if missing > 0 {
		return exitError(1)
	}
	return nil
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
	case "workflows":
		return "workflow/" + key, c.DeleteWorkflow(ctx, key)
	case "cronjobs":
		return "cronjob/" + key, c.DeleteCronJob(ctx, key)
	case "roles":
		return "role/" + key, c.DeleteRole(ctx, key)
	case "tokens":
		return "token/" + key, c.DeleteAPIToken(ctx, key)
	case "webhooks":
		return "webhook/" + key, c.DeleteWebhook(ctx, key)
	case "promises":
		return "promise/" + key, c.DeletePromise(ctx, key)
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

// leaveGroups empties the membership of a user or group a file declares, so that deleting it is not refused for
// the membership the file's own objects hold (a user in a group, a group with members).
func leaveGroups(ctx context.Context, c *client.Client, m manifest) error {
	switch m.kind {
	case kindUser:
		u, err := findUser(ctx, c, m.name())
		if err != nil || len(u.Groups) == 0 {
			return err
		}
		_, err = c.PatchUser(ctx, u.ID, map[string]any{"groups": []string{}})
		return err
	case kindGroup:
		g, err := findGroup(ctx, c, m.name())
		if err != nil || len(g.UserIDs) == 0 {
			return err
		}
		_, err = c.PatchGroup(ctx, g.ID, map[string]any{"user_ids": []string{}})
		return err
	}
	return nil
}

// deleteRequests deletes requests of a promise by name, saying so for each, and stops at the first error.
func (a *app) deleteRequests(cmd *cobra.Command, promise, namespace string, names []string) error {
	c, err := a.connect()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := c.DeleteResourceRequest(cmd.Context(), promise, namespace, name); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s/%s deleted\n", promise, name)
	}
	return nil
}
