package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/internal/server"
)

func (a *app) backupCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "backup DIR [--data-dir DIR]",
		Short: "Back up a server's database and keys into a new directory, while it runs",
		Long: "Write a consistent snapshot of the server's SQLite database and its keys into DIR, a new directory\n" +
			"that is itself a data dir: restore by starting a server on it (runplane serve --data-dir DIR), or\n" +
			"by copying its files into a stopped server's data dir. The server may keep running: the snapshot\n" +
			"holds every change committed before it began. Job logs and the git cache are not copied (a job's\n" +
			"stdout is in the database). With a PostgreSQL store (RUNPLANE_STORE) only the keys are written:\n" +
			"back the database up with pg_dump. Keep backups as secret as the data dir: the keys open every\n" +
			"runner's token and secrets.",
		Example: "  runplane backup /var/backups/runplane-$(date +%F) --data-dir /var/lib/runplane",
		Args:    checkArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := server.DefaultConfig()
			if err := cfg.LoadProcessEnv(); err != nil {
				return err
			}
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			wrote, err := server.Backup(cmd.Context(), cfg, args[0])
			for _, f := range wrote {
				fmt.Fprintln(a.stdout, f)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", server.DefaultConfig().DataDir, "the server's data dir (env RUNPLANE_DATA_DIR)")
	return cmd
}
