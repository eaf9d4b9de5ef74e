package kubemirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/runplane/runplane/internal/platform/chart"
)

// CompositionLabel marks a CRD the mirror installed from CompositionDefinitions' generated type, with the type's
// resource (its plural); the CRD is removed when no stored definition generates it any more.
const CompositionLabel = "platform.runplane.dev/composition-resource"

// syncCompositionAPIs serves the types the stored definitions generated: each one's CRD installed (again when the
// generated document changed: a new chart version adds a version) and its compositions watched; the watches of
// types no definition generates stop, and their CRDs are removed. A type two definitions generate (one chart
// name in two namespaces) is served from the first, in the store's order.
func (m *Mirror) syncCompositionAPIs(ctx context.Context) error {
	defs, err := m.opts.Store.ListCompositionDefinitions(ctx, "")
	if err != nil {
		return fmt.Errorf("kubemirror: list composition definitions: %w", err)
	}
	want := map[string]json.RawMessage{}
	for _, d := range defs {
		if _, dup := want[d.Status.Resource]; d.Status.Resource != "" && len(d.Generated) > 0 && !dup {
			want[d.Status.Resource] = d.Generated
		}
	}
	var errs []error
	for res, generated := range want {
		d := digest(generated, nil, nil)
		cur := m.comps[res]
		if cur != nil && cur.digest == d {
			continue
		}
		if cur != nil {
			cur.stop()
			delete(m.comps, res)
		}
		pa, err := m.installCompositionAPI(ctx, res, generated)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pa.digest = d
		m.comps[res] = pa
	}
	keep := map[string]bool{}
	for res, cur := range m.comps {
		if _, ok := want[res]; !ok {
			cur.stop()
			delete(m.comps, res)
			continue
		}
		keep[res] = true
	}
	for res := range want {
		keep[res] = true // installed or not (an error above): never removed while a definition generates it
	}
	errs = append(errs, m.removeOrphanCRDs(ctx, CompositionLabel, keep))
	return errors.Join(errs...)
}

// installCompositionAPI applies a generated type's CRD (labelled with its resource) and starts watching its
// compositions at its first served version: the versions share their objects (conversion None), and the mirror
// reads and writes each object at its own version (compositionVersion).
func (m *Mirror) installCompositionAPI(ctx context.Context, res string, generated json.RawMessage) (*promiseAPI, error) {
	var doc chart.CRD
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("kubemirror: generated type %s: %w", res, err)
	}
	var served []string
	for _, v := range doc.Spec.Versions {
		if v.Served {
			served = append(served, v.Name)
		}
	}
	if len(served) == 0 {
		return nil, fmt.Errorf("kubemirror: generated type %s serves no version", res)
	}
	var obj map[string]any
	if err := json.Unmarshal(generated, &obj); err != nil {
		return nil, fmt.Errorf("kubemirror: generated type %s: %w", res, err)
	}
	crd := &unstructured.Unstructured{Object: obj}
	gvr := schema.GroupVersionResource{Group: doc.Spec.Group, Version: served[0], Resource: doc.Spec.Names.Plural}
	typ, err := m.serveType(ctx, crd, CompositionLabel, res, gvr, KindComposition, kindAllCompositions)
	if err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "serving a composition type", "resource", res, "crd", crd.GetName(), "versions", served)
	typ.kind = compositionKind(m.opts.Store, gvr, doc.Spec.Names.Kind, served)
	return typ, nil
}
