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
func (c *Controller) ActOnRequest(ctx context.Context, a httpapi.RequestAction, p store.Promise, r store.ResourceRequest) (store.ResourceRequest, error) {
	k := requestKey(p.Metadata.Name, r.Metadata.Namespace, r.Metadata.Name)
	for range 5 {
		o, err := c.loadRequest(ctx, k)
		if err != nil {
			return store.ResourceRequest{}, err
		}
		if o == nil {
			return store.ResourceRequest{}, fmt.Errorf("resource request %s/%s: %w", r.Metadata.Namespace, r.Metadata.Name, store.ErrNotFound)
		}
		err = c.act(ctx, o, a)
		var no *refusal
		if errors.Is(err, store.ErrConflict) && !errors.As(err, &no) {
			continue // changed meanwhile
		}
		if err != nil {
			return store.ResourceRequest{}, err
		}
		c.q.add(k)
		return *o.request, nil
	}
	return store.ResourceRequest{}, fmt.Errorf("%s: the request keeps changing: %w", k, store.ErrConflict)
}

// refusal is an action refused for the state of the object (not a lost race); it is a store.ErrConflict.
type refusal struct{ msg string }

func (e *refusal) Error() string        { return e.msg }
func (e *refusal) Is(target error) bool { return target == store.ErrConflict }

func refused(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

func (c *Controller) act(ctx context.Context, o *object, a httpapi.RequestAction) error {
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
			return refused("the request is being deleted")
		case o.paused():
			return refused("the request is paused (label %s=true)", PausedLabel)
		}
		return c.restart(ctx, o, action, o.pipelines(action), now)
	case httpapi.ActionRetry:
		if !deleting && !failed(o.status) {
			return refused("no pipeline of the request failed")
		}
		return c.restart(ctx, o, action, o.pipelines(action), now)
	case httpapi.ActionResume:
		i := kratix.SuspendedPipeline(o.status)
		if i < 0 {
			return refused("no pipeline of the request is suspended")
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
