package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) runWorkflowCommand() *cobra.Command {
	var input, idemKey, output string
	var wait waitFlag
	var async bool
	cmd := &cobra.Command{
		Use:     "workflow NAME [--input JSON|@FILE|@-] [--wait[=DURATION] | --async]",
		Aliases: []string{"wf"},
		Short:   "Start a run of a workflow",
		Long: "Start a run of workflow NAME with parameters (--input, a JSON object) checked against the workflow's\n" +
			"parameter schema.\n\n" +
			"When the run ends while the server waits (a synchronous workflow, or --wait), the tree of its steps is\n" +
			"printed on stdout and its status on stderr; a run that did not succeed also prints the end of its failed\n" +
			"steps' logs. Otherwise (--async, or a workflow that is not synchronous) the run id is printed; see it with\n" +
			"\"runplane get run ID\" and follow it with \"runplane logs run -f ID\".\n\n" + runExitCodesHelp,
		Example: "  runplane run workflow release --input '{\"version\": \"1.2.0\"}' --wait\n" +
			"  runplane run workflow release -i @params.json --async\n  runplane run workflow release --wait 5m -o json",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(1, workflowNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			if async && wait.set {
				return usage(cmd, "--async and --wait: give one")
			}
			body, err := a.readInput(input)
			if err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			opts := submitOptions(wait, idemKey)
			if async {
				opts.Wait = new(time.Duration)
			}
			run, finished, err := c.StartRun(cmd.Context(), args[0], body, opts)
			return a.runSubmitted(cmd, c, output, wait, run, finished, err)
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "the run's parameters: a JSON object, @FILE, or @- for stdin")
	cmd.Flags().BoolVar(&async, "async", false, "answer at once with the run's id, even for a synchronous workflow")
	addSubmitFlags(cmd, &wait, &idemKey, &output)
	cmd.Flags().Lookup("wait").Usage = "wait up to DURATION for the run to end (bare --wait: " + api.MaxSyncTimeout.String() + ")"
	cmd.Flags().Lookup("idempotency-key").Usage = "starting again with the same key returns the same run"
	return cmd
}

// runSubmitted reports the answer to a run's start (run workflow, rerun run): the ended run, or the started one's
// id; the exit code says how the run ended, or that the wait asked for ran out.
func (a *app) runSubmitted(cmd *cobra.Command, c *client.Client, output string, wait waitFlag, run api.Run, finished bool, err error) error {
	if err != nil {
		return waitError(err)
	}
	if finished {
		return a.printRunFinished(cmd, c, output, run)
	}
	if !isTable(output) {
		if err := a.print(cmd, output, api.RunCreated{Msg: api.RunCreatedMsg, ID: run.ID, Status: run.Status}, nil); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout, run.ID)
		fmt.Fprintf(a.stderr, "run %s created; see it with \"runplane get run %s\", follow it with \"runplane logs run -f %s\"\n", run.ID, run.ID, run.ID)
	}
	if wait.set && wait.d > 0 {
		return runStillActive(run)
	}
	return nil
}

// printRunFinished prints an ended run (its tree, or the run as -o asks) and its status on stderr; a run that did
// not succeed prints the end of its failed steps' logs and makes the command exit 1.
func (a *app) printRunFinished(cmd *cobra.Command, c *client.Client, output string, run api.Run) error {
	if isTable(output) {
		printRunTree(a.stdout, time.Now(), run, output == "wide")
	} else if err := a.print(cmd, output, run, nil); err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, runSummary(run))
	if run.Status != api.RunSucceeded {
		a.printFailedSteps(cmd.Context(), c, run)
		return exitError(runExit(run.Status))
	}
	return nil
}

// printFailedSteps prints, on stderr, the end of the log of each failed step of run.
func (a *app) printFailedSteps(ctx context.Context, c *client.Client, run api.Run) {
	for _, s := range run.Steps {
		if s.Status != api.StepFailed || s.Job == "" {
			continue
		}
		fmt.Fprintf(a.stderr, "step %s failed (job %s)", s.Name, s.Job)
		if s.Message != "" {
			fmt.Fprintf(a.stderr, ": %s", s.Message)
		}
		fmt.Fprintln(a.stderr)
		a.printLogTail(ctx, c, s.Job)
	}
}

// runSummary is a one-line account of a run: `run release-x7k2p failed: step test failed`.
func runSummary(r api.Run) string {
	s := fmt.Sprintf("run %s %s", r.ID, r.Status)
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}
