package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/kratix"
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
