package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) logsRunCommand() *cobra.Command {
	var follow bool
	var steps []string
	var reconnect time.Duration
	cmd := &cobra.Command{
		Use:   "run RUN [--step STEP]... [-f]",
		Short: "Print the output of a workflow run's steps",
		Long: "Print the output of each step of a workflow run, in the workflow's order, each under a header naming\n" +
			"the step and its job (\"==> step build (job build-x7k2p, succeeded) <==\"); a step that did not run says\n" +
			"why. --step keeps only the steps named. With -f the run is followed until it ends: each step's output is\n" +
			"printed whole as it starts, a running step's streamed live, and the command exits with the run's\n" +
			"outcome.\n\n" + runExitCodesHelp,
		Example:           "  runplane logs run release-x7k2p\n  runplane logs run -f release-x7k2p\n  runplane logs run release-x7k2p --step test",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(1, runIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			run, err := c.GetRun(ctx, args[0])
			if err != nil {
				return waitError(err)
			}
			for _, s := range steps {
				if !slices.ContainsFunc(run.Steps, func(x api.StepRun) bool { return x.Name == s }) {
					names := make([]string, 0, len(run.Steps))
					for _, x := range run.Steps {
						names = append(names, x.Name)
					}
					return usage(cmd, "--step %q: run %s has no such step (its steps: %s)", s, run.ID, strings.Join(names, ", "))
				}
			}
			if follow {
				return a.followRun(ctx, c, run.ID, steps, reconnect)
			}
			for _, s := range selected(run, steps) {
				if s.Job == "" {
					fmt.Fprintln(a.stdout, stepHeader(s, true))
					continue
				}
				fmt.Fprintln(a.stdout, stepHeader(s, true))
				rc, err := c.Log(ctx, s.Job, false)
				if err != nil {
					return waitError(err)
				}
				_, err = io.Copy(a.stdout, rc)
				rc.Close()
				if err != nil {
					return waitError(fmt.Errorf("read log of %s: %w", s.Job, err))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow the run until it ends, then exit with its outcome")
	cmd.Flags().StringArrayVar(&steps, "step", nil, "only this step (repeatable)")
	cmd.Flags().DurationVar(&reconnect, "reconnect", defaultReconnect, "with -f: how long to keep trying to reach a server that went away (0: give up at once)")
	return cmd
}

// selected is run's steps, in the workflow's order, kept to names unless it is empty.
func selected(run api.Run, names []string) []api.StepRun {
	var out []api.StepRun
	for _, s := range run.Steps {
		if len(names) == 0 || slices.Contains(names, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// stepHeader is the line above a step's output: the step, its job and, when withStatus, the step's status; or,
// for a step without a job, why it has none.
func stepHeader(s api.StepRun, withStatus bool) string {
	if s.Job == "" {
		why := string(s.Status)
		if s.Status == api.StepPending {
			why = "not started"
		}
		if s.Message != "" {
			why += ": " + s.Message
		}
		return fmt.Sprintf("==> step %s: %s <==", s.Name, why)
	}
	if withStatus {
		return fmt.Sprintf("==> step %s (job %s, %s) <==", s.Name, s.Job, s.Status)
	}
	return fmt.Sprintf("==> step %s (job %s) <==", s.Name, s.Job)
}

// followRun prints the output of run id's steps (those named, or all) until the run ends: the first step in the
// workflow's order whose job it has not printed yet is followed to its end (its output so far, then live), and so
// on; steps that end without a job are named once. It returns the exit the run's outcome calls for.
func (a *app) followRun(ctx context.Context, c *client.Client, id string, names []string, reconnect time.Duration) error {
	printed := map[string]bool{} // job ids, and step names that ended without one
	retry := retrier{window: reconnect}
	idle := time.Duration(0)
	for {
		run, err := c.GetRun(ctx, id)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !unreachable(err) {
				return waitError(err)
			}
			if !retry.wait(ctx) {
				return &codedError{code: exitUnreachable, err: fmt.Errorf("the server went away while following run %s, and did not come back within %s (the run may still be going; run \"runplane logs run -f %s\" again)", id, reconnect, id)}
			}
			continue
		}
		retry.reset()
		progressed := false
		for _, s := range selected(run, names) {
			switch {
			case s.Job != "" && !printed[s.Job]:
				fmt.Fprintln(a.stdout, stepHeader(s, false))
				job, err := a.followJob(ctx, c, s.Job, reconnect)
				if err != nil || ctx.Err() != nil {
					return err
				}
				printed[s.Job] = true
				if job.Status != api.JobSucceeded {
					fmt.Fprintln(a.stdout, "--- "+jobSummary(job))
				}
				progressed = true
			case s.Job == "" && s.Status.Final() && !printed[s.Name]:
				fmt.Fprintln(a.stdout, stepHeader(s, true))
				printed[s.Name] = true
				progressed = true
			default:
				continue
			}
			break // one step at a time: the run has moved on meanwhile
		}
		if progressed {
			idle = 0
			continue
		}
		if run.Status.Final() && allPrinted(run, names, printed) {
			if run.Status != api.RunSucceeded {
				fmt.Fprintln(a.stderr, runSummary(run))
			}
			return exitError(runExit(run.Status))
		}
		// Nothing new yet: look again soon, less often the longer nothing happens.
		idle = min(max(2*idle, 200*time.Millisecond), 2*time.Second)
		t := time.NewTimer(idle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// allPrinted tells whether every selected step of an ended run has been printed.
func allPrinted(run api.Run, names []string, printed map[string]bool) bool {
	for _, s := range selected(run, names) {
		if (s.Job != "" && !printed[s.Job]) || (s.Job == "" && s.Status.Final() && !printed[s.Name]) {
			return false
		}
	}
	return true
}
