package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) cancelRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run RUN...",
		Short: "Cancel queued or running workflow runs",
		Long: "Cancel workflow runs: the jobs of their running steps are cancelled, no further step starts, and each run\n" +
			"ends with status cancelled. Cancelling a run that already ended is an error (409).",
		Example:           "  runplane cancel run release-x7k2p",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeNames(0, runIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			for _, id := range args {
				run, err := c.CancelRun(cmd.Context(), id)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "run/%s %s\n", id, run.Status)
			}
			return nil
		},
	}
}
