package cli

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// resourceKinds maps what users type to the resource, kubectl style: plural, singular.
var resourceKinds = map[string]string{
	"runners": "runners", "runner": "runners",
	"tasks": "tasks", "task": "tasks",
	"workflows": "workflows", "workflow": "workflows", "wf": "workflows",
	"runs": "runs", "run": "runs",
	"cronjobs": "cronjobs", "cronjob": "cronjobs", "cj": "cronjobs",
	"jobs": "jobs", "job": "jobs",
	"users": "users", "user": "users",
	"groups": "groups", "group": "groups",
	"roles": "roles", "role": "roles",
	"rolebindings": "rolebindings", "rolebinding": "rolebindings",
	"tokens": "tokens", "token": "tokens",
	"webhooks": "webhooks", "webhook": "webhooks",
	"auditlogs": "auditlogs", "auditlog": "auditlogs", "audit": "auditlogs",
	"destinations": "destinations", "destination": "destinations", "dest": "destinations", "dests": "destinations",
	"state_stores": "state_stores", "state_store": "state_stores", "statestores": "state_stores", "statestore": "state_stores",
	"promises": "promises", "promise": "promises",
	"resources": "resources", "resource": "resources",
}

// getKinds is what get accepts, for help and messages.
var getKinds = []string{"runners", "tasks", "workflows", "runs", "cronjobs", "jobs", "users", "groups", "roles", "rolebindings", "tokens", "webhooks", "auditlogs", "destinations", "state_stores", "promises", "resources"}

// getOptions are the flags of get that only some resources use.
type getOptions struct {
	output        string
	limit, offset int
	allTokens     bool // --all: every user's tokens; every page of jobs or audit logs
	namespace     string
	listFlags
}

func (a *app) getCommand() *cobra.Command {
	var o getOptions
	typeList := strings.Join(getKinds[:len(getKinds)-1], ", ") + " or " + getKinds[len(getKinds)-1]
	cmd := &cobra.Command{
		Use:   "get " + strings.Join(getKinds, "|") + " [NAME]",
		Short: "List runners, tasks, workflows, runs, cron jobs, jobs, users, groups, roles, role bindings, API tokens, webhooks or audit logs, or show one",
		Long: "List objects of a kind, or show one. Runners, tasks, workflows, cron jobs and roles are named by name, runs,\n" +
			"jobs, tokens, webhooks and audit logs by id, users, groups and role bindings by name or id (an id when a name is\n" +
			"shared by users or groups of different providers). Singular forms work too: runner, user, token, ...\n\n" +
			"One run is shown as the tree of its steps: each step's status, job, duration and outputs, and why it\n" +
			"was skipped or failed (-o json or yaml for the whole run).",
		Example: "  runplane get runners\n  runplane get task hello -o yaml\n" +
			"  runplane get jobs --limit 5\n  runplane get jobs --task hello --status failed,cancelled --since 24h\n" +
			"  runplane get job hello-x7k2p -o json\n" +
			"  runplane get workflows\n  runplane get workflow deploy -o yaml\n" +
			"  runplane get runs --workflow deploy --status failed\n  runplane get run deploy-k2x9z\n  runplane get audit --user alice --since 7d\n" +
			"  runplane get audit --all -o json > audit.json\n" +
			"  runplane get users\n  runplane get role Admin -o yaml\n  runplane get tokens --all\n  runplane get webhooks --all",
		Args: checkArgs(func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("name a resource type: " + typeList)
			}
			if resourceKinds[args[0]] == "resources" {
				if len(args) < 2 {
					return errors.New("name the promise whose resource requests to get: get resources PROMISE [NAME]")
				}
				return cobra.RangeArgs(2, 3)(cmd, args)
			}
			return cobra.RangeArgs(1, 2)(cmd, args)
		}),
		ValidArgsFunction: a.completeGet,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := resourceKinds[args[0]]
			if !ok {
				return usage(cmd, "unknown resource type %q: want %s", args[0], typeList)
			}
			if err := checkOutput(cmd, o.output); err != nil {
				return err
			}
			if kind == "resources" {
				c, err := a.connect()
				if err != nil {
					return err
				}
				return a.getResources(cmd, c, args[1:], o)
			}
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			if err := o.check(cmd, kind, name); err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			if o.output == "yaml" && slices.Contains(documentKinds, kind) {
				return a.getDocuments(cmd.Context(), c, kind, name) // documents that apply takes back
			}
			switch kind {
			case "runners", "tasks", "jobs":
				return a.getWorkload(cmd, c, kind, name, o)
			case "workflows", "runs":
				return a.getFlows(cmd, c, kind, name, o)
			case "webhooks":
				return a.getWebhooks(cmd, c, name, o)
			case "cronjobs":
				return getOrList(a, cmd, o.output, name, c.GetCronJob, c.ListCronJobs, cronJobTable)
			case "destinations":
				return getOrList(a, cmd, o.output, name, c.GetDestination, c.ListDestinations, destinationTable)
			case "state_stores":
				return getOrList(a, cmd, o.output, name, c.GetStateStore, c.ListStateStores, stateStoreTable)
			case "promises":
				return getOrList(a, cmd, o.output, name, c.GetPromise, c.ListPromises, promiseTable)
			}
			return a.getIdentity(cmd, c, kind, name, o)
		},
	}
	addOutputFlag(cmd, &o.output)
	f := cmd.Flags()
	f.IntVar(&o.limit, "limit", 0, "jobs, runs and auditlogs: how many to list, newest first (0: the server's default); with --all, the page size")
	f.IntVar(&o.offset, "offset", 0, "jobs, runs and auditlogs: how many of the newest to skip")
	f.StringVarP(&o.namespace, "namespace", "n", "", "resources: the namespace of the requests (default: every namespace for a list, default for one)")
	f.BoolVar(&o.allTokens, "all", false, "tokens and webhooks: list every user's, not only yours; jobs, runs and auditlogs: every one selected, page by page (an export)")
	o.listFlags.register(cmd)
	return cmd
}

// getWorkload prints runners, tasks or jobs.
func (a *app) getWorkload(cmd *cobra.Command, c *client.Client, kind, name string, o getOptions) error {
	switch kind {
	case "runners":
		return getOrList(a, cmd, o.output, name, c.GetRunner, c.ListRunners, runnerTable)
	case "tasks":
		return getOrList(a, cmd, o.output, name, c.GetTask, c.ListTasks, taskTable)
	}
	now := time.Now()
	list, err := a.listJobs(cmd, c, o)
	if err != nil {
		return err
	}
	return getOrList(a, cmd, o.output, name, c.GetJob, list, func(w io.Writer, js []api.Job) { jobTable(w, now, js) })
}

// getOrList prints the object name with get, or every object list returns when name is "". table writes either
// as a table.
func getOrList[T any](a *app, cmd *cobra.Command, output, name string, get func(context.Context, string) (T, error),
	list func(context.Context) ([]T, error), table func(io.Writer, []T)) error {
	if name != "" {
		v, err := get(cmd.Context(), name)
		if err != nil {
			return err
		}
		return a.print(cmd, output, v, func(w io.Writer) { table(w, []T{v}) })
	}
	vs, err := list(cmd.Context())
	if err != nil {
		return err
	}
	return a.print(cmd, output, vs, func(w io.Writer) { table(w, vs) })
}

// Tables: header cells marked "~" are the extra columns of -o wide.

func runnerTable(w io.Writer, rs []api.Runner) {
	row(w, "NAME", "IMAGE", "GITURL", "BRANCH", "~SECRETS")
	for _, r := range rs {
		b := r.Branch
		if b == "" {
			b = api.DefaultBranch
		}
		keys := make([]string, 0, len(r.Secret))
		for k := range r.Secret {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		row(w, r.Name, cell(r.Image, 40), cell(r.GitURL, 60), cell(b, 30), cell(strings.Join(keys, ","), 60))
	}
}

func taskTable(w io.Writer, ts []api.Task) {
	row(w, "NAME", "RUNNER", "SYNC", "COMMAND", "~TIMEOUT", "~SCHEMA")
	for _, t := range ts {
		timeout := "-"
		if t.Timeout > 0 {
			timeout = time.Duration(t.Timeout).String()
		}
		schema := "-"
		if len(t.Schema) > 0 && string(t.Schema) != "null" {
			schema = "yes"
		}
		row(w, t.Name, t.Runner, strconv.FormatBool(t.Synchronous), cell(t.Command, 50), timeout, schema)
	}
}

func jobTable(w io.Writer, now time.Time, js []api.Job) {
	row(w, "ID", "TASK", "STATUS", "OWNER", "EXIT", "AGE", "~DURATION", "~REASON")
	for _, j := range js {
		exit := "-"
		if j.ExitCode != nil {
			exit = strconv.Itoa(*j.ExitCode)
		}
		took := "-"
		if j.StartTime != nil {
			end := now
			if j.CompletionTime != nil {
				end = *j.CompletionTime
			}
			took = end.Sub(*j.StartTime).Round(time.Millisecond).String()
		}
		row(w, j.ID, j.Task, string(j.Status), cell(j.Owner, 30), exit, age(now, j.CreateTime), took, cell(j.Reason, 60))
	}
}
