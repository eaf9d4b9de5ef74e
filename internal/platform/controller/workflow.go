package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// maxSteps bounds the stored changes one reconcile makes before it yields to other objects.
const maxSteps = 32

func (c *Controller) reconcileRequest(ctx context.Context, k key) error {
	return c.steps(ctx, k, c.loadRequest)
}

func (c *Controller) reconcilePromise(ctx context.Context, k key) error {
	return c.steps(ctx, k, c.loadPromise)
}

// steps reconciles k one stored change at a time. It reads k once: each change is stored over the version it
// was made from and leaves o as stored (save), so the next change starts from it without reading it again; a
// change made meanwhile by someone else fails the next save with store.ErrConflict, and the worker reads k afresh.
func (c *Controller) steps(ctx context.Context, k key, load func(context.Context, key) (*object, error)) error {
	o, err := load(ctx, k)
	if err != nil || o == nil {
		return err
	}
	for range maxSteps {
		more, err := c.step(ctx, o)
		if err != nil || !more {
			return err
		}
	}
	c.q.add(k)
	return nil
}

// step makes the next change o's workflows need, if any; more says one was stored and there may be another.
func (c *Controller) step(ctx context.Context, o *object) (more bool, err error) {
	now := c.opts.Now()
	if !deletion(o.status).IsZero() {
		return c.stepDelete(ctx, o, now)
	}
	if o.paused() {
		return false, nil
	}
	ps := o.pipelines(kratix.ActionConfigure)
	if c.due(o, now) {
		if o.request == nil {
			// A promise's static dependencies go to every destination it selects, as its spec changes.
			st, err := c.placeDependencies(ctx, o, o.status)
			var bad *outputError
			switch {
			case errors.As(err, &bad):
				c.log.Warn("promise dependencies not written", "promise", o.promise.Metadata.Name, "err", err)
			case err != nil:
				return false, err
			default:
				o.status = st
			}
		}
		return true, c.restart(ctx, o, kratix.ActionConfigure, ps, now)
	}
	more, finished, err := c.advance(ctx, o, kratix.ActionConfigure, ps, now)
	if finished && err == nil {
		if moved, err := c.rehome(ctx, o); err != nil || moved {
			return moved, err
		}
		c.q.at(o.k, c.finishedAt(o).Add(c.interval(o)), now)
	}
	return more, err
}

// due says o's configure workflow must start (again) from its first pipeline: it never ran, it ran for another
// generation of the object or its promise, or it finished longer than the reconcile interval ago.
func (c *Controller) due(o *object, now time.Time) bool {
	st := o.status
	switch {
	case wfString(st, fieldAction) != string(kratix.ActionConfigure),
		wfInt(st, fieldRound) == 0,
		wfInt(st, fieldGeneration) != o.meta().Generation:
		return true
	case o.request != nil && wfInt(st, fieldPromiseGeneration) != o.promise.Metadata.Generation:
		return true
	}
	at := c.finishedAt(o)
	return !at.IsZero() && !now.Before(at.Add(c.interval(o)))
}

// finishedAt is when o's configure workflow last finished (completed or failed); zero while it runs or waits.
func (c *Controller) finishedAt(o *object) time.Time {
	ps, _ := kratix.Pipelines(o.status)
	for _, p := range ps {
		if p.Phase != kratix.PhaseSucceeded && p.Phase != kratix.PhaseFailed {
			return time.Time{}
		}
	}
	conds, _ := o.status["conditions"].([]any)
	for _, v := range conds {
		if m, ok := v.(map[string]any); ok && m["type"] == kratix.ConditionConfigureWorkflowCompleted {
			s, _ := m["lastTransitionTime"].(string)
			t, _ := time.Parse(time.RFC3339, s)
			return t
		}
	}
	return time.Time{}
}

// interval is how long after finishing o's configure workflow runs again: its promise's
// spec.workflows.config.reconciliationInterval, else Options.ReconcileInterval.
func (c *Controller) interval(o *object) time.Duration {
	if s := o.promise.Spec.Workflows.Config.ReconciliationInterval; s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return d
		}
	}
	return c.opts.ReconcileInterval
}

// restart stores o's workflow of action a as starting from its first pipeline, in a new round, and starts it.
// A pipeline of the round it replaces that still runs is canceled first (a spec change, a reconcile or a delete
// makes its outcome moot: it would finish only to be ignored).
func (c *Controller) restart(ctx context.Context, o *object, a kratix.Action, ps []api.Pipeline, now time.Time) error {
	c.cancelRunning(ctx, o)
	t := o.target(a)
	st := kratix.ResetPipelines(o.status, t, kratix.Names(ps), now)
	st = setRound(st, o, a)
	if a == kratix.ActionConfigure {
		st["observedGeneration"] = o.meta().Generation
	}
	if len(ps) == 0 {
		st = kratix.Completed(st, t, now)
	} else {
		// In progress from now on: the last run's True must not read as this one's. The first pipeline starts in
		// the same write (one status write fewer per workflow).
		st = kratix.Running(st, t, now)
		st = kratix.StartPipeline(st, t, kratix.Names(ps)[0], now)
	}
	return c.save(ctx, o, st)
}

// cancelRunning cancels the runs of o's pipelines that its status says are running and that this process awaits
// (it started them, or saw them running); a run another replica awaits ends as it would have, and is ignored.
func (c *Controller) cancelRunning(ctx context.Context, o *object) {
	a := kratix.Action(wfString(o.status, fieldAction))
	for _, p := range mustPipelines(o.status) {
		if p.Phase != kratix.PhaseRunning {
			continue
		}
		rk := runKey(o, a, p.Name)
		c.mu.Lock()
		id, ok := c.live[rk]
		if ok {
			c.canceled[rk] = true
		}
		c.mu.Unlock()
		if !ok {
			continue
		}
		if _, err := c.runs.Cancel(ctx, id, Owner); err != nil && !errors.Is(err, runs.ErrFinished) {
			c.log.Warn("cancel the previous round's pipeline", "object", o.k.String(), "pipeline", p.Name, "run", id, "err", err)
			continue
		}
		c.log.Info("canceled the previous round's pipeline", "object", o.k.String(), "pipeline", p.Name, "run", id)
	}
}

// setRound records in st that o's workflow of action a starts a new round, for the object's and its promise's
// current generations.
func setRound(st map[string]any, o *object, a kratix.Action) map[string]any {
	round := wfInt(st, fieldRound) + 1
	w := workflowsOf(st)
	w[fieldAction] = string(a)
	w[fieldGeneration] = o.meta().Generation
	w[fieldPromiseGeneration] = o.promise.Metadata.Generation
	w[fieldRound] = round
	return st
}

// advance moves o's workflow of action a on by one change: starts its next pipeline, or takes in the end of the
// one running. finished says every pipeline succeeded or one failed: nothing is left to do.
func (c *Controller) advance(ctx context.Context, o *object, a kratix.Action, ps []api.Pipeline, now time.Time) (more, finished bool, err error) {
	t := o.target(a)
	for i, name := range kratix.Names(ps) {
		p, _ := kratix.Pipeline(o.status, name)
		switch p.Phase {
		case kratix.PhaseSucceeded:
			continue
		case kratix.PhaseFailed:
			return false, true, nil
		case kratix.PhaseSuspended:
			if p.NextRetryAt == "" {
				return false, false, nil // until resumed
			}
			at, err := time.Parse(time.RFC3339, p.NextRetryAt)
			if err == nil && now.Before(at) {
				c.q.at(o.k, at, now)
				return false, false, nil
			}
			return true, false, c.save(ctx, o, kratix.StartPipeline(o.status, t, name, now))
		case kratix.PhaseRunning:
			more, err := c.running(ctx, o, a, ps, i, now)
			return more, false, err
		default: // Pending, or a pipeline the status does not list yet
			return true, false, c.save(ctx, o, kratix.StartPipeline(o.status, t, name, now))
		}
	}
	return false, true, nil
}

// runKey is the idempotency key of the run of pipeline in o's current round: the same run whoever starts it.
func runKey(o *object, a kratix.Action, pipeline string) string {
	p, _ := kratix.Pipeline(o.status, pipeline)
	return fmt.Sprintf("kratix/%s/%s/g%d/r%d/%s/a%d", o.meta().UID, a, wfInt(o.status, fieldGeneration),
		wfInt(o.status, fieldRound), pipeline, p.Attempts)
}

// running starts (or finds) the run of pipeline i, which the status says is running, and takes in its end.
func (c *Controller) running(ctx context.Context, o *object, a kratix.Action, ps []api.Pipeline, i int, now time.Time) (bool, error) {
	t := o.target(a)
	names := kratix.Names(ps)
	end := kratix.JobEnd{Generation: o.meta().Generation}
	var job *store.Job
	var err error
	rk := runKey(o, a, names[i])
	run, ended := c.takeEnded(rk)
	if !ended {
		var def api.Workflow
		if err := c.grant(ctx, o.promise); err != nil {
			return false, fmt.Errorf("%s: start pipeline %s: %w", o.k, names[i], err)
		}
		if def, err = c.build(o, a, ps, i); err == nil {
			run, _, err = c.runs.Start(ctx, runs.Request{Workflow: def.Name, Definition: &def, Owner: Owner, OwnerID: Owner,
				IdempotencyKey: rk})
			var invalid *api.InvalidError
			if err != nil && !errors.As(err, &invalid) {
				return false, fmt.Errorf("%s: start pipeline %s: %w", o.k, names[i], err)
			}
		}
	}
	if err == nil {
		if !run.Status.Final() {
			c.watch(ctx, run.ID, rk, o.k)
			return false, nil
		}
		end, job, err = c.jobEnd(ctx, run, end)
		if err != nil {
			return false, err
		}
	}
	if err != nil { // the pipeline cannot run: it failed
		end.Succeeded, end.Reason = false, err.Error()
	}
	after := kratix.AfterPipeline(o.status, t, names, i, end, kratix.Policy{MaxAttempts: c.opts.MaxAttempts}, now)
	for _, w := range after.Warnings {
		c.log.Warn("pipeline metadata", "object", o.k.String(), "pipeline", names[i], "warning", w)
	}
	st := after.Status
	if job != nil && a == kratix.ActionConfigure && (after.Do == kratix.Continue || after.Do == kratix.Suspend || after.Do == kratix.Retry) {
		outs, err := c.place(ctx, o, names[i], *job)
		var bad *outputError
		switch {
		case errors.As(err, &bad):
			// The pipeline's output cannot be placed (its destination-selectors.yaml, a file path): it failed.
			after = kratix.AfterPipeline(o.status, t, names, i, kratix.JobEnd{Reason: bad.Error(), Generation: end.Generation},
				kratix.Policy{}, now)
			st = after.Status
		case err != nil:
			return false, c.worksFailing(ctx, o, err, now)
		default:
			st = worksWritten(setOutputs(st, names[i], outs), now)
		}
	}
	if after.Do == kratix.Retry {
		c.q.at(o.k, after.RetryAt, now)
	}
	if err := c.save(ctx, o, st); err != nil {
		return false, err
	}
	return true, nil
}

// build is the workflow of pipeline i of ps, with o as it is now.
func (c *Controller) build(o *object, a kratix.Action, ps []api.Pipeline, i int) (api.Workflow, error) {
	doc, err := o.doc()
	if err != nil {
		return api.Workflow{}, err
	}
	return kratix.BuildPipeline(kratix.Input{Target: o.target(a), Object: doc, Pipelines: ps, Timeout: c.opts.Timeout}, i)
}

// jobEnd fills in end from run, which ended, and returns its pipeline's job (nil if it had none).
func (c *Controller) jobEnd(ctx context.Context, run store.Run, end kratix.JobEnd) (kratix.JobEnd, *store.Job, error) {
	end.Succeeded = run.Status == api.RunSucceeded
	end.Reason = run.Reason
	if len(run.Steps) == 0 || run.Steps[0].Job == "" {
		if end.Reason == "" {
			end.Reason = "run " + run.ID + " " + string(run.Status)
		}
		return end, nil, nil
	}
	job, err := c.st.GetJob(ctx, run.Steps[0].Job)
	if err != nil {
		return end, nil, fmt.Errorf("run %s: job %s: %w", run.ID, run.Steps[0].Job, err)
	}
	if !end.Succeeded {
		end.Reason = fmt.Sprintf("job %s %s", job.ID, job.Status)
		if job.Reason != "" {
			end.Reason += ": " + job.Reason
		}
	}
	if md := job.Metadata; md != nil {
		end.StatusYAML, end.ControlYAML = md.Status, md.WorkflowControl
	}
	return end, &job, nil
}

// stepDelete runs o's delete workflow, then removes its files and o itself.
func (c *Controller) stepDelete(ctx context.Context, o *object, now time.Time) (bool, error) {
	ps := o.pipelines(kratix.ActionDelete)
	if wfString(o.status, fieldAction) != string(kratix.ActionDelete) {
		return true, c.restart(ctx, o, kratix.ActionDelete, ps, now)
	}
	more, finished, err := c.advance(ctx, o, kratix.ActionDelete, ps, now)
	if err != nil || !finished {
		return more, err
	}
	for _, p := range mustPipelines(o.status) {
		if p.Phase == kratix.PhaseFailed {
			return false, nil // until retried
		}
	}
	if err := c.unplace(ctx, o, outputs(o.status)); err != nil {
		why := "removing its files: " + err.Error()
		if cnd, _ := kratix.FindCondition(o.status, kratix.ConditionDeleteWorkflowCompleted); cnd.Message != why {
			st := kratix.SetCondition(o.status, kratix.Condition{Type: kratix.ConditionDeleteWorkflowCompleted, Status: "False",
				Reason: kratix.ReasonDeleteWorkflowFailed, Message: why}, now)
			if serr := c.save(ctx, o, st); serr != nil {
				return false, serr
			}
		}
		return false, err
	}
	if err := c.remove(ctx, o); err != nil {
		return false, err
	}
	c.log.Info("deleted", "object", o.k.String())
	if o.request == nil {
		if err := c.refreshDependents(ctx, o.promise.Metadata.Name); err != nil {
			c.log.Warn("refresh the promises requiring a deleted one", "promise", o.promise.Metadata.Name, "err", err)
		}
	}
	return false, nil
}

func mustPipelines(st map[string]any) []kratix.PipelineStatus {
	ps, _ := kratix.Pipelines(st)
	return ps
}
