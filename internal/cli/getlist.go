package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// listFlags are get's filters of jobs and audit logs.
type listFlags struct {
	task, owner, workflow             string
	status                            []string
	user, eventType, target, category string
	since, until                      string
}

// listFilters names the filters of each kind that has them.
var listFilters = map[string][]string{
	"jobs":      {"task", "owner", "status", "since", "until"},
	"auditlogs": {"user", "event-type", "target", "category", "status", "since", "until"},
	"runs":      {"workflow", "owner", "status"},
}

// allFilters is every filter flag, in the order check reports them.
var allFilters = []string{"task", "workflow", "status", "owner", "since", "until", "user", "event-type", "target", "category"}

func (l *listFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.task, "task", "", "jobs: only those of this task")
	f.StringVar(&l.workflow, "workflow", "", "runs: only those of this workflow")
	f.StringSliceVar(&l.status, "status", nil, "jobs and runs: only those with one of these statuses (queued, running, succeeded, failed, cancelled; repeatable, comma-separated); auditlogs: success, failure or denied")
	f.StringVar(&l.owner, "owner", "", "jobs and runs: only those this user submitted")
	f.StringVar(&l.user, "user", "", "auditlogs: only the events of this user (a username or user id)")
	f.StringVar(&l.eventType, "event-type", "", "auditlogs: only events of this type (create, update, delete, run, cancel, login, logout, ...)")
	f.StringVar(&l.target, "target", "", "auditlogs: only events acting on this object (a name or id)")
	f.StringVar(&l.category, "category", "", "auditlogs: only events acting on this resource (runners, tasks, jobs, ..., or auth for logins)")
	f.StringVar(&l.since, "since", "", "jobs and auditlogs: only those created at or after this time: RFC 3339 (2026-12-01T09:00:00Z), a date (2026-12-01) or a duration before now (24h, 7d)")
	f.StringVar(&l.until, "until", "", "jobs and auditlogs: only those created before this time, written as for --since")
}

// check refuses a filter given for a kind it does not apply to.
func (l *listFlags) check(cmd *cobra.Command, kind, name string) error {
	for _, f := range allFilters {
		if cmd.Flags().Changed(f) && !slices.Contains(listFilters[kind], f) {
			return usage(cmd, "--%s does not apply to %s", f, kind)
		}
	}
	if name != "" {
		for _, f := range allFilters {
			if cmd.Flags().Changed(f) {
				return usage(cmd, "--%s filters a list: give no name", f)
			}
		}
	}
	if kind == "auditlogs" && len(l.status) > 1 {
		return usage(cmd, "--status: give one status of audit log entries")
	}
	return nil
}

// times reads --since and --until once, so that every page of a listing asks for the same window.
func (l *listFlags) times(cmd *cobra.Command, now time.Time) (since, until time.Time, err error) {
	for _, b := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", l.since, &since}, {"until", l.until, &until}} {
		if b.v == "" {
			continue
		}
		t, err := api.ParseTimeBound(b.v, now)
		if err != nil {
			return since, until, usage(cmd, "--%s %v", b.name, err)
		}
		*b.dst = t
	}
	return since, until, nil
}

// listJobs lists the jobs the flags select: one page, or with --all every page.
func (a *app) listJobs(cmd *cobra.Command, c *client.Client, o getOptions) (func(context.Context) ([]api.Job, error), error) {
	since, until, err := o.times(cmd, time.Now())
	if err != nil {
		return nil, err
	}
	opts := client.JobListOptions{Task: o.task, Owner: o.owner, Since: since, Until: until, Limit: o.limit, Offset: o.offset}
	for _, s := range o.status {
		opts.Status = append(opts.Status, api.JobStatus(strings.TrimSpace(s)))
	}
	return func(ctx context.Context) ([]api.Job, error) {
		if o.allTokens {
			return c.AllJobs(ctx, opts)
		}
		js, total, err := c.ListJobsPage(ctx, opts)
		a.more(o, len(js), total)
		return js, err
	}, nil
}

// listAudit lists the audit log entries the flags select: one page, or with --all every page (an export).
func (a *app) listAudit(cmd *cobra.Command, c *client.Client, o getOptions) (func(context.Context) ([]api.AuditLog, error), error) {
	since, until, err := o.times(cmd, time.Now())
	if err != nil {
		return nil, err
	}
	opts := client.AuditLogOptions{User: o.user, EventType: o.eventType, EventTarget: o.target, Category: o.category,
		Since: since, Until: until, Limit: o.limit, Offset: o.offset}
	if len(o.status) == 1 {
		opts.Status = o.status[0]
	}
	return func(ctx context.Context) ([]api.AuditLog, error) {
		if o.allTokens {
			return c.AllAuditLogs(ctx, opts)
		}
		es, total, err := c.ListAuditLogsPage(ctx, opts)
		a.more(o, len(es), total)
		return es, err
	}, nil
}

// more says on stderr, for a table, that a page is not all there is.
func (a *app) more(o getOptions, n, total int) {
	if isTable(o.output) && total > o.offset+n {
		fmt.Fprintf(a.stderr, "showing %d of %d; --offset %d for the next page, --all for every one\n", n, total, o.offset+n)
	}
}
