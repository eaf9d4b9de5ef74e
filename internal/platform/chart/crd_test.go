package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGenerateGolden: each values schema in testdata/schemas generates the CRD in testdata/schemas/*.crd.json
// (rewrite with -update), and runplane's structural checker (the one promises use, which checks what the API
// server checks) accepts it.
func TestGenerateGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".crd.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			schema, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			crd, gvk, err := Generate(Package{Name: name, Version: "0.1.0", Schema: schema})
			if err != nil {
				t.Fatalf("Generate = %v", err)
			}
			if gvk.Group != "composition.krateo.io" || gvk.Version != "v0-1-0" {
				t.Errorf("Generate gvk = %+v", gvk)
			}
			if _, err := API(crd); err != nil {
				t.Errorf("the generated CRD is refused: %v", err)
			}
			got, err := json.MarshalIndent(crd, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".json") + ".crd.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
				t.Errorf("Generate(%s) differs from %s (-want +got):\n%s", f, golden, diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no schemas in testdata/schemas")
	}
}

// TestGeneratedTypeValidates: an instance of the generated type is checked against the values schema, with its
// defaults applied, as the API server would with the CRD installed.
func TestGeneratedTypeValidates(t *testing.T) {
	schema, err := os.ReadFile("testdata/schemas/fireworks-app.json")
	if err != nil {
		t.Fatal(err)
	}
	crd, _, err := Generate(Package{Name: "fireworks-app", Version: "0.1.0", Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	a, err := API(crd)
	if err != nil {
		t.Fatal(err)
	}
	sch := a.Served("composition.krateo.io/v0-1-0").Schema
	tests := []struct {
		name, spec, want, wantErr string
	}{
		{"defaults", `{"app":{"service":{}},"git":{"toRepo":{"org":"acme"}}}`,
			`{"app":{"service":{"port":80,"type":"NodePort"}},"git":{"insecure":true,"toRepo":{"org":"acme","private":false,"scmUrl":"https://github.com"},"unsupportedCapabilities":true},"replicas":1}`, ""},
		{"int or string, preserved", `{"app":{"service":{}},"git":{"toRepo":{"org":"a","name":null}},"replicas":"50%","extra":{"a":{"b":1}},"anything":[1]}`, "", ""},
		{"bad enum", `{"app":{"service":{"type":"ClusterIP"}},"git":{}}`, "", `spec.app.service.type: Unsupported value: "ClusterIP"`},
		{"missing required", `{"git":{}}`, "", "spec.app: Required value"},
		{"wrong type", `{"app":{"service":{"port":"eighty"}},"git":{}}`, "", "spec.app.service.port: Invalid value"},
		{"unknown field", `{"app":{"service":{}},"git":{},"colour":"red"}`, "", "spec.colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sch.Apply("spec", json.RawMessage(tt.spec))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Apply(%s) = %v, want an error containing %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply(%s) = %v", tt.spec, err)
			}
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("Apply(%s) = %s, want %s", tt.spec, got, tt.want)
			}
		})
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		name, version string
		want          GVK
		plural        string
	}{
		{"fireworks-app", "0.0.1", GVK{"composition.krateo.io", "v0-0-1", "FireworksApp"}, "fireworksapps"},
		{"postgresql", "12.8.3", GVK{"composition.krateo.io", "v12-8-3", "Postgresql"}, "postgresqls"},
		{"my_policy", "1.0.0-rc.1", GVK{"composition.krateo.io", "v1-0-0-rc-1", "MyPolicy"}, "mypolicies"},
		{"box", "2.0.0", GVK{"composition.krateo.io", "v2-0-0", "Box"}, "boxes"},
		{"3scale", "1.0.0", GVK{"composition.krateo.io", "v1-0-0", "X3scale"}, "x3scales"},
	}
	for _, tt := range tests {
		got, err := TypeOf(tt.name, tt.version)
		if err != nil || got != tt.want || Plural(got.Kind) != tt.plural {
			t.Errorf("TypeOf(%q, %q) = %+v (plural %q), %v; want %+v, %q", tt.name, tt.version, got, Plural(got.Kind), err, tt.want, tt.plural)
		}
	}
	for _, bad := range [][2]string{{"---", "1.0.0"}, {"app", ""}, {"app", "1.0.0/../x"}} {
		if _, err := TypeOf(bad[0], bad[1]); err == nil {
			t.Errorf("TypeOf(%q, %q) = nil error", bad[0], bad[1])
		}
	}
}

// TestReconcile: the status a definition gets from its chart, including a new chart version adding a served
// version (multi-version, vacuum storage as core-provider has it) and a chart without values.schema.json.
func TestReconcile(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	schema, err := os.ReadFile("testdata/schemas/fireworks-app.json")
	if err != nil {
		t.Fatal(err)
	}
	d := api.CompositionDefinition{APIVersion: api.KrateoCoreAPIVersion, Kind: api.KindCompositionDefinition,
		Metadata: api.ObjectMeta{Name: "fireworks", Namespace: "krateo-system", Generation: 1},
		Spec: api.CompositionDefinitionSpec{Chart: &api.ChartInfo{URL: "oci://127.0.0.1/charts/fireworks-app", Version: "0.1.0",
			Credentials: &api.ChartCredentials{Username: "bob", PasswordRef: api.SecretKeySelector{Name: "reg", Key: "password"}}}}}
	d.Status = PendingStatus(now)

	pkg := &Package{Name: "fireworks-app", Version: "0.1.0", Schema: schema, URL: "oci://127.0.0.1/charts/fireworks-app:0.1.0", Digest: "sha256:aa"}
	r := Reconcile(d, nil, pkg, nil, now)
	if !Ready(r.Status) || r.Generated == nil {
		t.Fatalf("Reconcile = %+v, want Ready with a generated type", r.Status)
	}
	want := api.CompositionDefinitionStatus{Kind: "FireworksApp", Resource: "fireworksapps", APIVersion: "composition.krateo.io/v0-1-0",
		PackageURL: pkg.URL, Digest: "sha256:aa", ObservedGeneration: 1,
		Managed: api.Managed{Group: "composition.krateo.io", Kind: "FireworksApp", VersionInfo: []api.VersionDetail{{Version: "v0-1-0",
			Served: true, Stored: true, Chart: &api.ChartInfo{URL: "oci://127.0.0.1/charts/fireworks-app", Version: "0.1.0"}}}}}
	got := r.Status
	got.Conditions = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Reconcile status (-want +got):\n%s", diff)
	}
	if strings.Contains(string(mustJSON(t, r.Status)), "bob") {
		t.Errorf("the status names the chart's credentials: %s", mustJSON(t, r.Status))
	}

	// Version 0.2.0: both served, vacuum stores.
	d.Status, d.Metadata.Generation = r.Status, 2
	d.Spec.Chart.Version = "0.2.0"
	pkg2 := *pkg
	pkg2.Version, pkg2.Digest = "0.2.0", "sha256:bb"
	r2 := Reconcile(d, r.Generated, &pkg2, nil, now.Add(time.Minute))
	var crd CRD
	if err := json.Unmarshal(r2.Generated, &crd); err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, v := range crd.Spec.Versions {
		versions = append(versions, v.Name+map[bool]string{true: "+served", false: ""}[v.Served]+map[bool]string{true: "+storage", false: ""}[v.Storage])
	}
	if diff := cmp.Diff([]string{"v0-1-0+served", "v0-2-0+served", "vacuum+storage"}, versions); diff != "" {
		t.Errorf("versions after 0.2.0 (-want +got):\n%s", diff)
	}
	if len(r2.Status.Managed.VersionInfo) != 2 || r2.Status.APIVersion != "composition.krateo.io/v0-2-0" || !Ready(r2.Status) {
		t.Errorf("status after 0.2.0 = %+v", r2.Status)
	}
	a, err := API(crd)
	if err != nil || a.Served("composition.krateo.io/v0-1-0") == nil || a.Served("composition.krateo.io/v0-2-0") == nil {
		t.Errorf("API(after 0.2.0) = %+v, %v; want both versions served", a, err)
	}
	// Applying 0.2.0 again changes nothing.
	r3 := Reconcile(d, r2.Generated, &pkg2, nil, now.Add(2*time.Minute))
	if string(r3.Generated) != string(r2.Generated) {
		t.Errorf("reconciling the same version again changed the type")
	}

	// A chart without a schema: not Ready, the reason says why, what was served stays.
	pkg3 := Package{Name: "fireworks-app", Version: "0.3.0"}
	r4 := Reconcile(d, r2.Generated, &pkg3, nil, now)
	ready := r4.Status.Conditions[0]
	if Ready(r4.Status) || ready.Reason != ReasonNoSchema || !strings.Contains(ready.Message, "values.schema.json") || r4.Generated != nil {
		t.Errorf("Reconcile(no schema) = %+v, generated %s", r4.Status.Conditions, r4.Generated)
	}
	// A fetch error.
	r5 := Reconcile(d, nil, nil, errors.New("chart not found"), now)
	if Ready(r5.Status) || r5.Status.Conditions[0].Reason != ReasonFetchFailed || r5.Status.Conditions[0].Message != "chart not found" {
		t.Errorf("Reconcile(fetch error) = %+v", r5.Status.Conditions)
	}
	// Another chart name is another kind.
	r6 := Reconcile(d, r2.Generated, &Package{Name: "other", Version: "1.0.0", Schema: schema}, nil, now)
	if Ready(r6.Status) || !strings.Contains(r6.Status.Conditions[0].Message, "another CompositionDefinition") {
		t.Errorf("Reconcile(renamed chart) = %+v", r6.Status.Conditions)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzStructuralSchema: no values schema panics the conversion, and whatever it accepts makes a CRD the
// structural checker accepts.
func FuzzStructuralSchema(f *testing.F) {
	for _, n := range []string{"fireworks-app", "defs-2020"} {
		if b, err := os.ReadFile("testdata/schemas/" + n + ".json"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"$ref":"#"}`))
	f.Add([]byte(`{"properties":{"a":{"$ref":"#/properties/a"}}}`))
	f.Add([]byte(`{"definitions":{"a":{"properties":{"x":{"$ref":"#/definitions/a"},"y":{"$ref":"#/definitions/a"}}}},"$ref":"#/definitions/a"}`))
	f.Fuzz(func(t *testing.T, schema []byte) {
		crd, _, err := Generate(Package{Name: "app", Version: "1.0.0", Schema: schema})
		if err != nil {
			return
		}
		if _, err := API(crd); err != nil {
			t.Fatalf("the schema was converted, but the CRD made of it is refused: %v", err)
		}
	})
}
