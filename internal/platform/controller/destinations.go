package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/platform/statestore"
	"github.com/runplane/runplane/internal/store"
)

var _ httpapi.DestinationReconciler = (*Controller)(nil)

// ReconcileDestination reacts to a change of destination d. Created or updated: every promise and request is
// looked at again, and output of theirs that matched no destination is placed if it matches now (from the
// pipeline job's output, without running the pipeline again). Deleting, with cleanup all: the files written to
// d are removed from its state store (Kratix's cleanup: all), and an error keeps d. Deleted: output that was at
// d is unplaced in its object's status, and goes to another matching destination if there is one (a request's
// output stays where it was put only as long as that destination exists).
func (c *Controller) ReconcileDestination(ctx context.Context, change httpapi.Change, d api.Destination) error {
	if change == httpapi.ChangeDeleting {
		if d.Cleanup != api.CleanupAll {
			return nil
		}
		return c.cleanDestination(ctx, d)
	}
	c.mu.Lock()
	c.destinations++
	c.mu.Unlock()
	c.resync(ctx)
	return nil
}

// cleanDestination removes every file the outputs of promises and requests placed at d, in one change of its
// state store.
func (c *Controller) cleanDestination(ctx context.Context, d api.Destination) error {
	ps, err := c.st.ListPromises(ctx)
	if err != nil {
		return fmt.Errorf("list promises: %w", err)
	}
	var placements []statestore.Placement
	add := func(o *object, st map[string]any) {
		for _, out := range outputs(st) {
			if out.Destination == d.Name {
				placements = append(placements, c.placement(o, out.Pipeline, out.Group, d))
			}
		}
	}
	for _, p := range ps {
		b, err := json.Marshal(p.Status)
		if err != nil {
			return err
		}
		st, err := decodeStatus(b)
		if err != nil {
			return fmt.Errorf("promise %s: status: %w", p.Metadata.Name, err)
		}
		add(&object{promise: p}, st)
		rs, err := c.st.ListResourceRequests(ctx, p.Metadata.Name, "")
		if err != nil {
			return fmt.Errorf("promise %s: list requests: %w", p.Metadata.Name, err)
		}
		for _, r := range rs {
			st, err := decodeStatus(r.Status)
			if err != nil {
				return fmt.Errorf("request %s/%s: status: %w", r.Metadata.Namespace, r.Metadata.Name, err)
			}
			add(&object{promise: p, request: &r}, st)
		}
	}
	if len(placements) == 0 {
		return nil
	}
	if _, err := c.write(ctx, d.StateStoreRef.Name, placements, true); err != nil {
		return err
	}
	c.log.Info("destination cleaned up", "destination", d.Name, "placements", len(placements))
	return nil
}

// rehome moves on o's output, once its configure workflow finished, as destinations changed: output at a
// destination that is gone is unplaced (and placed elsewhere if it can be), output that matched no destination is
// placed if one matches now, and a promise's output also goes to every destination that matches it now, from the
// job that made it (a promise's dependencies from its spec). moved says a new status was stored.
func (c *Controller) rehome(ctx context.Context, o *object) (moved bool, err error) {
	outs := outputs(o.status)
	if len(outs) == 0 {
		return false, nil
	}
	dests, err := c.st.ListDestinations(ctx)
	if err != nil {
		return false, fmt.Errorf("list destinations: %w", err)
	}
	exists := map[string]bool{}
	for _, d := range dests {
		exists[d.Name] = true
	}
	changed := false
	var redo []string // pipelines with output to place again, in order
	for i, out := range outs {
		if out.Destination != "" && !exists[out.Destination] {
			outs[i] = api.KratixOutput{Pipeline: out.Pipeline, Group: out.Group, Directory: out.Directory, Job: out.Job,
				Selectors: out.Selectors, Message: "destination " + out.Destination + " was deleted"}
			changed = true
		}
		if outs[i].Destination == "" && !slices.Contains(redo, out.Pipeline) {
			redo = append(redo, out.Pipeline)
		}
	}
	st := o.status
	if changed {
		st = setAllOutputs(st, outs)
	}
	c.mu.Lock()
	gen, seen := c.destinations, c.rehomed[o.k]
	_, tried := c.rehomed[o.k]
	c.mu.Unlock()
	switch {
	case tried && seen == gen && !changed:
		redo = nil // no destination changed since the last try
	case o.request == nil:
		// A promise's output goes to every matching destination: a new one gets it too.
		for _, out := range outs {
			if !slices.Contains(redo, out.Pipeline) {
				redo = append(redo, out.Pipeline)
			}
		}
	}
	for _, pipeline := range redo {
		now, err := c.placeAgain(ctx, &object{k: o.k, promise: o.promise, request: o.request, status: st, api: o.api}, pipeline, outs)
		var bad *outputError
		switch {
		case errors.As(err, &bad):
			c.log.Warn("output not placed", "object", o.k.String(), "pipeline", pipeline, "err", err)
			continue
		case err != nil:
			return false, err
		case now == nil:
			continue
		}
		if !sameOutputs(outputsOf(outs, pipeline), now) {
			st = setOutputs(st, pipeline, now)
			changed = true
		}
	}
	c.mu.Lock()
	c.rehomed[o.k] = gen
	c.mu.Unlock()
	if !changed {
		return false, nil
	}
	return true, c.save(ctx, o, st)
}

// placeAgain places pipeline's output of o again: a promise's dependencies from its spec, a pipeline's from the
// job that made it. nil, nil: it cannot be (the job or its files are gone; the next reconcile runs it again).
func (c *Controller) placeAgain(ctx context.Context, o *object, pipeline string, outs []api.KratixOutput) ([]api.KratixOutput, error) {
	if pipeline == dependenciesPipeline && o.request == nil {
		st, err := c.placeDependencies(ctx, o, o.status)
		if err != nil {
			return nil, err
		}
		return outputsOf(outputs(st), pipeline), nil
	}
	id := ""
	for _, out := range outputsOf(outs, pipeline) {
		if out.Job != "" {
			id = out.Job
		}
	}
	if id == "" {
		return nil, nil
	}
	job, err := c.st.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	if _, err := c.files.List(job.ID); errors.Is(err, jobfiles.ErrNotFound) {
		return nil, nil // its output was pruned
	}
	return c.place(ctx, o, pipeline, job)
}

func outputsOf(outs []api.KratixOutput, pipeline string) []api.KratixOutput {
	var out []api.KratixOutput
	for _, o := range outs {
		if o.Pipeline == pipeline {
			out = append(out, o)
		}
	}
	return out
}

func sameOutputs(a, b []api.KratixOutput) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// setAllOutputs replaces status.kratix.outputs with outs; st is changed in place.
func setAllOutputs(st map[string]any, outs []api.KratixOutput) map[string]any {
	k := kratixOf(st)
	if len(outs) == 0 {
		delete(k, fieldOutputs)
		return st
	}
	b, _ := json.Marshal(outs)
	var l []any
	_ = json.Unmarshal(b, &l)
	k[fieldOutputs] = l
	return st
}
