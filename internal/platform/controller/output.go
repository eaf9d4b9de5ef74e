package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/platform/schedule"
	"github.com/runplane/runplane/internal/platform/statestore"
	"github.com/runplane/runplane/internal/store"
)

// selectorsFile names destination-selectors.yaml in messages.
const selectorsFile = "metadata/" + schedule.SelectorsFile

// maxOutput bounds the bytes of one pipeline's output the controller reads to write to state stores.
const maxOutput = 64 << 20

// outputError is a pipeline's output that cannot be placed whatever is retried: the pipeline failed.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }

// outputs are status.kratix.outputs.
func outputs(st map[string]any) []api.KratixOutput {
	k, _ := st["kratix"].(map[string]any)
	l, ok := k[fieldOutputs]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(l)
	var out []api.KratixOutput
	_ = json.Unmarshal(b, &out)
	return out
}

// setOutputs replaces pipeline's entries of status.kratix.outputs with outs; st is changed in place.
func setOutputs(st map[string]any, pipeline string, outs []api.KratixOutput) map[string]any {
	var keep []api.KratixOutput
	for _, o := range outputs(st) {
		if o.Pipeline != pipeline {
			keep = append(keep, o)
		}
	}
	keep = append(keep, outs...)
	k := kratixOf(st)
	if len(keep) == 0 {
		delete(k, fieldOutputs)
		return st
	}
	b, _ := json.Marshal(keep)
	var l []any
	_ = json.Unmarshal(b, &l)
	k[fieldOutputs] = l
	return st
}

// place writes the output job kept for pipeline of o to the destinations its workload groups are scheduled to,
// removes what the pipeline wrote before where it no longer goes, and returns where it went. Errors that retrying
// cannot mend are *outputError.
func (c *Controller) place(ctx context.Context, o *object, pipeline string, job store.Job) ([]api.KratixOutput, error) {
	files, err := c.files.List(job.ID)
	if err != nil && !errors.Is(err, jobfiles.ErrNotFound) {
		return nil, fmt.Errorf("job %s: output: %w", job.ID, err)
	}
	var paths []string
	var size int64
	for _, f := range files {
		paths = append(paths, f.Path)
		size += f.Size
	}
	if size > maxOutput {
		return nil, &outputError{fmt.Errorf("the pipeline's output is %d bytes, more than %d", size, maxOutput)}
	}
	var sel []schedule.DirectorySelector
	if job.Metadata != nil {
		if sel, err = schedule.ParseSelectors(selectorsFile, job.Metadata.DestinationSelectors); err != nil {
			return nil, &outputError{err}
		}
	}
	outs, err := c.placeFiles(ctx, o, pipeline, paths, sel, func(paths []string) ([]statestore.File, error) { return c.read(job.ID, paths) })
	for i := range outs {
		outs[i].Job = job.ID
	}
	return outs, err
}

// placeFiles is place for the files paths, read by read, with the selectors sel of destination-selectors.yaml.
func (c *Controller) placeFiles(ctx context.Context, o *object, pipeline string, paths []string, sel []schedule.DirectorySelector,
	read func([]string) ([]statestore.File, error)) ([]api.KratixOutput, error) {
	var promiseSel []schedule.Selector
	for _, s := range o.promise.Spec.DestinationSelectors {
		promiseSel = append(promiseSel, schedule.Selector{MatchLabels: s.MatchLabels, Source: schedule.SourcePromise})
	}
	if o.request != nil && o.promise.Status.Kratix != nil {
		// What the promise's own workflows chose for their default group applies to its requests' too.
		for _, out := range o.promise.Status.Kratix.Outputs {
			if out.Pipeline != dependenciesPipeline && out.Directory == schedule.RootDirectory && len(out.Selectors) > 0 {
				promiseSel = append(promiseSel, schedule.Selector{MatchLabels: out.Selectors, Source: schedule.SourcePromiseWorkflow})
			}
		}
	}
	groups, err := schedule.Groups(selectorsFile, schedule.Output{Files: paths, Selectors: sel, Resource: o.request != nil,
		PromiseSelectors: promiseSel})
	if err != nil {
		return nil, &outputError{err}
	}
	dests, err := c.st.ListDestinations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list destinations: %w", err)
	}
	byName := map[string]api.Destination{}
	for _, d := range dests {
		byName[d.Name] = d
	}
	var before []api.KratixOutput
	for _, out := range outputs(o.status) {
		if out.Pipeline == pipeline {
			before = append(before, out)
		}
	}
	var outs []api.KratixOutput
	byStore := map[string][]statestore.Placement{}
	var order []string
	placed := map[string]bool{} // group + "\n" + destination
	for _, g := range groups {
		var prev []string
		for _, b := range before {
			if b.Group == g.ID && b.Destination != "" {
				prev = append(prev, b.Destination)
			}
		}
		dec := schedule.Select(dests, schedule.Placement{Key: placementKey(o, pipeline, g.ID), Resource: o.request != nil,
			Selectors: g.Selectors, Previous: prev})
		if len(dec.Destinations) == 0 {
			outs = append(outs, api.KratixOutput{Pipeline: pipeline, Group: g.ID, Directory: g.Directory,
				Selectors: ownSelectors(g, o.request != nil),
				Message:   "no destination matches the selectors " + selectorsString(schedule.Resolve(g.Selectors))})
			continue
		}
		content, err := read(g.Files)
		if err != nil {
			return nil, err
		}
		for _, name := range dec.Destinations {
			d := byName[name]
			p := c.placement(o, pipeline, g.ID, d)
			p.Files = content
			s := d.StateStoreRef.Name
			if _, ok := byStore[s]; !ok {
				order = append(order, s)
			}
			byStore[s] = append(byStore[s], p)
			placed[g.ID+"\n"+name] = true
		}
	}
	for _, s := range order {
		res, err := c.write(ctx, s, byStore[s], false)
		if err != nil {
			return nil, err
		}
		for i, w := range res.Placements {
			g := groupOf(groups, byStore[s][i].GroupID)
			outs = append(outs, api.KratixOutput{Pipeline: pipeline, Group: g.ID, Directory: g.Directory,
				Destination: w.Destination, StateStore: res.Store, Path: w.Dir, Files: w.Paths, Version: res.Version,
				Selectors: ownSelectors(g, o.request != nil)})
		}
	}
	var stale []api.KratixOutput
	for _, b := range before {
		if b.Destination != "" && !placed[b.Group+"\n"+b.Destination] {
			stale = append(stale, b)
		}
	}
	if err := c.unplace(ctx, o, stale); err != nil {
		return nil, err
	}
	return outs, nil
}

func groupOf(groups []schedule.Group, id string) schedule.Group {
	for _, g := range groups {
		if g.ID == id {
			return g
		}
	}
	return schedule.Group{ID: id}
}

// ownSelectors are the selectors g's pipeline gave it (destination-selectors.yaml), not its promise's.
func ownSelectors(g schedule.Group, resource bool) map[string]string {
	src := schedule.SourcePromiseWorkflow
	if resource {
		src = schedule.SourceResourceWorkflow
	}
	var out map[string]string
	for _, s := range g.Selectors {
		if s.Source == src && len(s.MatchLabels) > 0 {
			if out == nil {
				out = map[string]string{}
			}
			for k, v := range s.MatchLabels {
				out[k] = v
			}
		}
	}
	return out
}

func selectorsString(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

// placementKey identifies a workload group of o's for schedule: the same key picks the same destination.
func placementKey(o *object, pipeline, group string) string {
	if o.request == nil {
		return o.promise.Metadata.Name + "/" + pipeline + "/" + group
	}
	m := o.request.Metadata
	return o.promise.Metadata.Name + "/" + m.Namespace + "/" + m.Name + "/" + pipeline + "/" + group
}

func (c *Controller) placement(o *object, pipeline, group string, d api.Destination) statestore.Placement {
	p := statestore.Placement{Destination: d, Promise: o.promise.Metadata.Name, Pipeline: pipeline, GroupID: group}
	if o.request != nil {
		p.Resource, p.Namespace = o.request.Metadata.Name, o.request.Metadata.Namespace
	}
	return p
}

// read reads the output files paths of job id.
func (c *Controller) read(id string, paths []string) ([]statestore.File, error) {
	out := make([]statestore.File, 0, len(paths))
	for _, p := range paths {
		f, _, err := c.files.OpenFile(id, p)
		if err != nil {
			return nil, fmt.Errorf("job %s: output %s: %w", id, p, err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxOutput+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("job %s: output %s: %w", id, p, err)
		}
		out = append(out, statestore.File{Path: p, Content: b})
	}
	return out, nil
}

// write writes (or deletes) placements ps in state store name.
func (c *Controller) write(ctx context.Context, name string, ps []statestore.Placement, del bool) (statestore.Result, error) {
	if c.writers == nil {
		return statestore.Result{}, errors.New("no state store writers")
	}
	s, err := c.st.GetStateStore(ctx, name)
	if err != nil {
		return statestore.Result{}, &storeError{fmt.Errorf("state store %s: %w", name, err)}
	}
	if s.Credentials, err = c.credentials(ctx, s); err != nil {
		return statestore.Result{}, &storeError{fmt.Errorf("state store %s: %w", name, err)}
	}
	w, err := c.writers.For(s)
	if err != nil {
		return statestore.Result{}, &storeError{fmt.Errorf("state store %s: %w", name, err)}
	}
	var res statestore.Result
	if del {
		res, err = w.Delete(ctx, ps...)
	} else {
		res, err = w.Write(ctx, ps...)
	}
	if errors.Is(err, statestore.ErrInvalid) {
		return res, &outputError{err}
	}
	if err != nil {
		return res, &storeError{fmt.Errorf("state store %s: %w", name, err)}
	}
	return res, nil
}

// unplace removes the files of outs (those with a destination) from their state stores. A destination that no
// longer exists is skipped: there is nowhere to remove them from.
func (c *Controller) unplace(ctx context.Context, o *object, outs []api.KratixOutput) error {
	if len(outs) == 0 {
		return nil
	}
	dests, err := c.st.ListDestinations(ctx)
	if err != nil {
		return fmt.Errorf("list destinations: %w", err)
	}
	byName := map[string]api.Destination{}
	for _, d := range dests {
		byName[d.Name] = d
	}
	byStore := map[string][]statestore.Placement{}
	var order []string
	for _, out := range outs {
		d, ok := byName[out.Destination]
		if out.Destination == "" || !ok {
			continue
		}
		s := d.StateStoreRef.Name
		if _, ok := byStore[s]; !ok {
			order = append(order, s)
		}
		byStore[s] = append(byStore[s], c.placement(o, out.Pipeline, out.Group, d))
	}
	for _, s := range order {
		if _, err := c.write(ctx, s, byStore[s], true); err != nil {
			return err
		}
	}
	return nil
}
