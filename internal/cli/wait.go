package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) waitCommand() *cobra.Command {
	w := waiter[api.Job]{
		poll: func(ctx context.Context, c *client.Client, id string, d time.Duration) (api.Job, error) {
			return c.WaitJob(ctx, id, d)
		},
		ended: func(j api.Job) bool { return j.Status.Final() },
		report: func(ctx context.Context, c *client.Client, j api.Job) int {
			fmt.Fprintln(a.stdout, jobSummary(j))
			code := jobExit(j.Status)
			if code == exitJobFailed {
				a.printLogTail(ctx, c, j.ID)
			}
			return code
		},
	}
	cmd := &cobra.Command{
		Use:   "wait JOB... [--timeout DURATION]",
		Short: "Wait for jobs (or workflow runs: runplane wait run RUN) to end and exit with their outcome",
		Long: "Wait until every JOB has ended (or --timeout has passed), print how each ended, and for each that did not\n" +
			"succeed the end of its log. Several jobs exit with the worst of their codes.\n\n" + exitCodesHelp,
		Example:           "  runplane wait hello-x7k2p\n  runplane wait $(runplane run backup --wait=0) --timeout 30m",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeNames(0, jobIDs),
		RunE:              func(cmd *cobra.Command, args []string) error { return waitAll(a, cmd.Context(), args, w) },
	}
	w.flags(cmd, "job")
	cmd.AddCommand(a.waitRunCommand())
	return cmd
}

// waiter is `runplane wait` for one kind of thing (jobs, runs): poll long-polls one until it ends or the duration
// passes, ended says whether it has, and report prints how it ended (and more of it when it failed) and answers
// its exit code.
type waiter[T any] struct {
	poll   func(ctx context.Context, c *client.Client, id string, d time.Duration) (T, error)
	ended  func(T) bool
	report func(ctx context.Context, c *client.Client, v T) int

	timeout, reconnect time.Duration
}

// flags adds --timeout and --reconnect to cmd, for a thing called noun.
func (w *waiter[T]) flags(cmd *cobra.Command, noun string) {
	cmd.Flags().DurationVar(&w.timeout, "timeout", 0, "give up after DURATION, exiting 3 if a "+noun+" is still queued or running (0: wait as long as it takes)")
	cmd.Flags().DurationVar(&w.reconnect, "reconnect", defaultReconnect, "how long to keep trying to reach a server that went away")
}

// waitAll waits for each id in turn, reports each as it ends (an error as it happens), and exits with the worst
// of their codes.
func waitAll[T any](a *app, ctx context.Context, ids []string, w waiter[T]) error {
	c, err := a.connect()
	if err != nil {
		return err
	}
	var deadline time.Time
	if w.timeout > 0 {
		deadline = time.Now().Add(w.timeout)
	}
	worst := 0
	for _, id := range ids {
		v, err := await(ctx, c, id, deadline, w)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		code := 0
		if err != nil {
			err = waitError(err)
			a.printError(err)
			code = err.(*codedError).code
		} else {
			code = w.report(ctx, c, v)
		}
		worst = max(worst, code)
	}
	return exitError(worst)
}

// await long-polls id until it has ended or deadline (zero: none) has passed, riding out a server that goes away
// for up to w.reconnect.
func await[T any](ctx context.Context, c *client.Client, id string, deadline time.Time, w waiter[T]) (T, error) {
	retry := retrier{window: w.reconnect}
	var zero T
	for {
		poll := api.MaxSyncTimeout
		if !deadline.IsZero() {
			poll = min(poll, time.Until(deadline))
		}
		v, err := w.poll(ctx, c, id, max(poll, 0))
		switch {
		case err == nil:
			retry.reset()
			if w.ended(v) || (!deadline.IsZero() && !time.Now().Before(deadline)) {
				return v, nil
			}
			continue
		case ctx.Err() != nil || !unreachable(err):
			return zero, err
		}
		if !retry.wait(ctx) || (!deadline.IsZero() && time.Now().After(deadline)) {
			return zero, err
		}
	}
}
