package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) exportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Print every runner, task, workflow, cron job, group, user, role and role binding as documents apply takes back",
		Long: "Print the server's configuration as one YAML stream of documents, in the order apply needs them:\n" +
			"runners, tasks, workflows, cron jobs, groups, users (naming their groups), roles, role bindings.\n" +
			"Builtin objects (root, Admin, the WriteAll roles) are left out: every server has them. Runner tokens\n" +
			"and secret values are masked and local users' passwords are never shown: applying the export to the\n" +
			"same server keeps them; on another server, add them to the documents first (or restore a backup of\n" +
			"the store instead). Kinds you may not read are skipped, with a warning.",
		Example: "  runplane export > all.yaml\n  runplane --context new export | diff all.yaml -\n  runplane apply -f all.yaml",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var docs []document
			skip := func(kind string, err error) error {
				if errors.Is(err, client.ErrForbidden) {
					fmt.Fprintf(a.stderr, "Warning: %s not exported: you may not read them\n", kind)
					return nil
				}
				return err
			}
			rs, err := c.ListRunners(ctx)
			if err = skip("runners", err); err != nil {
				return err
			}
			docs = append(docs, runnerDocs(rs)...)
			ts, err := c.ListTasks(ctx)
			if err = skip("tasks", err); err != nil {
				return err
			}
			docs = append(docs, taskDocs(ts)...)
			ws, err := c.ListWorkflows(ctx)
			if err = skip("workflows", err); err != nil {
				return err
			}
			docs = append(docs, workflowDocs(ws)...)
			cjs, err := c.ListCronJobs(ctx)
			if err = skip("cron jobs", err); err != nil {
				return err
			}
			docs = append(docs, cronJobDocs(ownCronJobs(cjs, ws))...)
			var id identity
			for _, k := range []string{"groups", "users", "roles", "rolebindings"} {
				if err := skip(k, id.load(ctx, c, k)); err != nil {
					return err
				}
			}
			docs = append(docs, id.groupDocs(notBuiltin(id.groups, func(g api.Group) bool { return g.Builtin }), false)...)
			docs = append(docs, id.userDocs(notBuiltin(id.users, func(u api.User) bool { return u.Builtin }))...)
			docs = append(docs, roleDocs(notBuiltin(id.roles, func(r api.Role) bool { return r.Builtin }))...)
			docs = append(docs, id.bindingDocs(notBuiltin(id.bindings, func(b api.RoleBinding) bool { return b.Builtin }))...)
			b, err := marshalDocuments(docs)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "# runplane export of %s at %s\n", c.BaseURL(), time.Now().UTC().Format(time.RFC3339))
			_, err = a.stdout.Write(b)
			return err
		},
	}
}

// notBuiltin drops the builtin objects.
func notBuiltin[T any](items []T, builtin func(T) bool) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if !builtin(it) {
			out = append(out, it)
		}
	}
	return out
}

// ownCronJobs leaves out the cron jobs of workflows' schedule triggers: applying their workflows makes them.
func ownCronJobs(cjs []api.CronJob, ws []api.Workflow) []api.CronJob {
	derived := map[string]bool{}
	for _, w := range ws {
		for _, t := range w.Triggers {
			if t.Source.Type == api.TriggerSourceSchedule {
				derived[t.Object] = true
			}
		}
	}
	out := make([]api.CronJob, 0, len(cjs))
	for _, c := range cjs {
		if !derived[c.Name] {
			out = append(out, c)
		}
	}
	return out
}
