package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// podCommand groups what runs inside a Kubernetes job's pod (package inpod). It is hidden: the Kubernetes
// executor's pod spec calls it, people do not.
func (a *app) podCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "pod",
		Short:  "Run inside a Kubernetes job's pod",
		Hidden: true,
		Args:   checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usage(cmd, "name a subcommand: checkout, run or keep")
		},
	}
	cmd.AddCommand(a.podCheckoutCommand(), a.podRunCommand(), a.podKeepCommand())
	return withoutClientFlags(cmd)
}

func (a *app) podCheckoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "checkout",
		Short: "Clone the runner's branch, copy the secrets and runplane-pid1 (the init container)",
		Long: "Clone RUNPLANE_GIT_BRANCH of RUNPLANE_GIT_URL (with RUNPLANE_GIT_TOKEN, if set) into RUNPLANE_WORKSPACE,\n" +
			"copy the Secret volume at RUNPLANE_SECRETS_SRC to RUNPLANE_SECRETS_DST and runplane-pid1 (the one next\n" +
			"to this binary, or this binary) to RUNPLANE_TOOLS. Failures go to stderr and to RUNPLANE_TERMINATION_LOG (default\n" +
			"/dev/termination-log).",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitCode(inpod.RunCheckout(cmd.Context(), os.Getenv, a.stdout, a.stderr))
		},
	}
}

func (a *app) podKeepCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "keep",
		Short: "Write the job's output and metadata files to stdout, for the executor to keep (the last container)",
		Long: "Write the files under each NAME=DIR of RUNPLANE_KEEP_DIRS, at most RUNPLANE_KEEP_MAX bytes in all, as a\n" +
			"gzipped tar in base64 lines to stdout. Failures go to stderr and to RUNPLANE_TERMINATION_LOG.",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitCode(inpod.RunKeep(os.Getenv, a.stdout, a.stderr))
		},
	}
}

func (a *app) podRunCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run -- COMMAND [ARG...]",
		Short: "Run the job's command as PID 1 of its container",
		Long: "Run COMMAND with stderr merged into stdout, forward SIGTERM, SIGINT, SIGHUP and SIGQUIT to its process\n" +
			"group, reap orphans and exit with its exit code (128+signal if a signal killed it); the termination log\n" +
			"says which signal and how many bytes of output were copied. As runplane-pid1 does.",
		Args: checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, ok := a.stdout.(*os.File)
			if !ok {
				return errors.New("pod run: stdout must be a file")
			}
			return exitCode(pid1.Run(args, os.Getenv, out, a.stderr))
		},
	}
	cmd.Flags().SetInterspersed(false) // the command's own flags are not ours, even without "--"
	return cmd
}

// exitCode ends the command with code, silently.
func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return exitError(code)
}
