package cli

import (
	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
)

func (a *app) rerunRunCommand() *cobra.Command {
	var idemKey, output string
	var wait waitFlag
	var fromFailed bool
	cmd := &cobra.Command{
		Use:   "run RUN [--from-failed] [--wait[=DURATION]]",
		Short: "Run a workflow run's workflow again with the run's parameters",
		Long: "Start a new run of RUN's workflow with the parameters RUN was started with: every step again, or with\n" +
			"--from-failed only the steps that failed, were cancelled or were skipped, the others' outputs reused.\n" +
			"It answers as \"runplane run workflow\" does.\n\n" + runExitCodesHelp,
		Example:           "  runplane rerun run release-x7k2p --from-failed --wait\n  runplane rerun run release-x7k2p -o json",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(1, runIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			if idemKey != "" {
				return usage(cmd, "--idempotency-key does not apply to rerun run")
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			run, err := c.RerunRun(ctx, args[0], fromFailed)
			finished := false
			if err == nil && wait.set && wait.d > 0 {
				var done api.Run
				if done, err = c.WaitRun(ctx, run.ID, wait.d); err == nil {
					run, finished = done, done.Status.Final()
				}
			}
			return a.runSubmitted(cmd, c, output, wait, run, finished, err)
		},
	}
	cmd.Flags().BoolVar(&fromFailed, "from-failed", false, "run only what failed, was cancelled or was skipped, reusing the outputs of the steps that succeeded")
	addSubmitFlags(cmd, &wait, &idemKey, &output)
	cmd.Flags().Lookup("wait").Usage = "wait up to DURATION for the new run to end (bare --wait: " + api.MaxSyncTimeout.String() + ")"
	_ = cmd.Flags().MarkHidden("idempotency-key")
	return cmd
}
