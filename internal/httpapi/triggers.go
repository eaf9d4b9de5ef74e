package httpapi

import (
	"context"

	"github.com/runplane/runplane/api"
)

// mayStart is a 403 unless the caller may start what a trigger (a "cron job", a "webhook") names: jobs write on
// the task, or runs write on the workflow. The target need not exist yet (a declarative tool may create it later).
// Saving a trigger needs this, so that a trigger widens no one's rights; its firings check its owner again.
func mayStart(ctx context.Context, trigger, task, workflow string) error {
	if workflow != "" {
		if !may(ctx, api.AccessWrite, api.ResourceRuns, workflow) {
			return withMsg(ErrForbidden, "forbidden: a %s of workflow %q needs write access to its runs", trigger, workflow)
		}
		return nil
	}
	if !may(ctx, api.AccessWrite, api.ResourceJobs, task) {
		return withMsg(ErrForbidden, "forbidden: a %s of task %q needs write access to its jobs", trigger, task)
	}
	return nil
}

// targetKind names what a trigger starts, for messages: "task NAME" or "workflow NAME".
func targetKind(task, workflow string) string {
	if workflow != "" {
		return "workflow " + workflow
	}
	return "task " + task
}
