package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) waitRunCommand() *cobra.Command {
	var timeout, reconnect time.Duration
	cmd := &cobra.Command{
		Use:   "run RUN... [--timeout DURATION]",
		Short: "Wait for workflow runs to end and exit with their outcome",
		Long: "Wait until every RUN has ended (or --timeout has passed), print how each ended, and for each that did not\n" +
			"succeed the end of its failed steps' logs. Several runs exit with the worst of their codes.\n\n" + runExitCodesHelp,
		Example:           "  runplane wait run release-x7k2p\n  runplane wait run $(runplane run workflow release --async) --timeout 30m",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeNames(0, runIDs),
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
			for _, id := range args {
				run, err := a.awaitRun(ctx, c, id, deadline, reconnect)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				code := 0
				if err != nil {
					err = waitError(err)
					a.printError(err)
					code = err.(*codedError).code
				} else {
					fmt.Fprintln(a.stdout, runSummary(run))
					if code = runExit(run.Status); code == exitJobFailed {
						a.printFailedSteps(ctx, c, run)
					}
				}
				worst = max(worst, code)
			}
			return exitError(worst)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after DURATION, exiting 3 if a run is still queued or running (0: wait as long as it takes)")
	cmd.Flags().DurationVar(&reconnect, "reconnect", defaultReconnect, "how long to keep trying to reach a server that went away")
	return cmd
}

// awaitRun long-polls run id until it has ended or deadline (zero: none) has passed, riding out a server that
// goes away for up to reconnect.
func (a *app) awaitRun(ctx context.Context, c *client.Client, id string, deadline time.Time, reconnect time.Duration) (api.Run, error) {
	retry := retrier{window: reconnect}
	for {
		poll := api.MaxSyncTimeout
		if !deadline.IsZero() {
			poll = min(poll, time.Until(deadline))
		}
		run, err := c.WaitRun(ctx, id, max(poll, 0))
		switch {
		case err == nil:
			retry.reset()
			if run.Status.Final() || (!deadline.IsZero() && !time.Now().Before(deadline)) {
				return run, nil
			}
			continue
		case ctx.Err() != nil || !unreachable(err):
			return api.Run{}, err
		}
		if !retry.wait(ctx) || (!deadline.IsZero() && time.Now().After(deadline)) {
			return api.Run{}, err
		}
	}
}
