package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// defaultReconnect is how long logs -f and wait keep trying to reach a server that went away (a restart, a
// replica replaced) before they give up with exitUnreachable.
const defaultReconnect = time.Minute

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	var reconnect time.Duration
	cmd := &cobra.Command{
		Use:   "logs JOB",
		Short: "Print a job's output (stdout and stderr), or a workflow run's: runplane logs run RUN",
		Long: "Print a job's combined output. With -f the output is streamed until the job ends, and the command exits\n" +
			"with the job's outcome; when the server goes away meanwhile, it reconnects for up to --reconnect and\n" +
			"resumes where it was.\n\n" + exitCodesHelp,
		Example:           "  runplane logs hello-x7k2p\n  runplane logs -f hello-x7k2p",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(1, jobIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect()
			if err != nil {
				return err
			}
			if !follow {
				rc, err := c.Log(cmd.Context(), args[0], false)
				if err != nil {
					return waitError(err)
				}
				defer rc.Close()
				if _, err := io.Copy(a.stdout, rc); err != nil {
					return waitError(fmt.Errorf("read log of %s: %w", args[0], err))
				}
				return nil
			}
			return a.followLog(cmd.Context(), c, args[0], reconnect)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming until the job ends, then exit with its outcome")
	cmd.Flags().DurationVar(&reconnect, "reconnect", defaultReconnect, "with -f: how long to keep trying to reach a server that went away (0: give up at once)")
	cmd.AddCommand(a.logsRunCommand())
	return cmd
}

// followLog streams job id's log to stdout until the job ends and returns the exit its outcome calls for.
func (a *app) followLog(ctx context.Context, c *client.Client, id string, reconnect time.Duration) error {
	job, err := a.followJob(ctx, c, id, reconnect)
	if err != nil || ctx.Err() != nil {
		return err
	}
	if job.Status != api.JobSucceeded {
		fmt.Fprintln(a.stderr, jobSummary(job))
	}
	return exitError(jobExit(job.Status))
}

// followJob streams job id's log to stdout until the job ends, and returns the job as it ended (the zero job, and
// no error, when ctx ended first). A stream that ends before the job does (the server stopped, a proxy cut it) is
// resumed from the byte it reached.
func (a *app) followJob(ctx context.Context, c *client.Client, id string, reconnect time.Duration) (api.Job, error) {
	var offset int64
	retry := retrier{window: reconnect}
	for {
		rc, err := c.LogFrom(ctx, id, true, offset)
		if err == nil {
			n, cerr := io.Copy(a.stdout, rc)
			rc.Close()
			offset += n
			if ctx.Err() != nil {
				return api.Job{}, nil // interrupted while following: not a failure
			}
			if n > 0 {
				retry.reset()
			}
			_ = cerr // a broken stream is told apart from an ended one by the job's status below
			var job api.Job
			if job, err = c.GetJob(ctx, id); err == nil && job.Status.Final() {
				return job, nil
			}
		}
		if ctx.Err() != nil {
			return api.Job{}, nil
		}
		if err != nil && !unreachable(err) {
			return api.Job{}, waitError(err)
		}
		// The stream broke or the server is away, and the job has not ended: try again, for a while.
		if !retry.wait(ctx) {
			return api.Job{}, &codedError{code: exitUnreachable, err: fmt.Errorf("the server went away while following %s, and did not come back within %s (the job may still be running; run \"runplane logs -f %s\" again)", id, reconnect, id)}
		}
	}
}

// unreachable tells whether err means the server could not be reached (rather than that it answered).
func unreachable(err error) bool {
	var ce *codedError
	return errors.As(waitError(err), &ce) && ce.code == exitUnreachable
}

// retrier paces attempts to reach a server that went away: backing off from 250ms to 2s, for a window of time
// counted from the first failure since the last success.
type retrier struct {
	window time.Duration
	since  time.Time
	delay  time.Duration
}

func (r *retrier) reset() { r.since, r.delay = time.Time{}, 0 }

// wait sleeps before the next attempt; false when the window has passed (or ctx ended).
func (r *retrier) wait(ctx context.Context) bool {
	now := time.Now()
	if r.since.IsZero() {
		r.since = now
	}
	if now.Sub(r.since) >= r.window {
		return false
	}
	r.delay = min(max(2*r.delay, 250*time.Millisecond), 2*time.Second)
	t := time.NewTimer(r.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
