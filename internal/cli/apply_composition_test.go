package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// TestApplyKrateoComposition: `runplane apply -f` takes a composition file as Krateo's users write it: created,
// unchanged when applied again (the server's defaults and version label are not differences), configured when its
// spec changes; a spec the schema refuses is an error naming the field; delete -f removes it.
func TestApplyKrateoComposition(t *testing.T) {
	h := newHarness(t, true)
	ch := &chartv2.Chart{Metadata: &chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: "fireworks-app", Version: "0.1.0"},
		Schema:    []byte(`{"type":"object","required":["app"],"properties":{"app":{"type":"object","properties":{"replicas":{"type":"integer","default":1}}}}}`),
		Templates: []*common.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}'}\n")}}}
	file, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(pkg) }))
	t.Cleanup(srv.Close)
	def := "apiVersion: core.krateo.io/v1alpha1\nkind: CompositionDefinition\nmetadata: {name: fireworks, namespace: krateo-system}\n" +
		"spec:\n  chart:\n    url: " + srv.URL + "/fireworks-app-0.1.0.tgz\n"
	if got := h.ok(def, "apply", "-f", "-"); !strings.Contains(got, "(ready: composition.krateo.io/v0-1-0 FireworksApp)") {
		t.Fatalf("apply of the definition printed %q", got)
	}
	comp := "apiVersion: composition.krateo.io/v0-1-0\nkind: FireworksApp\nmetadata:\n  name: fireworks-1\n  namespace: demo\nspec:\n  app: {}\n"
	const ref = "fireworksapp.composition.krateo.io/fireworks-1 (namespace demo)"
	for _, tt := range []struct{ name, doc, want string }{
		{"dry run", comp, ref + " created (dry run)\n"},
		{"created", comp, ref + " created\n"},
		{"unchanged", comp, ref + " unchanged\n"},
		{"configured", strings.Replace(comp, "app: {}", "app: {replicas: 3}", 1), ref + " configured\n"},
	} {
		args := []string{"apply", "-f", "-"}
		if tt.name == "dry run" {
			args = append(args, "--dry-run")
		}
		if got := h.ok(tt.doc, args...); got != tt.want {
			t.Errorf("%s: apply printed %q, want %q", tt.name, got, tt.want)
		}
	}
	bad := strings.Replace(comp, "app: {}", "app: {replicas: three}", 1)
	if out := h.fail(bad, "apply", "-f", "-"); !strings.Contains(out, "spec.app.replicas") {
		t.Errorf("apply of a bad spec printed %q, want the field named", out)
	}
	h.ok(comp, "delete", "-f", "-")
	if got := h.ok(comp, "apply", "-f", "-", "--dry-run"); got != ref+" created (dry run)\n" {
		t.Errorf("after delete -f, apply --dry-run printed %q", got)
	}
}
