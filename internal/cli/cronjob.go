package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) cronJobCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cronjob",
		Short: "Act on cron jobs (runplane get cronjobs lists them; apply a kind: CronJob document to save one)",
	}
	trigger := &cobra.Command{
		Use:   "trigger NAME",
		Short: "Fire a cron job now, as its owner, and print the job (or workflow run) it started",
		Long: "Fire a cron job now, whatever its schedule and even when it is disabled: its task's job (or its\n" +
			"workflow's run) starts as the cron job's owner, with its extra_vars. You need write access to the cron\n" +
			"job and to the jobs of its task (the runs of its workflow).",
		Example:           "  runplane cronjob trigger nightly-backup\n  runplane logs -f $(runplane cronjob trigger nightly-backup)",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(0, cronJobNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			created, err := c.TriggerCronJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, created.ID)
			return nil
		},
	}
	cmd.AddCommand(trigger)
	return cmd
}

// cronJobNames completes cron job names.
func cronJobNames(ctx context.Context, c *client.Client) ([]string, error) {
	cjs, err := c.ListCronJobs(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(cjs))
	for _, cj := range cjs {
		names = append(names, cj.Name)
	}
	return names, nil
}

func cronJobTable(w io.Writer, cjs []api.CronJob) {
	row(w, "NAME", "SCHEDULE", "TARGET", "OWNER", "DISABLED", "NEXT RUN", "LAST RUN", "~LAST JOB", "~LAST STATUS", "~POLICY", "~TIMEZONE")
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	for _, cj := range cjs {
		target := "task/" + cj.Task
		if cj.Workflow != "" {
			target = "workflow/" + cj.Workflow
		}
		policy, tz := string(cj.ConcurrencyPolicy), cj.Timezone
		if policy == "" {
			policy = string(api.ConcurrencyAllow)
		}
		if tz == "" {
			tz = "UTC"
		}
		row(w, cj.Name, cell(cj.Schedule, 30), target, cell(cj.Owner, 30), fmt.Sprint(cj.Disable), when(cj.NextRun),
			when(cj.LastRun), orDash(cj.LastJob), orDash(cj.LastStatus), policy, tz)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cronJobFields are the fields a CronJob document may have (the read-only ones are accepted, as get prints them,
// and ignored).
var cronJobFields = []string{"name", "owner", "task", "workflow", "schedule", "timezone", "disable", "disabled",
	"extra_vars", "concurrency_policy", "starting_deadline", "next_run", "last_run", "last_job", "last_status",
	"last_message"}

func checkCronJobFields(body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return err
	}
	for k := range fields {
		if !slices.Contains(cronJobFields, k) {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	return nil
}

// declaredCronJob is the cron job as a document declares it, and cur as the server has it, in comparable forms:
// without what the server sets, and with the owner only where the document names one.
func declaredCronJob(want, cur api.CronJob) (api.CronJob, api.CronJob) {
	want.ClearStatus()
	cur.ClearStatus()
	if want.Owner == "" {
		cur.Owner = ""
	}
	if want.ConcurrencyPolicy == "" {
		want.ConcurrencyPolicy = api.ConcurrencyAllow
	}
	if cur.ConcurrencyPolicy == "" {
		cur.ConcurrencyPolicy = api.ConcurrencyAllow
	}
	for _, x := range []*api.CronJob{&want, &cur} {
		if len(x.ExtraVars) > 0 {
			var buf bytes.Buffer
			if json.Compact(&buf, x.ExtraVars) == nil {
				x.ExtraVars = buf.Bytes()
			}
		}
	}
	return want, cur
}

// applyCronJob creates a cron job or brings the server's in line with the document. An update makes the caller
// its owner unless the document names one, as the API does.
func applyCronJob(ctx context.Context, c *client.Client, m manifest) (string, error) {
	cur, err := c.GetCronJob(ctx, m.cron.Name)
	if errors.Is(err, client.ErrNotFound) {
		_, err = c.CreateCronJob(ctx, m.cron)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	if want, have := declaredCronJob(m.cron, cur); sameFields(want, have) {
		return "unchanged", nil
	}
	_, err = c.UpdateCronJob(ctx, m.cron)
	return "configured", err
}

func planCronJob(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	p := planned{m: m}
	cur, err := c.GetCronJob(ctx, m.cron.Name)
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", "/cronjobs", m.cron)
	case err != nil:
	default:
		if want, have := declaredCronJob(m.cron, cur); sameFields(want, have) {
			p.result = "unchanged"
			break
		}
		p.result = "configured"
		p.req, err = planReq("PUT", "/cronjobs/"+url.PathEscape(m.cron.Name), m.cron)
	}
	return p, err
}
