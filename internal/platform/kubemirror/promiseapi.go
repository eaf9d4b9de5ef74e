package kubemirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/store"
)

// PromiseLabel marks a CRD the mirror installed from a promise's spec.api, with the promise's name; the CRD is
// removed with the promise.
const PromiseLabel = "platform.runplane.dev/promise"

// promiseAPI is a promise's CRD as installed, and the watch on its objects.
type promiseAPI struct {
	crd    string // the CRD's name
	digest string // of the spec.api applied
	kind   kind
	inf    cache.SharedIndexInformer
	stop   context.CancelFunc
}

// syncAPI serves the API of the stored promise name: its CRD installed (again when spec.api changed) and its kind
// watched; when the promise is gone (or has no API), the watch stops and the CRD is removed.
func (m *Mirror) syncAPI(ctx context.Context, name string) error {
	p, err := m.opts.Store.GetPromise(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var a *promise.API
	if err == nil && len(p.Spec.API) > 0 {
		a, _ = promise.ParseAPI(p.Spec.API) // an error: the REST API refused it when it was stored; nothing to serve
	}
	if a == nil {
		if cur := m.apis[name]; cur != nil {
			cur.stop()
			delete(m.apis, name)
		}
		want, err := m.wantedAPIs(ctx)
		if err != nil {
			return err
		}
		return m.removeOrphanCRDs(ctx, PromiseLabel, want)
	}
	d := digest(json.RawMessage(p.Spec.API), nil, nil)
	cur := m.apis[name]
	if cur == nil || cur.digest != d {
		if cur != nil {
			cur.stop()
			delete(m.apis, name)
		}
		pa, err := m.installAPI(ctx, name, p.Spec.API, a)
		if err != nil {
			return err
		}
		pa.digest = d
		m.apis[name] = pa
		return nil // its requests are queued once its watch synced
	}
	if cur.inf.HasSynced() {
		// The promise may have become available: requests it refused until then are tried again now.
		for _, o := range cur.inf.GetStore().List() {
			if u, ok := o.(*unstructured.Unstructured); ok {
				if _, _, mirrored := marker(u); !mirrored {
					m.q.Add(Ref{Kind: KindRequest, Promise: name, Namespace: u.GetNamespace(), Name: u.GetName()})
				}
			}
		}
	}
	return nil
}

// wantedAPIs names the stored promises with an API.
func (m *Mirror) wantedAPIs(ctx context.Context) (map[string]bool, error) {
	promises, err := m.opts.Store.ListPromises(ctx)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, p := range promises {
		if len(p.Spec.API) == 0 {
			continue
		}
		if _, err := promise.ParseAPI(p.Spec.API); err == nil {
			want[p.Metadata.Name] = true
		}
	}
	return want, nil
}

// installAPI applies the promise's CRD (with a status subresource whose schema keeps every field, as Kratix
// installs it) and starts watching its storage version.
func (m *Mirror) installAPI(ctx context.Context, name string, raw []byte, a *promise.API) (*promiseAPI, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("kubemirror: promise %s: spec.api: %w", name, err)
	}
	crd := &unstructured.Unstructured{Object: obj}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for i, v := range versions {
		vm, _ := v.(map[string]any)
		if vm == nil {
			continue
		}
		_ = unstructured.SetNestedField(vm, map[string]any{}, "subresources", "status")
		if _, ok, _ := unstructured.NestedMap(vm, "schema", "openAPIV3Schema", "properties", "status"); !ok {
			if _, has, _ := unstructured.NestedMap(vm, "schema", "openAPIV3Schema"); has {
				_ = unstructured.SetNestedField(vm, map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
					"schema", "openAPIV3Schema", "properties", "status")
			}
		}
		versions[i] = vm
	}
	_ = unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions")
	gvr := schema.GroupVersionResource{Group: a.Group, Version: a.StorageVersion().Name, Resource: a.Names.Plural}
	typ, err := m.serveType(ctx, crd, PromiseLabel, name, gvr, KindRequest, kindAllRequests)
	if err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "serving a promise's API", "promise", name, "crd", crd.GetName())
	typ.kind = requestKind(m.opts.Store, name, gvr, a.Names.Kind, a.Namespaced())
	return typ, nil
}

// serveType applies crd, labelled as the mirror's with label = owner (the promise, or the composition type), and
// watches its kind at gvr: each object of it is queued as a Ref of kind k under owner, and all of them (kind all)
// once the watch has synced. The caller sets the kind the objects are mirrored as.
func (m *Mirror) serveType(ctx context.Context, crd *unstructured.Unstructured, label, owner string, gvr schema.GroupVersionResource,
	k, all string) (*promiseAPI, error) {
	labels := crd.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[label] = owner
	labels["app.kubernetes.io/managed-by"] = "runplane"
	crd.SetLabels(labels)
	if err := applyCRD(ctx, m.dc, crd); err != nil {
		return nil, err
	}
	inf := newInformer(m.dc, gvr)
	if _, err := inf.AddEventHandler(m.handler(k, owner)); err != nil {
		return nil, err
	}
	ictx, stop := context.WithCancel(context.WithoutCancel(ctx))
	go inf.RunWithContext(ictx)
	go func() {
		if cache.WaitForCacheSync(ictx.Done(), inf.HasSynced) {
			m.q.Add(Ref{Kind: all, Promise: owner})
		}
	}()
	return &promiseAPI{crd: crd.GetName(), inf: inf, stop: stop}, nil
}

// removeOrphanCRDs deletes the CRDs the mirror installed (labelled label) whose label's value want does not name
// (the promise, or the composition type, is gone), releasing what objects of theirs are left (refused ones) first.
func (m *Mirror) removeOrphanCRDs(ctx context.Context, label string, want map[string]bool) error {
	list, err := m.dc.Resource(crdGVR).List(ctx, metav1.ListOptions{LabelSelector: label})
	if err != nil {
		return err
	}
	var errs []error
	for _, crd := range list.Items {
		if want[crd.GetLabels()[label]] || crd.GetDeletionTimestamp() != nil {
			continue
		}
		if gvr, ok := listedVersion(&crd); ok {
			objs, err := m.dc.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				errs = append(errs, err)
				continue // not removed before its objects are released
			}
			for _, o := range objs.Items {
				if !slices.Contains(o.GetFinalizers(), Finalizer) {
					continue
				}
				k := kind{gvr: gvr, namespaced: o.GetNamespace() != ""}
				if err := m.dropFinalizer(ctx, k, &o); err != nil {
					errs = append(errs, err)
				}
			}
		}
		err := m.dc.Resource(crdGVR).Delete(ctx, crd.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		m.log.InfoContext(ctx, "removed a CRD no one serves any more", label, crd.GetLabels()[label], "crd", crd.GetName())
	}
	return errors.Join(errs...)
}

// listedVersion is the version a CRD's objects are listed at: its storage version when served, else its first
// served one (a composition type's storage version, vacuum, is not served).
func listedVersion(crd *unstructured.Unstructured) (schema.GroupVersionResource, bool) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	first := ""
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		served, _ := vm["served"].(bool)
		if !served {
			continue
		}
		name := fmt.Sprint(vm["name"])
		if st, _ := vm["storage"].(bool); st {
			return schema.GroupVersionResource{Group: group, Version: name, Resource: plural}, true
		}
		if first == "" {
			first = name
		}
	}
	return schema.GroupVersionResource{Group: group, Version: first, Resource: plural}, first != ""
}

// stopAPIs stops watching the promises' kinds and the composition types.
func (m *Mirror) stopAPIs() {
	for _, pa := range m.apis {
		pa.stop()
	}
	for _, pa := range m.comps {
		pa.stop()
	}
}
