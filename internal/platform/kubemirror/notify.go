package kubemirror

import (
	"context"
	"encoding/json"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Notifying returns st telling changed (Mirror.Changed) of every write to a promise, a resource request, a
// destination, a state store, a composition definition or a composition that succeeded, after it committed: the writers (the REST API, the promise
// controller) are given it, so the mirror hears of each change by key instead of listing everything. A dry run's
// writes (DryRunner's view) are not told: they never commit. Of the store's optional capabilities it keeps
// DryRunner (the REST API uses it); give it to no one that needs another (store.Events is the job engine's).
func Notifying(st store.Store, changed func(Ref)) store.Store {
	n := &notifying{Store: st, changed: changed}
	if _, ok := st.(store.DryRunner); ok {
		return dryRunNotifying{n}
	}
	return n
}

type notifying struct {
	store.Store
	changed func(Ref)
}

type dryRunNotifying struct{ *notifying }

func (n dryRunNotifying) DryRun(ctx context.Context, fn func(view store.Store) error) error {
	return n.Store.(store.DryRunner).DryRun(ctx, fn)
}

var _ store.DryRunner = dryRunNotifying{}

func (n *notifying) promise(name string, err error) {
	if err == nil {
		n.changed(Ref{Kind: api.KindPromise, Name: name})
	}
}

func (n *notifying) request(promise, namespace, name string, err error) {
	if err == nil {
		n.changed(Ref{Kind: KindRequest, Promise: promise, Namespace: namespace, Name: name})
	}
}

func (n *notifying) CreatePromise(ctx context.Context, p api.Promise) (store.Promise, error) {
	out, err := n.Store.CreatePromise(ctx, p)
	n.promise(p.Metadata.Name, err)
	return out, err
}

func (n *notifying) UpdatePromise(ctx context.Context, p api.Promise, version int64) (store.Promise, error) {
	out, err := n.Store.UpdatePromise(ctx, p, version)
	n.promise(p.Metadata.Name, err)
	return out, err
}

func (n *notifying) SetPromiseStatus(ctx context.Context, name string, version int64, st api.PromiseStatus) (store.Promise, error) {
	out, err := n.Store.SetPromiseStatus(ctx, name, version, st)
	n.promise(name, err)
	return out, err
}

func (n *notifying) DeletePromise(ctx context.Context, name string) error {
	err := n.Store.DeletePromise(ctx, name)
	n.promise(name, err)
	return err
}

func (n *notifying) CreateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest) (store.ResourceRequest, error) {
	out, err := n.Store.CreateResourceRequest(ctx, promise, r)
	n.request(promise, out.Metadata.Namespace, out.Metadata.Name, err)
	return out, err
}

func (n *notifying) UpdateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest, version int64) (store.ResourceRequest, error) {
	out, err := n.Store.UpdateResourceRequest(ctx, promise, r, version)
	n.request(promise, out.Metadata.Namespace, out.Metadata.Name, err)
	return out, err
}

func (n *notifying) SetResourceRequestStatus(ctx context.Context, promise, namespace, name string, version int64, status json.RawMessage) (store.ResourceRequest, error) {
	out, err := n.Store.SetResourceRequestStatus(ctx, promise, namespace, name, version, status)
	n.request(promise, namespace, name, err)
	return out, err
}

// DeleteResourceRequest tells of the promise too: a delete of it refused while it had requests may pass now.
func (n *notifying) DeleteResourceRequest(ctx context.Context, promise, namespace, name string) error {
	err := n.Store.DeleteResourceRequest(ctx, promise, namespace, name)
	n.request(promise, namespace, name, err)
	n.promise(promise, err)
	return err
}

func (n *notifying) destination(name string, err error) {
	if err == nil {
		n.changed(Ref{Kind: api.KindDestination, Name: name})
	}
}

func (n *notifying) CreateDestination(ctx context.Context, d api.Destination) error {
	err := n.Store.CreateDestination(ctx, d)
	n.destination(d.Name, err)
	return err
}

func (n *notifying) UpdateDestination(ctx context.Context, d api.Destination) error {
	err := n.Store.UpdateDestination(ctx, d)
	n.destination(d.Name, err)
	return err
}

func (n *notifying) DeleteDestination(ctx context.Context, name string) error {
	err := n.Store.DeleteDestination(ctx, name)
	n.destination(name, err)
	return err
}

// stateStore tells of a state store of either kind: a delete does not say which it was.
func (n *notifying) stateStore(name string, err error) {
	if err == nil {
		n.changed(Ref{Kind: api.KindDirectoryStateStore, Name: name})
		n.changed(Ref{Kind: api.KindGitStateStore, Name: name})
	}
}

func (n *notifying) CreateStateStore(ctx context.Context, s api.StateStore) error {
	err := n.Store.CreateStateStore(ctx, s)
	n.stateStore(s.Name, err)
	return err
}

func (n *notifying) UpdateStateStore(ctx context.Context, s api.StateStore) error {
	err := n.Store.UpdateStateStore(ctx, s)
	n.stateStore(s.Name, err)
	return err
}

func (n *notifying) DeleteStateStore(ctx context.Context, name string) error {
	err := n.Store.DeleteStateStore(ctx, name)
	n.stateStore(name, err)
	return err
}

func (n *notifying) definition(namespace, name string, err error) {
	if err == nil {
		n.changed(Ref{Kind: api.KindCompositionDefinition, Namespace: namespace, Name: name})
	}
}

func (n *notifying) CreateCompositionDefinition(ctx context.Context, d api.CompositionDefinition) (store.CompositionDefinition, error) {
	out, err := n.Store.CreateCompositionDefinition(ctx, d)
	n.definition(out.Metadata.Namespace, out.Metadata.Name, err)
	return out, err
}

func (n *notifying) UpdateCompositionDefinition(ctx context.Context, d api.CompositionDefinition, version int64) (store.CompositionDefinition, error) {
	out, err := n.Store.UpdateCompositionDefinition(ctx, d, version)
	n.definition(out.Metadata.Namespace, out.Metadata.Name, err)
	return out, err
}

func (n *notifying) SetCompositionDefinitionStatus(ctx context.Context, namespace, name string, version int64,
	st api.CompositionDefinitionStatus, generated json.RawMessage) (store.CompositionDefinition, error) {
	out, err := n.Store.SetCompositionDefinitionStatus(ctx, namespace, name, version, st, generated)
	n.definition(namespace, name, err)
	return out, err
}

func (n *notifying) DeleteCompositionDefinition(ctx context.Context, namespace, name string) error {
	err := n.Store.DeleteCompositionDefinition(ctx, namespace, name)
	n.definition(namespace, name, err)
	return err
}

func (n *notifying) composition(resource, namespace, name string, err error) {
	if err == nil {
		n.changed(Ref{Kind: KindComposition, Promise: resource, Namespace: namespace, Name: name})
	}
}

func (n *notifying) CreateComposition(ctx context.Context, resource string, c api.ResourceRequest) (store.Composition, error) {
	out, err := n.Store.CreateComposition(ctx, resource, c)
	n.composition(resource, out.Metadata.Namespace, out.Metadata.Name, err)
	return out, err
}

func (n *notifying) UpdateComposition(ctx context.Context, resource string, c api.ResourceRequest, version int64) (store.Composition, error) {
	out, err := n.Store.UpdateComposition(ctx, resource, c, version)
	n.composition(resource, out.Metadata.Namespace, out.Metadata.Name, err)
	return out, err
}

func (n *notifying) SetCompositionStatus(ctx context.Context, resource, namespace, name string, version int64, status json.RawMessage) (store.Composition, error) {
	out, err := n.Store.SetCompositionStatus(ctx, resource, namespace, name, version, status)
	n.composition(resource, namespace, name, err)
	return out, err
}

// DeleteComposition tells of the definitions generating resource too (as DeleteResourceRequest of the promise): a
// delete of the last one, refused while the type had compositions, may pass now.
func (n *notifying) DeleteComposition(ctx context.Context, resource, namespace, name string) error {
	err := n.Store.DeleteComposition(ctx, resource, namespace, name)
	n.composition(resource, namespace, name, err)
	if err == nil {
		defs, lerr := n.Store.ListCompositionDefinitions(ctx, "")
		for _, d := range defs {
			if lerr == nil && d.Status.Resource == resource {
				n.definition(d.Metadata.Namespace, d.Metadata.Name, nil)
			}
		}
	}
	return err
}
