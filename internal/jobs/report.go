package jobs

import (
	"context"
	"log/slog"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// What the engine tells operators about each job: one log line when its attempt starts and one when the job
// ends (on the server that ended it), and the job metrics. Durations are time.Duration values, which the
// server's log handlers write with their unit ("1.5s"). Inputs, output and secrets are never logged.

// started logs that job's attempt started on runner.
func (e *Engine) started(job store.Job, runner string) {
	attrs := []slog.Attr{
		slog.String("job", job.ID),
		slog.String("task", job.Task),
		slog.String("owner", job.Owner),
		slog.String("runner", runner),
	}
	if job.StartTime != nil && !job.CreateTime.IsZero() {
		// The two times may come from different clocks (the submitting replica's, the store's): never below 0.
		attrs = append(attrs, slog.Duration("queued", max(job.StartTime.Sub(job.CreateTime), 0)))
	}
	e.log.LogAttrs(context.Background(), slog.LevelInfo, "job started", attrs...)
}

// ended logs a job that reached its final state and tells Options.Finished. The caller counts it in the metrics
// first (e.metrics.observe), before it tells the job's waiters.
func (e *Engine) ended(job store.Job) {
	if e.opts.Finished != nil {
		e.opts.Finished(job)
	}
	attrs := []slog.Attr{
		slog.String("job", job.ID),
		slog.String("task", job.Task),
		slog.String("owner", job.Owner),
		slog.String("status", string(job.Status)),
	}
	if job.ExitCode != nil {
		attrs = append(attrs, slog.Int("exit_code", *job.ExitCode))
	}
	if job.Reason != "" && job.Status != api.JobSucceeded {
		attrs = append(attrs, slog.String("reason", job.Reason))
	}
	if job.StartTime != nil && job.CompletionTime != nil {
		attrs = append(attrs, slog.Duration("duration", max(job.CompletionTime.Sub(*job.StartTime), 0)))
	}
	e.log.LogAttrs(context.Background(), slog.LevelInfo, "job ended", attrs...)
}
