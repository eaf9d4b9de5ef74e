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
	w := waiter[api.Run]{
		poll: func(ctx context.Context, c *client.Client, id string, d time.Duration) (api.Run, error) {
			return c.WaitRun(ctx, id, d)
		},
		ended: func(r api.Run) bool { return r.Status.Final() },
		report: func(ctx context.Context, c *client.Client, r api.Run) int {
			fmt.Fprintln(a.stdout, runSummary(r))
			code := runExit(r.Status)
			if code == exitJobFailed {
				a.printFailedSteps(ctx, c, r)
			}
			return code
		},
	}
	cmd := &cobra.Command{
		Use:   "run RUN... [--timeout DURATION]",
		Short: "Wait for workflow runs to end and exit with their outcome",
		Long: "Wait until every RUN has ended (or --timeout has passed), print how each ended, and for each that did not\n" +
			"succeed the end of its failed steps' logs. Several runs exit with the worst of their codes.\n\n" + runExitCodesHelp,
		Example:           "  runplane wait run release-x7k2p\n  runplane wait run $(runplane run workflow release --async) --timeout 30m",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeNames(0, runIDs),
		RunE:              func(cmd *cobra.Command, args []string) error { return waitAll(a, cmd.Context(), args, w) },
	}
	w.flags(cmd, "run")
	return cmd
}
