package chart

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// offerOf01And02 is the fireworks definition after reading chart versions 0.1.0 and 0.2.0.
func offerOf01And02(t testing.TB) *Offer {
	t.Helper()
	schema, err := os.ReadFile("testdata/schemas/fireworks-app.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	d := api.CompositionDefinition{APIVersion: api.KrateoCoreAPIVersion, Kind: api.KindCompositionDefinition,
		Metadata: api.ObjectMeta{Name: "fireworks", Namespace: "krateo-system", Generation: 1},
		Spec:     api.CompositionDefinitionSpec{Chart: &api.ChartInfo{URL: "oci://127.0.0.1/charts/fireworks-app", Version: "0.1.0"}}}
	r := Reconcile(d, nil, &Package{Name: "fireworks-app", Version: "0.1.0", Schema: schema}, nil, now)
	d.Status = r.Status
	d.Spec.Chart.Version, d.Metadata.Generation = "0.2.0", 2
	r = Reconcile(d, r.Generated, &Package{Name: "fireworks-app", Version: "0.2.0", Schema: schema}, nil, now)
	d.Status = r.Status
	o, err := OfferOf(d, r.Generated)
	if err != nil || o == nil {
		t.Fatalf("OfferOf = %v, %v", o, err)
	}
	return o
}

func TestCheckComposition(t *testing.T) {
	o := offerOf01And02(t)
	const spec = `{"app":{"service":{"port":8080}},"git":{}}`
	doc := func(version string, labels map[string]string, spec string) api.ResourceRequest {
		return api.ResourceRequest{APIVersion: "composition.krateo.io/" + version, Kind: "FireworksApp",
			Metadata: api.ObjectMeta{Name: "fw", Namespace: "demo", Labels: labels}, Spec: json.RawMessage(spec)}
	}
	tests := []struct {
		name        string
		in          api.ResourceRequest
		prev        *api.ResourceRequest
		wantVersion string
		wantErr     string
	}{
		{"created at a served version", doc("v0-1-0", nil, spec), nil, "v0-1-0", ""},
		{"an older version keeps working", doc("v0-1-0", map[string]string{VersionLabel: "v0-1-0"}, spec),
			ptr(doc("v0-1-0", map[string]string{VersionLabel: "v0-1-0"}, spec)), "v0-1-0", ""},
		{"relabelled", doc("v0-1-0", map[string]string{VersionLabel: "v0-2-0"}, spec),
			ptr(doc("v0-1-0", map[string]string{VersionLabel: "v0-1-0"}, spec)), "v0-2-0", ""},
		{"a new apiVersion moves it", doc("v0-2-0", map[string]string{VersionLabel: "v0-1-0"}, spec),
			ptr(doc("v0-1-0", map[string]string{VersionLabel: "v0-1-0"}, spec)), "v0-2-0", ""},
		{"a version not served", doc("v9-0-0", nil, spec), nil, "", `apiVersion: Unsupported value: "composition.krateo.io/v9-0-0"`},
		{"a relabel to a version not served", doc("v0-1-0", map[string]string{VersionLabel: "v9-0-0"}, spec),
			ptr(doc("v0-1-0", map[string]string{VersionLabel: "v0-1-0"}, spec)), "", `Unsupported value: "composition.krateo.io/v9-0-0"`},
		{"a required field missing", doc("v0-1-0", nil, `{"app":{"service":{}}}`), nil, "", "spec.git: Required value"},
		{"a value out of range", doc("v0-1-0", nil, `{"app":{"service":{"port":70000}},"git":{}}`), nil, "", "spec.app.service.port"},
		{"another kind", func() api.ResourceRequest { d := doc("v0-1-0", nil, spec); d.Kind = "Other"; return d }(), nil, "",
			`kind: Unsupported value: "Other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckComposition(o, tt.in, tt.prev)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CheckComposition = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckComposition: %v", err)
			}
			if got.APIVersion != api.CompositionGroup+"/"+tt.wantVersion || got.Metadata.Labels[VersionLabel] != tt.wantVersion {
				t.Errorf("CheckComposition = apiVersion %s label %q, want %s", got.APIVersion, got.Metadata.Labels[VersionLabel], tt.wantVersion)
			}
			var s struct {
				App struct{ Service map[string]any }
			}
			if err := json.Unmarshal(got.Spec, &s); err != nil || s.App.Service["type"] != "NodePort" {
				t.Errorf("CheckComposition spec = %s (%v), want the schema's defaults applied", got.Spec, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzCheckComposition: any document gives a composition or a 400, never a panic, and what it accepts it accepts
// again unchanged.
func FuzzCheckComposition(f *testing.F) {
	o := offerOf01And02(f)
	f.Add(`{"apiVersion":"composition.krateo.io/v0-1-0","kind":"FireworksApp","metadata":{"name":"fw"},"spec":{"app":{"service":{}},"git":{}}}`)
	f.Add(`{"apiVersion":"composition.krateo.io/v0-2-0","kind":"FireworksApp","metadata":{"name":"fw","labels":{"krateo.io/composition-version":"v0-1-0"}},"spec":{}}`)
	f.Add(`{"kind":"FireworksApp","metadata":{"name":"x","labels":{"krateo.io/composition-version":"v0-2-0"}},"spec":null}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var c api.ResourceRequest
		if json.Unmarshal([]byte(doc), &c) != nil {
			return
		}
		got, err := CheckComposition(o, c, nil)
		if err != nil {
			var invalid *api.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("CheckComposition(%q) = %v, not a 400", doc, err)
			}
			return
		}
		again, err := CheckComposition(o, got, &got)
		if err != nil || again.APIVersion != got.APIVersion || string(again.Spec) != string(got.Spec) {
			t.Fatalf("CheckComposition of its own result = %v, %s, %s; want %s, %s", err, again.APIVersion, again.Spec, got.APIVersion, got.Spec)
		}
	})
}
