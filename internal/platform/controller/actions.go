package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/store"
)

var _ httpapi.RequestActor = (*Controller)(nil)

// ActOnRequest stores what action a asks of r and queues it: reconcile starts its configure workflow again from the
// first pipeline (refused while it is paused or being deleted); resume runs the suspended pipeline again, then the
// rest; retry runs a failed workflow again from its first pipeline (the delete workflow, and the removal of the
// files, while it is being deleted). Errors wrap store.ErrConflict when the request is not in a state a applies to.
func (c *Controller) ActOnRequest(ctx context.Context, a httpapi.WorkflowAction, p store.Promise, r store.ResourceRequest) (store.ResourceRequest, error) {
	o, err := c.actOn(ctx, requestKey(p.Metadata.Name, r.Metadata.Namespace, r.Metadata.Name), c.loadRequest, a)
	if err != nil {
		return store.ResourceRequest{}, err
	}
	return *o.request, nil
}

// ActOnPromise is ActOnRequest for the promise's own workflows.
func (c *Controller) ActOnPromise(ctx context.Context, a httpapi.WorkflowAction, p store.Promise) (store.Promise, error) {
	o, err := c.actOn(ctx, promiseKey(p.Metadata.Name), c.loadPromise, a)
	if err != nil {
		return store.Promise{}, err
	}
	return o.promise, nil
}

func (c *Controller) actOn(ctx context.Context, k key, load func(context.Context, key) (*object, error), a httpapi.WorkflowAction) (*object, error) {
	for range 5 {
		o, err := load(ctx, k)
		if err != nil {
			return nil, err
		}
		if o == nil {
			return nil, fmt.Errorf("%s: %w", k, store.ErrNotFound)
		}
		err = c.act(ctx, o, a)
		var no *refusal
		if errors.Is(err, store.ErrConflict) && !errors.As(err, &no) {
			continue // changed meanwhile
		}
		if err != nil {
			return nil, err
		}
		c.q.add(k)
		return o, nil
	}
	return nil, fmt.Errorf("%s: it keeps changing: %w", k, store.ErrConflict)
}

// refusal is an action refused for the state of the object (not a lost race); it is a store.ErrConflict.
type refusal struct{ msg string }

func (e *refusal) Error() string        { return e.msg }
func (e *refusal) Is(target error) bool { return target == store.ErrConflict }

func refused(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

func (c *Controller) act(ctx context.Context, o *object, a httpapi.WorkflowAction) error {
	now := c.opts.Now()
	deleting := !deletion(o.status).IsZero()
	action := kratix.ActionConfigure
	if deleting {
		action = kratix.ActionDelete
	}
	switch a {
	case httpapi.ActionReconcile:
		switch {
		case deleting:
			return refused("%s is being deleted", o.what())
		case o.paused():
			return refused("%s is paused (label %s=true)", o.what(), PausedLabel)
		}
		return c.restart(ctx, o, action, o.pipelines(action), now)
	case httpapi.ActionRetry:
		if !deleting && !failed(o.status) {
			return refused("no pipeline of %s failed", o.what())
		}
		return c.restart(ctx, o, action, o.pipelines(action), now)
	case httpapi.ActionResume:
		i := kratix.SuspendedPipeline(o.status)
		if i < 0 {
			return refused("no pipeline of %s is suspended", o.what())
		}
		p := mustPipelines(o.status)[i]
		p.Phase, p.NextRetryAt = kratix.PhasePending, ""
		st := kratix.SetPipeline(o.status, p)
		w := workflowsOf(st)
		w[fieldRound] = wfInt(st, fieldRound) + 1
		return c.save(ctx, o, st)
	}
	return refused("unknown action %q", a)
}

func failed(st map[string]any) bool {
	for _, p := range mustPipelines(st) {
		if p.Phase == kratix.PhaseFailed {
			return true
		}
	}
	return false
}
