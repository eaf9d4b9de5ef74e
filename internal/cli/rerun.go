package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) rerunCommand() *cobra.Command {
	var idemKey, output string
	var wait waitFlag
	cmd := &cobra.Command{
		Use:   "rerun JOB [--wait[=DURATION]]",
		Short: "Run a job's task again with the job's input (or a workflow run again: runplane rerun run RUN)",
		Long: "Start a new job of JOB's task with the input JOB was run with, checked again against the task's schema\n" +
			"as it is now. It answers as \"runplane run\" does.\n\n" + exitCodesHelp,
		Example:           "  runplane rerun hello-x7k2p --wait\n  runplane rerun backup-4k2z9 -o json",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(1, jobIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			job, finished, err := c.Rerun(cmd.Context(), args[0], submitOptions(wait, idemKey))
			return a.submitted(cmd, c, output, wait, job, finished, err)
		},
	}
	addSubmitFlags(cmd, &wait, &idemKey, &output)
	cmd.AddCommand(a.rerunRunCommand())
	return cmd
}
