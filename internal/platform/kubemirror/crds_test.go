package kubemirror_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/internal/platform/kubemirror"
)

// TestChartCRDsAreEmbedded: the Helm chart's crds/ holds exactly the CRDs the binary installs, byte for byte.
func TestChartCRDsAreEmbedded(t *testing.T) {
	chart := filepath.Join("..", "..", "..", "deploy", "helm", "runplane", "crds")
	files, err := filepath.Glob(filepath.Join(chart, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := kubemirror.CRDs.ReadDir("crds")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(embedded) {
		t.Fatalf("chart has %d CRDs, the binary %d: copy internal/platform/kubemirror/crds/*.yaml to %s", len(files), len(embedded), chart)
	}
	for _, e := range embedded {
		want, _ := kubemirror.CRDs.ReadFile("crds/" + e.Name())
		got, err := os.ReadFile(filepath.Join(chart, e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the embedded %s (%v): copy internal/platform/kubemirror/crds/*.yaml to %s", filepath.Join(chart, e.Name()), e.Name(), err, chart)
		}
	}
}

// TestCRDObjects: every CRD parses, is a CustomResourceDefinition with a status subresource in each version.
func TestCRDObjects(t *testing.T) {
	objs, err := kubemirror.CRDObjects()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"promises.platform.kratix.io": true, "destinations.platform.kratix.io": true,
		"gitstatestores.platform.kratix.io": true, "directorystatestores.platform.runplane.dev": true,
		"compositiondefinitions.core.krateo.io": true}
	for _, o := range objs {
		if !want[o.GetName()] {
			t.Errorf("unexpected CRD %q", o.GetName())
		}
		delete(want, o.GetName())
		versions, _ := o.Object["spec"].(map[string]any)["versions"].([]any)
		for _, v := range versions {
			vm := v.(map[string]any)
			if _, ok := vm["subresources"].(map[string]any)["status"]; !ok {
				t.Errorf("%s %v: no status subresource", o.GetName(), vm["name"])
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("missing CRDs: %v", want)
	}
}
