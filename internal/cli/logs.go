package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:     "logs JOB",
		Short:   "Print a job's output (stdout and stderr)",
		Example: "  runplane logs hello-x7k2p\n  runplane logs -f hello-x7k2p",
		Args:    checkArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			rc, err := c.Log(cmd.Context(), args[0], follow)
			if err != nil {
				return err
			}
			defer rc.Close()
			if _, err := io.Copy(a.stdout, rc); err != nil {
				if cmd.Context().Err() != nil {
					return nil // interrupted while following: not a failure
				}
				return fmt.Errorf("read log of %s: %w", args[0], err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming until the job ends")
	return cmd
}
