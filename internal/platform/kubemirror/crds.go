package kubemirror

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// CRDs holds the CustomResourceDefinitions runplane serves: Kratix's Promise, Destination and GitStateStore
// (platform.kratix.io/v1alpha1) and runplane's DirectoryStateStore (platform.runplane.dev/v1alpha1). The Helm
// chart's crds/ directory holds the same files, byte for byte (TestChartCRDsAreEmbedded).
//
//go:embed crds/*.yaml
var CRDs embed.FS

// FieldManager is the field manager of everything runplane applies to a cluster.
const FieldManager = "runplane"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDObjects reads the embedded CRDs, ordered by file name.
func CRDObjects() ([]*unstructured.Unstructured, error) {
	names, err := fs.Glob(CRDs, "crds/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]*unstructured.Unstructured, 0, len(names))
	for _, n := range names {
		b, err := CRDs.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("kubemirror: %s: %w", n, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// InstallCRDs applies runplane's CRDs (server-side apply, field manager runplane, taking over fields another
// manager set) and waits until the API server serves them.
func InstallCRDs(ctx context.Context, dc dynamic.Interface) error {
	objs, err := CRDObjects()
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := applyCRD(ctx, dc, o); err != nil {
			return err
		}
	}
	return nil
}

// applyCRD applies one CRD and waits for it to be Established.
func applyCRD(ctx context.Context, dc dynamic.Interface, o *unstructured.Unstructured) error {
	o.SetAPIVersion("apiextensions.k8s.io/v1")
	o.SetKind("CustomResourceDefinition")
	if _, err := dc.Resource(crdGVR).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("kubemirror: apply CRD %s: %w", o.GetName(), err)
	}
	return waitEstablished(ctx, dc, o.GetName())
}

// waitEstablished waits (up to a minute) for the CRD's Established condition.
func waitEstablished(ctx context.Context, dc dynamic.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		got, err := dc.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil && established(got) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubemirror: CRD %s not established: %w", name, errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
