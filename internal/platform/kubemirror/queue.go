package kubemirror

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/runplane/runplane/api"
)

// KindRequest is the Kind of a Ref to a promise's resource request (the promise names its kind).
const KindRequest = "ResourceRequest"

// Ref names one object the mirror keeps in step: Kind is api.KindPromise, api.KindDestination,
// api.KindGitStateStore, api.KindDirectoryStateStore, api.KindCompositionDefinition, KindRequest with Promise
// naming the promise, or KindComposition with Promise naming the type's resource. Namespace is a request's, a
// definition's or a composition's; the other kinds are cluster-scoped.
type Ref struct {
	Kind, Promise, Namespace, Name string
}

// Refs the mirror queues for itself, never for one object.
const (
	kindResync      = "resync"       // every object of every kind, and the promises' CRDs
	kindAllRequests = "all-requests" // every request of Promise (its watch just synced)
	// every composition of the type Promise names (its resource; its watch just synced)
	kindAllCompositions = "all-compositions"
)

// Changed queues ref: something changed it in runplane's store (Notifying calls it). Safe for concurrent use,
// before and during Run.
func (m *Mirror) Changed(ref Ref) { m.q.Add(ref) }

// Wake makes the mirror compare every object of both sides now.
func (m *Mirror) Wake() { m.q.Add(Ref{Kind: kindResync}) }

// newQueue is the keyed work queue: each Ref at most once in the queue and with one worker at a time, a failed
// one retried with per-item exponential backoff (5 ms doubling to 30 s: a request refused until its promise is
// available is tried again soon enough). The API server is spared by the client's own rate limit (QPS).
func newQueue() workqueue.TypedRateLimitingInterface[Ref] {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[Ref](5*time.Millisecond, 30*time.Second)
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[Ref]{Name: "kubemirror"})
}

// work takes Refs until the queue shuts down: one worker, so the promises' watches (m.apis) are this goroutine's.
func (m *Mirror) work(ctx context.Context) {
	for {
		ref, shutdown := m.q.Get()
		if shutdown {
			return
		}
		err := m.process(ctx, ref)
		m.q.Done(ref)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			m.log.WarnContext(ctx, "mirror", "kind", ref.Kind, "promise", ref.Promise, "namespace", ref.Namespace, "name", ref.Name, "err", err)
			m.q.AddRateLimited(ref)
		default:
			m.q.Forget(ref)
		}
	}
}

// process brings what ref names into step.
func (m *Mirror) process(ctx context.Context, ref Ref) error {
	switch ref.Kind {
	case kindResync:
		return m.resync(ctx)
	case kindAllRequests:
		pa := m.apis[ref.Promise]
		if pa == nil {
			return nil
		}
		return m.queueAll(ctx, pa.kind, pa.inf, KindRequest, ref.Promise)
	case KindRequest:
		pa := m.apis[ref.Promise]
		if pa == nil || !pa.inf.HasSynced() {
			return nil // queued again, with all its promise's requests, once its kind is watched
		}
		return m.syncRef(ctx, pa.kind, pa.inf.GetStore(), ref)
	case kindAllCompositions:
		pa := m.comps[ref.Promise]
		if pa == nil {
			return nil
		}
		return m.queueAll(ctx, pa.kind, pa.inf, KindComposition, ref.Promise)
	case KindComposition:
		pa := m.comps[ref.Promise]
		if pa == nil || !pa.inf.HasSynced() {
			return nil // queued again, with all of its type's, once its type is watched
		}
		return m.syncRef(ctx, pa.kind, pa.inf.GetStore(), ref)
	}
	w, ok := m.static[ref.Kind]
	if !ok {
		return fmt.Errorf("kubemirror: unknown kind %q", ref.Kind)
	}
	err := m.syncRef(ctx, w.k, w.inf.GetStore(), ref)
	switch ref.Kind {
	case api.KindPromise:
		err = errors.Join(err, m.syncAPI(ctx, ref.Name))
	case api.KindCompositionDefinition:
		err = errors.Join(err, m.syncCompositionAPIs(ctx))
	}
	return err
}

// syncRef brings one object into step: the store's (read fresh) against the cluster's (from the informer's cache;
// read again from the API server before anything is written for it).
func (m *Mirror) syncRef(ctx context.Context, k kind, cached cache.Store, ref Ref) error {
	s, err := k.get(ctx, ref.Namespace, ref.Name)
	if err != nil {
		return fmt.Errorf("kubemirror: read %s %s: %w", k.name, key(ref.Namespace, ref.Name), err)
	}
	var c *unstructured.Unstructured
	if o, ok, _ := cached.GetByKey(key(ref.Namespace, ref.Name)); ok {
		if u, ok := o.(*unstructured.Unstructured); ok {
			c = u.DeepCopy() // the cache's objects are shared with the informer: syncOne writes into c
			k.normalize(c)
		}
	}
	if err := m.syncOne(ctx, k, c, s); err != nil {
		return fmt.Errorf("%s %s: %w", k.name, key(ref.Namespace, ref.Name), err)
	}
	return nil
}

// resync queues every object of every kind, of both sides, and removes the CRDs of promises that are gone.
func (m *Mirror) resync(ctx context.Context) error {
	var errs []error
	for _, name := range staticKinds {
		w := m.static[name]
		errs = append(errs, m.queueAll(ctx, w.k, w.inf, name, ""))
	}
	for name := range m.apis {
		m.q.Add(Ref{Kind: kindAllRequests, Promise: name})
	}
	for res := range m.comps {
		m.q.Add(Ref{Kind: kindAllCompositions, Promise: res})
	}
	errs = append(errs, m.syncCompositionAPIs(ctx))
	want, err := m.wantedAPIs(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, m.removeOrphanCRDs(ctx, PromiseLabel, want))
	return errors.Join(errs...)
}

// queueAll queues every object of k in the store or in inf's cache.
func (m *Mirror) queueAll(ctx context.Context, k kind, inf cache.SharedIndexInformer, kindName, promise string) error {
	inStore, err := k.list(ctx)
	if err != nil {
		return fmt.Errorf("kubemirror: list %ss: %w", k.name, err)
	}
	for _, s := range inStore {
		m.q.Add(Ref{Kind: kindName, Promise: promise, Namespace: s.Namespace, Name: s.Name})
	}
	for _, o := range inf.GetStore().List() {
		if u, ok := o.(*unstructured.Unstructured); ok {
			m.q.Add(Ref{Kind: kindName, Promise: promise, Namespace: u.GetNamespace(), Name: u.GetName()})
		}
	}
	return nil
}

// handler queues the object of every change in the cluster.
func (m *Mirror) handler(kindName, promise string) cache.ResourceEventHandler {
	add := func(o any) {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		if u, ok := o.(*unstructured.Unstructured); ok {
			m.q.Add(Ref{Kind: kindName, Promise: promise, Namespace: u.GetNamespace(), Name: u.GetName()})
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, o any) { add(o) },
		DeleteFunc: add,
	}
}
