package composer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/platform/chart/helmchart/release"
	"github.com/runplane/runplane/internal/store"
)

// await waits for j's run to end and writes its outcome: the status (install), the removal (uninstall), or a
// failure, started again after a backoff while attempts remain.
func (c *Composer) await(ctx context.Context, j job) {
	var run store.Run
	for {
		r, err := c.runs.Await(ctx, j.run, time.Minute)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("await a composition run", "run", j.run, "err", err)
			continue
		}
		if r.Status.Final() {
			run = r
			break
		}
	}
	k := compKey(j.res, j.ns, j.name)
	c.mu.Lock()
	latest := c.current[k] == j.key
	c.mu.Unlock()
	if !latest {
		return // a newer operation replaced this one
	}
	comp, err := c.st.GetComposition(ctx, j.res, j.ns, j.name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Warn("read a composition", "composition", k, "err", err)
		}
		return
	}
	if run.Status != api.RunSucceeded {
		c.failed(ctx, j, comp, run)
		return
	}
	if j.op == release.Uninstall {
		if err := c.st.DeleteComposition(ctx, j.res, j.ns, j.name); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.log.Warn("remove an uninstalled composition", "composition", k, "err", err)
		}
		c.log.Info("composition uninstalled", "composition", k, "run", run.ID)
		return
	}
	var out release.Output
	if len(run.Steps) > 0 {
		o := run.Steps[0].Outputs
		_ = json.Unmarshal(o["managed"], &out.Managed)
		_ = json.Unmarshal(o["digest"], &out.Digest)
		_ = json.Unmarshal(o["version"], &out.Version)
	}
	st := chart.ReadCompositionStatus(comp.Status)
	v := out.Version
	if v == "" {
		_, v, _ = strings.Cut(comp.APIVersion, "/")
	}
	if out.Digest != st.Digest {
		st.PreviousDigest = st.Digest
	}
	st.Digest, st.Managed = out.Digest, out.Managed
	st.HelmChartVersion = strings.ReplaceAll(strings.TrimPrefix(v, "v"), "-", ".")
	st.ObservedGeneration = comp.Metadata.Generation
	msg := fmt.Sprintf("release installed from chart %s (run %s)", st.HelmChartVersion, run.ID)
	st.SetConditions(time.Now(), comp.Metadata.Generation,
		api.Condition{Type: api.ConditionReady, Status: "True", Reason: chart.ReasonInstalled, Message: msg},
		api.Condition{Type: api.ConditionSynced, Status: "True", Reason: chart.ReasonInstalled, Message: msg})
	if _, err := c.save(ctx, comp, st); err != nil {
		c.log.Warn("write a composition's status", "composition", k, "err", err)
	}
}

// failed records a failed run and starts the operation again after a backoff while attempts remain.
func (c *Composer) failed(ctx context.Context, j job, comp store.Composition, run store.Run) {
	why := string(run.Status)
	if len(run.Steps) > 0 && run.Steps[0].Message != "" {
		why = run.Steps[0].Message
	}
	msg := fmt.Sprintf("helm %s failed (run %s, attempt %d of %d): %s; see the job's log", j.op, run.ID, j.attempt, c.opts.MaxAttempts, why)
	if err := c.fail(ctx, comp, j.op, run.ID, msg); err != nil {
		c.log.Warn("write a composition's status", "composition", compKey(j.res, j.ns, j.name), "err", err)
	}
	if j.attempt >= c.opts.MaxAttempts || run.Status == api.RunCancelled {
		return // visible; a new change (or DELETE again) starts it anew
	}
	wait := c.opts.Backoff << (j.attempt - 1)
	if wait > c.opts.MaxBackoff || wait <= 0 {
		wait = c.opts.MaxBackoff
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	cur, err := c.st.GetComposition(ctx, j.res, j.ns, j.name)
	if err != nil {
		return
	}
	c.mu.Lock()
	latest := c.current[compKey(j.res, j.ns, j.name)] == j.key
	c.mu.Unlock()
	if !latest || (j.op == release.Install && chart.Paused(cur.Metadata)) {
		return
	}
	if err := c.start(ctx, j.op, j.def, cur, j.attempt+1); err != nil {
		c.log.Warn("retry a composition's release", "composition", compKey(j.res, j.ns, j.name), "err", err)
	}
}

// fail writes a failed operation into comp's status (Ready False for an install that never succeeded).
func (c *Composer) fail(ctx context.Context, comp store.Composition, op release.Step, run, msg string) error {
	st := chart.ReadCompositionStatus(comp.Status)
	st.Operation = string(op)
	if run != "" {
		st.Run = run
	}
	st.SetConditions(time.Now(), comp.Metadata.Generation,
		api.Condition{Type: api.ConditionReady, Status: ready(st), Reason: chart.ReasonReleaseFailed, Message: msg},
		api.Condition{Type: api.ConditionSynced, Status: "False", Reason: chart.ReasonReleaseFailed, Message: msg})
	_, err := c.save(ctx, comp, st)
	return err
}

// setPaused says in comp's status that its reconciliation is paused.
func (c *Composer) setPaused(ctx context.Context, comp store.Composition) error {
	st := chart.ReadCompositionStatus(comp.Status)
	const msg = `krateo.io/paused is "true": the release is left as it is`
	st.SetConditions(time.Now(), comp.Metadata.Generation,
		api.Condition{Type: api.ConditionReady, Status: ready(st), Reason: chart.ReasonPaused, Message: msg},
		api.Condition{Type: api.ConditionSynced, Status: "False", Reason: chart.ReasonPaused, Message: msg})
	_, err := c.save(ctx, comp, st)
	return err
}

// save writes st over comp's status, reading comp again when something else wrote it meanwhile.
func (c *Composer) save(ctx context.Context, comp store.Composition, st chart.CompositionStatus) (store.Composition, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return comp, err
	}
	for range 5 {
		stored, err := c.st.SetCompositionStatus(ctx, comp.Resource, comp.Metadata.Namespace, comp.Metadata.Name, comp.Version, b)
		if !errors.Is(err, store.ErrConflict) {
			return stored, err
		}
		if comp, err = c.st.GetComposition(ctx, comp.Resource, comp.Metadata.Namespace, comp.Metadata.Name); err != nil {
			return comp, err
		}
	}
	return comp, fmt.Errorf("write the status of %s: %w", comp.Metadata.Name, store.ErrConflict)
}
