package helmchart

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func composition(labels map[string]string, spec string) Composition {
	return Composition{APIVersion: "composition.krateo.io/v0-1-0", Kind: "FireworksApp", Resource: "fireworksapps",
		Metadata: api.ObjectMeta{Name: "demo", Namespace: "team-a", UID: "1c9f1b1e-aaaa", Labels: labels},
		Spec:     json.RawMessage(spec)}
}

// TestRender renders a composition's release as its install step would: spec as values over the chart's
// defaults, Krateo's global values injected, its labels on every object, the release named by
// krateo.io/release-name or the composition's name, and the kinds collected for the definition's Role.
func TestRender(t *testing.T) {
	archive := buildChart(t, "fireworks-app", "0.1.0", false)
	tests := []struct {
		name        string
		c           Composition
		wantRelease string
		wantKinds   [][2]string
		wantErr     string
	}{
		{"defaults", composition(nil, `{"app":{}}`), "demo", [][2]string{{"apps/v1", "Deployment"}, {"v1", "ConfigMap"}}, ""},
		{"release-name label", composition(map[string]string{"krateo.io/release-name": "fireworks-app-8"}, `{"app":{"greeting":"hi"}}`),
			"fireworks-app-8", nil, ""},
		{"spec turns a template on", composition(nil, `{"app":{},"service":{"enabled":true,"port":9090}}`), "demo",
			[][2]string{{"apps/v1", "Deployment"}, {"v1", "ConfigMap"}, {"v1", "Service"}}, ""},
		{"values failing the schema", composition(nil, `{"app":{"replicas":"two"}}`), "", nil, "replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Render(archive, tt.c, "krateo-system")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Render = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render = %v", err)
			}
			if r.Release != tt.wantRelease {
				t.Errorf("release = %q, want %q", r.Release, tt.wantRelease)
			}
			if tt.wantKinds != nil {
				if diff := cmp.Diff(tt.wantKinds, r.Kinds()); diff != "" {
					t.Errorf("Kinds (-want +got):\n%s", diff)
				}
			}
			for _, o := range r.Objects {
				labels := o.Doc["metadata"].(map[string]any)["labels"].(map[string]any)
				for k, v := range map[string]string{"krateo.io/composition-id": "1c9f1b1e-aaaa", "krateo.io/composition-name": "demo",
					"krateo.io/composition-namespace": "team-a", "krateo.io/composition-group": "composition.krateo.io",
					"krateo.io/composition-installed-version": "v0-1-0", "krateo.io/composition-resource": "fireworksapps",
					"krateo.io/composition-kind": "FireworksApp", "krateo.io/krateo-namespace": "krateo-system"} {
					if labels[k] != v {
						t.Errorf("%s %s label %s = %v, want %q", o.Kind, o.Name, k, labels[k], v)
					}
				}
				if o.Kind == "ConfigMap" {
					data := o.Doc["data"].(map[string]any)
					if data["composition"] != "demo" || data["kind"] != "FireworksApp" || o.Name != tt.wantRelease+"-config" {
						t.Errorf("ConfigMap %s data = %v: the chart did not see global.compositionName/Kind", o.Name, data)
					}
				}
			}
			g := r.Values["global"].(map[string]any)
			if g["compositionInstalledVersion"] != "v0-1-0" || g["krateoNamespace"] != "krateo-system" || g["compositionId"] != "1c9f1b1e-aaaa" ||
				g["gracefullyPaused"] != "false" || g["compositionApiVersion"] != "composition.krateo.io/v0-1-0" {
				t.Errorf("global values = %v", g)
			}
		})
	}
}
