package controller

import (
	"context"
	"fmt"

	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/store"
)

// Access gives promise pipelines the service accounts and permissions their spec.rbac asks for (on Kubernetes:
// kubeexec.Access). Sync makes the cluster hold exactly want for promise (creating, updating, and deleting what an
// earlier version needed); Remove deletes all of it. Both are idempotent and safe for concurrent use.
type Access interface {
	Sync(ctx context.Context, promise string, want []kratix.PipelineAccess) error
	Remove(ctx context.Context, promise string) error
}

// grant syncs p's access if this process has not synced p at its generation yet: before a pipeline of p or of its
// requests starts, and when p is saved. A promise without rbac has nothing to grant, but an earlier version may
// have had some, so it is synced too.
func (c *Controller) grant(ctx context.Context, p store.Promise) error {
	if c.opts.Access == nil {
		return nil
	}
	name, gen := p.Metadata.Name, p.Metadata.Generation
	c.mu.Lock()
	done := c.granted[name] == gen && gen != 0
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := c.opts.Access.Sync(ctx, name, kratix.Access(name, p.Spec.Workflows)); err != nil {
		return fmt.Errorf("promise %s: pipeline rbac: %w", name, err)
	}
	c.mu.Lock()
	c.granted[name] = gen
	c.mu.Unlock()
	return nil
}

// revoke removes what grant made for the promise name, once the promise is gone.
func (c *Controller) revoke(ctx context.Context, name string) error {
	if c.opts.Access == nil {
		return nil
	}
	c.mu.Lock()
	delete(c.granted, name)
	c.mu.Unlock()
	if err := c.opts.Access.Remove(ctx, name); err != nil {
		return fmt.Errorf("promise %s: remove pipeline rbac: %w", name, err)
	}
	return nil
}
