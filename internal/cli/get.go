package cli

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
)

// resourceKinds maps what users type to the resource, kubectl style: plural, singular.
var resourceKinds = map[string]string{
	"runners": "runners", "runner": "runners",
	"tasks": "tasks", "task": "tasks",
	"jobs": "jobs", "job": "jobs",
}

func (a *app) getCommand() *cobra.Command {
	var output string
	var limit, offset int
	cmd := &cobra.Command{
		Use:   "get runners|tasks|jobs [NAME]",
		Short: "List runners, tasks or jobs, or show one",
		Example: "  runplane get runners\n  runplane get task hello -o yaml\n" +
			"  runplane get jobs --limit 5\n  runplane get job hello-x7k2p -o json",
		Args: checkArgs(func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("name a resource type: runners, tasks or jobs")
			}
			return cobra.RangeArgs(1, 2)(cmd, args)
		}),
		ValidArgs: []string{"runners", "tasks", "jobs"},
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := resourceKinds[args[0]]
			if !ok {
				return usage(cmd, "unknown resource type %q: want runners, tasks or jobs", args[0])
			}
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			switch kind {
			case "runners":
				var rs []api.Runner
				if name != "" {
					r, err := c.GetRunner(ctx, name)
					if err != nil {
						return err
					}
					return a.print(cmd, output, r, func(w io.Writer) { runnerTable(w, []api.Runner{r}) })
				}
				if rs, err = c.ListRunners(ctx); err != nil {
					return err
				}
				return a.print(cmd, output, rs, func(w io.Writer) { runnerTable(w, rs) })
			case "tasks":
				var ts []api.Task
				if name != "" {
					t, err := c.GetTask(ctx, name)
					if err != nil {
						return err
					}
					return a.print(cmd, output, t, func(w io.Writer) { taskTable(w, []api.Task{t}) })
				}
				if ts, err = c.ListTasks(ctx); err != nil {
					return err
				}
				return a.print(cmd, output, ts, func(w io.Writer) { taskTable(w, ts) })
			}
			now := time.Now()
			if name != "" {
				j, err := c.GetJob(ctx, name)
				if err != nil {
					return err
				}
				return a.print(cmd, output, j, func(w io.Writer) { jobTable(w, now, []api.Job{j}) })
			}
			js, err := c.ListJobs(ctx, limit, offset)
			if err != nil {
				return err
			}
			return a.print(cmd, output, js, func(w io.Writer) { jobTable(w, now, js) })
		},
	}
	addOutputFlag(cmd, &output)
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 0, "jobs: how many to list, newest first (0: the server's default)")
	f.IntVar(&offset, "offset", 0, "jobs: how many of the newest to skip")
	return cmd
}

func runnerTable(w io.Writer, rs []api.Runner) {
	row(w, "NAME", "IMAGE", "GITURL", "BRANCH")
	for _, r := range rs {
		b := r.Branch
		if b == "" {
			b = api.DefaultBranch
		}
		row(w, r.Name, cell(r.Image, 40), cell(r.GitURL, 60), cell(b, 30))
	}
}

func taskTable(w io.Writer, ts []api.Task) {
	row(w, "NAME", "RUNNER", "SYNC", "COMMAND")
	for _, t := range ts {
		row(w, t.Name, t.Runner, strconv.FormatBool(t.Synchronous), cell(t.Command, 50))
	}
}

func jobTable(w io.Writer, now time.Time, js []api.Job) {
	row(w, "ID", "TASK", "STATUS", "OWNER", "EXIT", "AGE")
	for _, j := range js {
		exit := "-"
		if j.ExitCode != nil {
			exit = strconv.Itoa(*j.ExitCode)
		}
		row(w, j.ID, j.Task, string(j.Status), cell(j.Owner, 30), exit, age(now, j.CreateTime))
	}
}
