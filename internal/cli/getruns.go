package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// getFlows prints workflows or runs; one run, as a table, is printed as the tree of its steps.
func (a *app) getFlows(cmd *cobra.Command, c *client.Client, kind, name string, o getOptions) error {
	if kind == "workflows" {
		return getOrList(a, cmd, o.output, name, c.GetWorkflow, c.ListWorkflows, workflowTable)
	}
	now := time.Now()
	if name != "" && isTable(o.output) {
		run, err := c.GetRun(cmd.Context(), name)
		if err != nil {
			return err
		}
		printRunTree(a.stdout, now, run, o.output == "wide")
		return nil
	}
	return getOrList(a, cmd, o.output, name, c.GetRun, a.listRuns(c, o), func(w io.Writer, rs []api.Run) { runTable(w, now, rs) })
}

// listRuns lists the runs the flags select: one page, or with --all every page.
func (a *app) listRuns(c *client.Client, o getOptions) func(context.Context) ([]api.Run, error) {
	opts := client.RunListOptions{Workflow: o.workflow, Owner: o.owner, Limit: o.limit, Offset: o.offset}
	for _, s := range o.status {
		opts.Status = append(opts.Status, api.RunStatus(strings.TrimSpace(s)))
	}
	return func(ctx context.Context) ([]api.Run, error) {
		if o.allTokens {
			return c.AllRuns(ctx, opts)
		}
		rs, total, err := c.ListRunsPage(ctx, opts)
		a.more(o, len(rs), total)
		return rs, err
	}
}

func workflowTable(w io.Writer, ws []api.Workflow) {
	row(w, "NAME", "STEPS", "SYNC", "DESCRIPTION", "~TIMEOUT", "~PARAMETERS")
	for _, wf := range ws {
		timeout := "-"
		if wf.Timeout > 0 {
			timeout = time.Duration(wf.Timeout).String()
		}
		row(w, wf.Name, strconv.Itoa(len(wf.Steps)), strconv.FormatBool(wf.Synchronous), cell(wf.Description, 50),
			timeout, cell(strings.Join(paramNames(wf.Parameters), ","), 60))
	}
}

// paramNames are the properties a workflow's parameter schema names, sorted.
func paramNames(schema json.RawMessage) []string {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s)
	var out []string
	for k := range s.Properties {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func runTable(w io.Writer, now time.Time, rs []api.Run) {
	row(w, "ID", "WORKFLOW", "STATUS", "STEPS", "OWNER", "AGE", "~DURATION", "~REASON")
	for _, r := range rs {
		row(w, r.ID, r.Workflow, string(r.Status), stepCount(r), cell(r.Owner, 30), age(now, r.CreateTime),
			took(now, r.StartTime, r.CompletionTime), cell(r.Reason, 60))
	}
}

// stepCount says how many of a run's steps succeeded: "2/3".
func stepCount(r api.Run) string {
	n := 0
	for _, s := range r.Steps {
		if s.Status == api.StepSucceeded {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(r.Steps))
}

// took is how long something ran: from start to end, or to now while it runs; "-" before it started.
func took(now time.Time, start, end *time.Time) string {
	if start == nil {
		return "-"
	}
	e := now
	if end != nil {
		e = *end
	}
	return e.Sub(*start).Round(time.Millisecond).String()
}

// printRunTree writes a run and, under it, each of its steps in the workflow's order: status, job, how long it
// took, its outputs (wide: whole values) and why it was skipped or failed.
//
//	run deploy-k2x9z  workflow deploy  failed  owner root  age 2m  took 14.2s
//	  reason: step test failed
//	├── build   succeeded  job build-a1b2c  3.1s
//	│     outputs: artifact="app.tar"
//	└── test    failed     job test-d4e5f   1.2s
//	      message: exit code 1
func printRunTree(w io.Writer, now time.Time, r api.Run, wide bool) {
	fmt.Fprintf(w, "run %s  workflow %s  %s  owner %s  age %s  took %s\n", r.ID, r.Workflow, r.Status, r.Owner,
		age(now, r.CreateTime), took(now, r.StartTime, r.CompletionTime))
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	nameW, statusW, jobW := 0, 0, 0
	for _, s := range r.Steps {
		nameW, statusW, jobW = max(nameW, len(s.Name)), max(statusW, len(s.Status)), max(jobW, len(s.Job))
	}
	for i, s := range r.Steps {
		branch, stem := "├── ", "│     "
		if i == len(r.Steps)-1 {
			branch, stem = "└── ", "      "
		}
		job := "-"
		if s.Job != "" {
			job = "job " + s.Job
		}
		line := fmt.Sprintf("%s%-*s  %-*s  %-*s  %s", branch, nameW, s.Name, statusW, s.Status, jobW+4, job,
			took(now, s.StartTime, s.CompletionTime))
		if s.Attempt > 1 {
			line += fmt.Sprintf("  (attempt %d)", s.Attempt)
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		if len(s.Outputs) > 0 {
			keys := make([]string, 0, len(s.Outputs))
			for k := range s.Outputs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				v := string(s.Outputs[k])
				if !wide {
					v = cell(v, 40)
				}
				parts = append(parts, k+"="+v)
			}
			fmt.Fprintf(w, "%soutputs: %s\n", stem, strings.Join(parts, " "))
		}
		if s.Message != "" && (s.Status == api.StepSkipped || s.Status == api.StepFailed || s.Status == api.StepCancelled || wide) {
			fmt.Fprintf(w, "%smessage: %s\n", stem, s.Message)
		}
	}
}
