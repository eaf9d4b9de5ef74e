package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) waitCommand() *cobra.Command {
	var timeout, reconnect time.Duration
	cmd := &cobra.Command{
		Use:   "wait JOB... [--timeout DURATION]",
		Short: "Wait for jobs (or workflow runs: runplane wait run RUN) to end and exit with their outcome",
		Long: "Wait until every JOB has ended (or --timeout has passed), print how each ended, and for each that did not\n" +
			"succeed the end of its log. Several jobs exit with the worst of their codes.\n\n" + exitCodesHelp,
		Example:           "  runplane wait hello-x7k2p\n  runplane wait $(runplane run backup --wait=0) --timeout 30m",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeNames(0, jobIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var deadline time.Time
			if timeout > 0 {
				deadline = time.Now().Add(timeout)
			}
			worst := 0
			var last error
			for _, id := range args {
				job, err := a.awaitJob(ctx, c, id, deadline, reconnect)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				code := 0
				switch {
				case err != nil:
					err = waitError(err)
					a.printError(err)
					code = err.(*codedError).code
				default:
					fmt.Fprintln(a.stdout, jobSummary(job))
					if code = jobExit(job.Status); code == exitJobFailed {
						a.printLogTail(ctx, c, job.ID)
					}
				}
				if code > worst {
					worst, last = code, err
				}
			}
			_ = last // each failure was printed as it happened
			return exitError(worst)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after DURATION, exiting 3 if a job is still queued or running (0: wait as long as it takes)")
	cmd.Flags().DurationVar(&reconnect, "reconnect", defaultReconnect, "how long to keep trying to reach a server that went away")
	cmd.AddCommand(a.waitRunCommand())
	return cmd
}

// awaitJob long-polls job id until it has ended or deadline (zero: none) has passed, riding out a server that
// goes away for up to reconnect.
func (a *app) awaitJob(ctx context.Context, c *client.Client, id string, deadline time.Time, reconnect time.Duration) (api.Job, error) {
	retry := retrier{window: reconnect}
	for {
		poll := api.MaxSyncTimeout
		if !deadline.IsZero() {
			poll = min(poll, time.Until(deadline))
		}
		job, err := c.WaitJob(ctx, id, max(poll, 0))
		switch {
		case err == nil:
			retry.reset()
			if job.Status.Final() || (!deadline.IsZero() && !time.Now().Before(deadline)) {
				return job, nil
			}
			continue
		case ctx.Err() != nil || !unreachable(err):
			return api.Job{}, err
		}
		if !retry.wait(ctx) || (!deadline.IsZero() && time.Now().After(deadline)) {
			return api.Job{}, err
		}
	}
}
