package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete runner|task NAME...",
		Short:   "Delete runners or tasks",
		Long:    "Delete runners or tasks by name. A runner that a task still uses cannot be deleted (409).",
		Example: "  runplane delete task hello\n  runplane delete runner examples",
		Args: checkArgs(func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return errors.New("name a resource type (runner or task) and at least one name")
			}
			return nil
		}),
		ValidArgs: []string{"runner", "task"},
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := resourceKinds[args[0]]
			if kind != "runners" && kind != "tasks" {
				return usage(cmd, "cannot delete %q: want runner or task", args[0])
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			for _, name := range args[1:] {
				del, ref := c.DeleteTask, "task/"+name
				if kind == "runners" {
					del, ref = c.DeleteRunner, "runner/"+name
				}
				if err := del(cmd.Context(), name); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s deleted\n", ref)
			}
			return nil
		},
	}
}
