package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/store"
)

// deletingRequest takes over the delete of a request that has a delete workflow, files in a state store or a
// pipeline running: it records the delete in the request's status and answers ErrDeleteDeferred. Otherwise the
// route deletes it at once.
func (c *Controller) deletingRequest(ctx context.Context, p store.Promise, r store.ResourceRequest) error {
	k := requestKey(p.Metadata.Name, r.Metadata.Namespace, r.Metadata.Name)
	for range 5 {
		o, err := c.loadRequest(ctx, k)
		if err != nil {
			return err
		}
		if o == nil {
			return nil // gone meanwhile: the route says 404
		}
		deferred, err := c.markDeleting(ctx, o)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return deferred(err)
	}
	return fmt.Errorf("%s: delete: the request keeps changing: %w", k, store.ErrConflict)
}

// deletingPromise is deletingRequest for a promise (which the route deletes only once it has no requests).
func (c *Controller) deletingPromise(ctx context.Context, p store.Promise) error {
	k := promiseKey(p.Metadata.Name)
	for range 5 {
		o, err := c.loadPromise(ctx, k)
		if err != nil {
			return err
		}
		if o == nil {
			return nil
		}
		deferred, err := c.markDeleting(ctx, o)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return deferred(err)
	}
	return fmt.Errorf("%s: delete: the promise keeps changing: %w", k, store.ErrConflict)
}

// markDeleting stores that o is to be deleted, unless nothing has to run first; the function it returns turns
// the outcome into the route's answer.
func (c *Controller) markDeleting(ctx context.Context, o *object) (func(error) error, error) {
	answer := func(err error) error {
		if err != nil {
			return err
		}
		c.q.add(o.k)
		return httpapi.ErrDeleteDeferred
	}
	if !deletion(o.status).IsZero() {
		return answer, nil // asked before: still in progress
	}
	if len(o.pipelines(kratix.ActionDelete)) == 0 && len(outputs(o.status)) == 0 && !busy(o.status) {
		return func(err error) error { return err }, nil
	}
	st := o.status
	kratixOf(st)[fieldDeletion] = c.opts.Now().UTC().Format(time.RFC3339)
	return answer, c.save(ctx, o, st)
}

// busy says a pipeline of o's runs, or waits to.
func busy(st map[string]any) bool {
	ps, _ := kratix.Pipelines(st)
	for _, p := range ps {
		if p.Phase == kratix.PhaseRunning || p.Phase == kratix.PhasePending {
			return true
		}
	}
	return false
}

// refreshDependents recomputes the status of every promise requiring the promise name, which is gone (as the
// promise routes do when they delete one themselves): they become Unavailable.
func (c *Controller) refreshDependents(ctx context.Context, name string) error {
	all, err := c.st.ListPromises(ctx)
	if err != nil {
		return err
	}
	installed := map[string]string{}
	for _, p := range all {
		installed[p.Metadata.Name] = promise.PromiseVersion(p.Promise)
	}
	for _, p := range all {
		if !slices.ContainsFunc(p.Spec.RequiredPromises, func(r api.RequiredPromise) bool { return r.Name == name }) {
			continue
		}
		for attempt := 0; ; attempt++ {
			var a *promise.API
			if len(p.Spec.API) > 0 {
				a, _ = promise.ParseAPI(p.Spec.API)
			}
			st := promise.Status(p.Promise, a, installed, p.Status, c.opts.Now())
			_, err := c.st.SetPromiseStatus(ctx, p.Metadata.Name, p.Version, st)
			if errors.Is(err, store.ErrConflict) && attempt < 5 {
				if p, err = c.st.GetPromise(ctx, p.Metadata.Name); err == nil {
					continue // its status moved on meanwhile: from what it is now
				}
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("promise %s: status: %w", p.Metadata.Name, err)
			}
			break
		}
	}
	return nil
}
