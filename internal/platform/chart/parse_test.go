package chart

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestParseKrateoExamples: core-provider's own example files (testdata/examples, unchanged) parse, each to the
// source kind its URL is.
func TestParseKrateoExamples(t *testing.T) {
	want := map[string]string{
		"compositiondefinition-jenkins-repo.yaml":           SourceRepo,
		"compositiondefinition-postgresql-oci-no-repo.yaml": SourceOCI,
		"compositiondefinition-postgresql-oci-repo.yaml":    SourceOCI,
		"compositiondefinition-postgresql-repo.yaml":        SourceRepo,
		"compositiondefinition-postgresql-tgz.yaml":         SourceTGZ,
	}
	files, err := filepath.Glob("testdata/examples/*.yaml")
	if err != nil || len(files) != len(want) {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(doc)
		if err != nil {
			t.Errorf("Parse(%s) = %v", f, err)
			continue
		}
		if d.Metadata.Namespace == "" || d.Metadata.Annotations["krateo.io/connector-verbose"] != "true" {
			t.Errorf("Parse(%s) metadata = %+v", f, d.Metadata)
		}
		if got, err := SourceOf(d.Spec.Chart.URL); err != nil || got != want[filepath.Base(f)] {
			t.Errorf("SourceOf(%s) = %q, %v, want %q", d.Spec.Chart.URL, got, err, want[filepath.Base(f)])
		}
	}
}

func TestParse(t *testing.T) {
	const head = "apiVersion: core.krateo.io/v1alpha1\nkind: CompositionDefinition\nmetadata:\n  name: fireworks\n"
	tests := []struct {
		name, doc, wantErr string
	}{
		{"oci with repo", head + "spec:\n  chart:\n    url: oci://127.0.0.1:5000/charts\n    repo: fireworks-app\n    version: 0.1.0\n", ""},
		{"credentials", head + "spec:\n  chart:\n    url: oci://r.example/c/app\n    version: 1.0.0\n    credentials:\n" +
			"      username: bob\n      passwordRef: {name: registry, namespace: krateo-system, key: password}\n", ""},
		{"json", `{"apiVersion":"core.krateo.io/v1alpha1","kind":"CompositionDefinition","metadata":{"name":"x"},"spec":{"chart":{"url":"https://h/c.tgz"}}}`, ""},
		{"status ignored", head + "spec:\n  chart: {url: https://h/c.tgz}\nstatus:\n  digest: forged\n", ""},
		{"empty", "", "document is empty"},
		{"not a mapping", "- a\n- b\n", "must be a mapping"},
		{"wrong apiVersion", "apiVersion: core.krateo.io/v1\nkind: CompositionDefinition\nmetadata: {name: a}\n", "apiVersion: Unsupported value"},
		{"wrong kind", "apiVersion: core.krateo.io/v1alpha1\nkind: Definition\nmetadata: {name: a}\n", "kind: Unsupported value"},
		{"no name", "apiVersion: core.krateo.io/v1alpha1\nkind: CompositionDefinition\nspec:\n  chart: {url: https://h/c.tgz}\n", "metadata.name: Required value"},
		{"bad name", "apiVersion: core.krateo.io/v1alpha1\nkind: CompositionDefinition\nmetadata: {name: Fire_Works}\n", "metadata.name: Invalid value"},
		{"bad namespace", head + "  namespace: a.b\nspec:\n  chart: {url: https://h/c.tgz}\n", "metadata.namespace: Invalid value"},
		{"no chart", head + "spec: {}\n", "spec.chart: Required value"},
		{"chart not a mapping", head + "spec:\n  chart: oci://x\n", "spec: Invalid value"},
		{"no url", head + "spec:\n  chart: {version: 1.0.0}\n", "spec.chart.url: Required value"},
		{"ftp url", head + "spec:\n  chart: {url: ftp://h/c.tgz}\n", "spec.chart.url: Unsupported value"},
		{"url with password", head + "spec:\n  chart: {url: \"https://bob:s3cret@h/c.tgz\"}\n", "spec.chart.url: Invalid value: credentials in the URL"},
		{"relative url", head + "spec:\n  chart: {url: charts/c.tgz}\n", "spec.chart.url: Invalid value"},
		{"oci without version", head + "spec:\n  chart: {url: oci://h/c}\n", "spec.chart.version: Required value"},
		{"repo without repo", head + "spec:\n  chart: {url: https://charts.example, version: 1.0.0}\n", "spec.chart.repo: Required value"},
		{"repo without version", head + "spec:\n  chart: {url: https://charts.example, repo: app}\n", "spec.chart.version: Required value"},
		{"long version", head + "spec:\n  chart: {url: oci://h/c, version: 1.0.0-aaaaaaaaaaaaaaaaaaaa}\n", "spec.chart.version: Too long"},
		{"bad repo", head + "spec:\n  chart: {url: https://h, version: 1.0.0, repo: ../../etc}\n", "spec.chart.repo: Invalid value"},
		{"version not a string", head + "spec:\n  chart: {url: oci://h/c, version: [1]}\n", "spec: Invalid value"},
		{"credentials without user", head + "spec:\n  chart:\n    url: oci://h/c\n    version: 1.0.0\n    credentials: {passwordRef: {name: s, key: k}}\n",
			"spec.chart.credentials.username: Required value"},
		{"credentials without key", head + "spec:\n  chart:\n    url: oci://h/c\n    version: 1.0.0\n    credentials: {username: u, passwordRef: {name: s}}\n",
			"spec.chart.credentials.passwordRef.key: Required value"},
		{"credentials without secret", head + "spec:\n  chart:\n    url: oci://h/c\n    version: 1.0.0\n    credentials: {username: u, passwordRef: {key: k}}\n",
			"spec.chart.credentials.passwordRef.name: Required value"},
		{"duplicate key", head + "spec:\n  chart: {url: oci://h/c, url: oci://h/d, version: 1.0.0}\n", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.doc))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse = %v, want nil", err)
				}
				if d.Metadata.Namespace != DefaultNamespace || d.Status.Digest != "" {
					t.Errorf("Parse: namespace %q, status %+v; want namespace default, no status", d.Metadata.Namespace, d.Status)
				}
				return
			}
			var inv *api.InvalidError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &inv) {
				t.Errorf("Parse = %v, want an invalid-input error containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Parse error %q shows the password", err)
			}
		})
	}
}

// FuzzParse: no input panics, an accepted definition passes Validate again unchanged, and a password written in
// the URL never reaches an error.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/examples/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: core.krateo.io/v1alpha1\nkind: CompositionDefinition\nmetadata: {name: a}\nspec: {chart: {url: \"https://u:s3cret@h/c.tgz\"}}\n"))
	f.Add([]byte(`{"apiVersion":"core.krateo.io/v1alpha1","kind":"CompositionDefinition","metadata":{"name":"x"},"spec":{"chart":{"url":"oci://h/c","version":"1"}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := Parse(doc)
		if err != nil {
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("Parse error %q shows a password", err)
			}
			return
		}
		again := d
		if err := Validate(&again); err != nil {
			t.Fatalf("Validate(Parse(doc)) = %v", err)
		}
	})
}
