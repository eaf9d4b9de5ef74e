package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) cancelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cancel JOB...",
		Short: "Cancel queued or running jobs (or workflow runs: runplane cancel run RUN)",
		Long: "Cancel jobs. A queued job never starts; a running one is stopped (its whole process tree) and ends with\n" +
			"status cancelled. Cancelling a job that already ended is an error (409).",
		Example:           "  runplane cancel hello-x7k2p",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeNames(0, jobIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			for _, id := range args {
				job, err := c.Cancel(cmd.Context(), id)
				if err != nil {
					return err
				}
				// A job may have finished on its own just before the cancel reached it.
				fmt.Fprintf(a.stdout, "job/%s %s\n", id, job.Status)
			}
			return nil
		},
	}
	cmd.AddCommand(a.cancelRunCommand())
	return cmd
}
