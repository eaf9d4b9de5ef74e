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

// syncAPIs installs the CRD of every stored promise with an API (again when spec.api changed), watches its kind
// and brings its requests into step; a CRD whose promise is gone is removed.
func (m *Mirror) syncAPIs(ctx context.Context) error {
	promises, err := m.opts.Store.ListPromises(ctx)
	if err != nil {
		return err
	}
	var errs []error
	want := map[string]bool{}
	for _, p := range promises {
		if len(p.Spec.API) == 0 {
			continue
		}
		a, err := promise.ParseAPI(p.Spec.API)
		if err != nil {
			continue // the REST API refused it when it was stored; nothing to serve
		}
		want[p.Metadata.Name] = true
		d := digest(json.RawMessage(p.Spec.API), nil, nil)
		cur := m.apis[p.Metadata.Name]
		if cur == nil || cur.digest != d {
			if cur != nil {
				cur.stop()
			}
			pa, err := m.installAPI(ctx, p.Metadata.Name, p.Spec.API, a)
			if err != nil {
				delete(m.apis, p.Metadata.Name)
				errs = append(errs, err)
				continue
			}
			pa.digest = d
			m.apis[p.Metadata.Name] = pa
			cur = pa
		}
		if !cur.inf.HasSynced() {
			continue // its first list arrives soon, and wakes the loop
		}
		if err := m.syncKind(ctx, cur.kind, cur.inf.GetStore()); err != nil {
			errs = append(errs, err)
		}
	}
	for name, pa := range m.apis {
		if !want[name] {
			pa.stop()
			delete(m.apis, name)
		}
	}
	if err := m.removeOrphanAPIs(ctx, want); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// installAPI applies the promise's CRD (with a status subresource whose schema keeps every field, as Kratix
// installs it) and starts watching its storage version.
func (m *Mirror) installAPI(ctx context.Context, name string, raw []byte, a *promise.API) (*promiseAPI, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("kubemirror: promise %s: spec.api: %w", name, err)
	}
	crd := &unstructured.Unstructured{Object: obj}
	labels := crd.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[PromiseLabel] = name
	labels["app.kubernetes.io/managed-by"] = "runplane"
	crd.SetLabels(labels)
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
	if err := applyCRD(ctx, m.dc, crd); err != nil {
		return nil, err
	}
	gvr := schema.GroupVersionResource{Group: a.Group, Version: a.StorageVersion().Name, Resource: a.Names.Plural}
	inf := newInformer(m.dc, gvr)
	if _, err := inf.AddEventHandler(m.handler()); err != nil {
		return nil, err
	}
	ictx, stop := context.WithCancel(context.WithoutCancel(ctx))
	go inf.RunWithContext(ictx)
	m.log.InfoContext(ctx, "serving a promise's API", "promise", name, "crd", crd.GetName())
	return &promiseAPI{crd: crd.GetName(), inf: inf, stop: stop,
		kind: requestKind(m.opts.Store, name, gvr, a.Names.Kind, a.Namespaced())}, nil
}

// removeOrphanAPIs deletes the CRDs installed for promises that are gone, releasing what objects of theirs are
// left (refused requests) first.
func (m *Mirror) removeOrphanAPIs(ctx context.Context, want map[string]bool) error {
	list, err := m.dc.Resource(crdGVR).List(ctx, metav1.ListOptions{LabelSelector: PromiseLabel})
	if err != nil {
		return err
	}
	var errs []error
	for _, crd := range list.Items {
		if want[crd.GetLabels()[PromiseLabel]] || crd.GetDeletionTimestamp() != nil {
			continue
		}
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			if st, _ := vm["storage"].(bool); !st {
				continue
			}
			gvr := schema.GroupVersionResource{Group: group, Version: fmt.Sprint(vm["name"]), Resource: plural}
			objs, err := m.dc.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				errs = append(errs, err)
				continue
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
		m.log.InfoContext(ctx, "removed a promise's API", "promise", crd.GetLabels()[PromiseLabel], "crd", crd.GetName())
	}
	return errors.Join(errs...)
}

// stopAPIs stops watching the promises' kinds.
func (m *Mirror) stopAPIs() {
	for _, pa := range m.apis {
		pa.stop()
	}
}
