package kubemirror

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/store"
)

// KindComposition is the Kind of a Ref to a Krateo composition (an instance of a type a CompositionDefinition
// generated); Promise names the type's resource (its plural, fireworksapps), which is how the REST API and the
// store address compositions.
const KindComposition = "Composition"

var definitionGVR = schema.GroupVersionResource{Group: "core.krateo.io", Version: "v1alpha1", Resource: "compositiondefinitions"}

func definitionKind(st Store) kind {
	const base = "/compositiondefinitions"
	return kind{
		name: "composition definition", gvr: definitionGVR, apiVersion: api.KrateoCoreAPIVersion,
		kind: api.KindCompositionDefinition, namespaced: true, versioned: true,
		collection: func(string) string { return base },
		item:       func(ns, name string) string { return base + "/" + pathEscape(ns) + "/" + pathEscape(name) },
		list: func(ctx context.Context) (map[string]*stored, error) {
			all, err := st.ListCompositionDefinitions(ctx, "")
			return byKey(all, err, storedDefinition)
		},
		get: func(ctx context.Context, ns, name string) (*stored, error) {
			d, err := st.GetCompositionDefinition(ctx, ns, name)
			return orAbsent(storedDefinition, d, err)
		},
	}
}

// storedDefinition is a definition in its cluster form. A passwordRef without a namespace names a Secret of the
// definition's own (the only one runplane reads): core-provider's CRD requires the namespace, so it is written out.
func storedDefinition(d store.CompositionDefinition) *stored {
	spec := asMap(d.Spec)
	status := asMap(d.Status)
	ns := d.Metadata.Namespace
	refNamespace(spec["chart"], ns)
	if managed, ok := status["managed"].(map[string]any); ok {
		infos, _ := managed["versionInfo"].([]any)
		for _, vi := range infos {
			if m, ok := vi.(map[string]any); ok {
				refNamespace(m["chart"], ns)
			}
		}
	}
	return &stored{Name: d.Metadata.Name, Namespace: ns, Labels: d.Metadata.Labels, Annotations: d.Metadata.Annotations,
		Spec: spec, Status: status, Version: d.Version}
}

func refNamespace(chartInfo any, ns string) {
	c, _ := chartInfo.(map[string]any)
	creds, _ := c["credentials"].(map[string]any)
	ref, _ := creds["passwordRef"].(map[string]any)
	if ref != nil && ref["namespace"] == nil {
		ref["namespace"] = ns
	}
}

// compositionKind is the kind of a generated type's compositions, watched at gvr; served lists the versions the
// type serves (its chart versions).
func compositionKind(st Store, gvr schema.GroupVersionResource, kindName string, served []string) kind {
	resource := gvr.Resource
	path := func(ns string) string { return "/compositions/" + pathEscape(ns) + "/" + pathEscape(resource) }
	return kind{
		name: "composition " + resource, gvr: gvr, apiVersion: gvr.GroupVersion().String(), kind: kindName,
		namespaced: true, versioned: true,
		collection: path,
		item:       func(ns, name string) string { return path(ns) + "/" + pathEscape(name) },
		list: func(ctx context.Context) (map[string]*stored, error) {
			all, err := st.ListCompositions(ctx, resource, "")
			return byKey(all, err, storedComposition)
		},
		get: func(ctx context.Context, ns, name string) (*stored, error) {
			c, err := st.GetComposition(ctx, resource, ns, name)
			return orAbsent(storedComposition, c, err)
		},
		versionOf: func(u *unstructured.Unstructured) string { return compositionVersion(u, gvr.Group, served) },
	}
}

// storedComposition is a composition in its cluster form: written at its own version (the chart version its
// release is from); being deleted while its uninstall runs or failed.
func storedComposition(c store.Composition) *stored {
	s := &stored{Name: c.Metadata.Name, Namespace: c.Metadata.Namespace, Labels: c.Metadata.Labels,
		Annotations: c.Metadata.Annotations, APIVersion: c.APIVersion, Version: c.Version}
	if len(c.Spec) > 0 {
		s.Spec = json.RawMessage(c.Spec)
	}
	_ = json.Unmarshal(c.Status, &s.Status)
	s.Deleting = chart.ReadCompositionStatus(c.Status).Operation == "uninstall"
	return s
}

// compositionVersion is the version a composition in the cluster was written at. A generated type's versions
// share one stored object (conversion None), so the API server answers each object at the version it is asked
// for; what says the version is, in order: Krateo's label krateo.io/composition-version (core-provider's webhook
// stamps it; runplane's store sets it; relabelling moves a composition), the apiVersion kubectl applied
// (last-applied-configuration), the newest write of another field manager than runplane's (managedFields record
// each writer's apiVersion), and last the version it was read at.
func compositionVersion(u *unstructured.Unstructured, group string, served []string) string {
	ok := func(apiVersion string) (string, bool) {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil || gv.Group != group || !slices.Contains(served, gv.Version) {
			return "", false
		}
		return gv.Version, true
	}
	if v, found := u.GetLabels()[chart.VersionLabel]; found && slices.Contains(served, v) {
		return v
	}
	if la := u.GetAnnotations()[lastApplied]; la != "" {
		var doc struct {
			APIVersion string `json:"apiVersion"`
		}
		if json.Unmarshal([]byte(la), &doc) == nil {
			if v, found := ok(doc.APIVersion); found {
				return v
			}
		}
	}
	var newest time.Time
	version := ""
	for _, mf := range u.GetManagedFields() {
		if mf.Manager == FieldManager || mf.Subresource != "" {
			continue
		}
		v, found := ok(mf.APIVersion)
		if !found {
			continue
		}
		if t := mf.Time; version == "" || (t != nil && t.After(newest)) {
			version = v
			if t != nil {
				newest = t.Time
			}
		}
	}
	if version != "" {
		return version
	}
	_, v, _ := strings.Cut(u.GetAPIVersion(), "/")
	return v
}
