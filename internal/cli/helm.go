package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/internal/platform/chart/helmchart/release"
)

// helmCommand is the step a Krateo composition's job runs (it is not meant to be typed): it installs, upgrades
// or uninstalls the composition's Helm release with the Helm SDK, from the job's input files.
func (a *app) helmCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "helm install|upgrade|uninstall [--dir DIR] [--chart FILE] [--composition FILE] [--kubeconfig FILE] [--discovery FILE] [--krateo-namespace NS]",
		Short: "Install, upgrade or uninstall a Krateo composition's Helm release (the step of its job)",
		Long: "The step the server's composition jobs run: it reads the chart (chart.tgz), the composition\n" +
			"(composition.json) and the kubeconfig from the job's input directory ($RUNPLANE_INPUT_DIR, or --dir),\n" +
			"installs (or upgrades) or uninstalls the release with Krateo's values and labels, and prints the\n" +
			"release's managed objects and the chart's digest as the job's ^JSON result.",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := release.Main(cmd.Context(), args, a.stdout, a.stderr); code != 0 {
				return fmt.Errorf("helm %v failed", firstOr(args, ""))
			}
			return nil
		},
	}
}

func firstOr(args []string, def string) string {
	if len(args) == 0 {
		return def
	}
	return args[0]
}
