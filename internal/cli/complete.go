package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// completionTimeout bounds how long a shell waits for names from the server.
const completionTimeout = 3 * time.Second

// completeNames returns a ValidArgsFunction that offers the names list finds on the server, for the first
// maxArgs positional arguments (0: every one). Completion is best effort: no server, no names.
func (a *app) completeNames(maxArgs int, list func(ctx context.Context, c *client.Client) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if maxArgs > 0 && len(args) >= maxArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := a.connect()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
		defer cancel()
		names, err := list(ctx, c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := names[:0]
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && !contains(args, n) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// taskNames, runnerNames and jobIDs list what completion offers.
func taskNames(ctx context.Context, c *client.Client) ([]string, error) {
	ts, err := c.ListTasks(ctx)
	return mapNames(ts, func(t api.Task) string { return t.Name }), err
}

func runnerNames(ctx context.Context, c *client.Client) ([]string, error) {
	rs, err := c.ListRunners(ctx)
	return mapNames(rs, func(r api.Runner) string { return r.Name }), err
}

// jobIDs offers the newest jobs (the server's first page), newest first.
func jobIDs(ctx context.Context, c *client.Client) ([]string, error) {
	js, err := c.ListJobs(ctx, 100, 0)
	return mapNames(js, func(j api.Job) string { return j.ID }), err
}

func workflowNames(ctx context.Context, c *client.Client) ([]string, error) {
	ws, err := c.ListWorkflows(ctx)
	return mapNames(ws, func(w api.Workflow) string { return w.Name }), err
}

// runIDs offers the newest runs (the server's first page), newest first.
func runIDs(ctx context.Context, c *client.Client) ([]string, error) {
	rs, _, err := c.ListRunsPage(ctx, client.RunListOptions{Limit: 100})
	return mapNames(rs, func(r api.Run) string { return r.ID }), err
}

func mapNames[T any](items []T, name func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

// completeGet completes "get KIND NAME": the kinds first, then the names of that kind that have them.
func (a *app) completeGet(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		var out []string
		for _, k := range getKinds {
			if strings.HasPrefix(k, toComplete) {
				out = append(out, k)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	case 1:
		list := map[string]func(context.Context, *client.Client) ([]string, error){
			"runners": runnerNames, "tasks": taskNames, "jobs": jobIDs, "workflows": workflowNames, "runs": runIDs,
			"cronjobs": cronJobNames,
		}[resourceKinds[args[0]]]
		if list != nil {
			return a.completeNames(0, list)(cmd, nil, toComplete)
		}
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
