package cli_test

import (
	"os"
	"strings"
	"testing"
)

// TestApplyKrateoDefinition: `runplane apply -f` takes Krateo's own example file (core-provider's
// testdata/examples/compositiondefinition-postgresql-tgz.yaml, unchanged) through a real server: created (its
// chart cannot be fetched here, so not ready, saying why), unchanged, configured; a bad file is refused before
// anything is sent, naming the field.
func TestApplyKrateoDefinition(t *testing.T) {
	h := newHarness(t, true)
	const file = "testdata/krateo/compositiondefinition-postgresql-tgz.yaml"
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// No internet here: point the chart at a port nothing listens on, so the fetch fails at once.
	local := strings.Replace(string(doc), "https://charts.bitnami.com/bitnami/", "https://127.0.0.1:1/", 1)
	const ref = "compositiondefinition/demo-system/postgresql-tgz"
	if got, want := h.ok(local, "apply", "-f", "-", "--dry-run"), ref+" created (dry run)\n"; got != want {
		t.Errorf("apply --dry-run printed %q, want %q", got, want)
	}
	if got := h.ok(local, "apply", "-f", "-"); !strings.HasPrefix(got, ref+" created (not ready: ChartFetchFailed: ") {
		t.Errorf("apply printed %q", got)
	}
	if got := h.ok(local, "apply", "-f", "-"); !strings.HasPrefix(got, ref+" unchanged (not ready: ") {
		t.Errorf("re-apply printed %q", got)
	}
	paused := strings.Replace(local, `"krateo.io/connector-verbose": "true"`, `"krateo.io/connector-verbose": "false"`, 1)
	if got := h.ok(paused, "apply", "-f", "-"); !strings.HasPrefix(got, ref+" configured") {
		t.Errorf("apply of changed annotations printed %q", got)
	}
	bad := strings.Replace(local, "url: https://127.0.0.1:1/postgresql-12.8.3.tgz", "url: ftp://127.0.0.1/x.tgz", 1)
	if out := h.fail(bad, "apply", "-f", "-"); !strings.Contains(out, "spec.chart.url: Unsupported value") {
		t.Errorf("apply of a bad definition printed %q", out)
	}
	// Krateo's file itself parses unchanged (the fetch is what needs the internet).
	if got := h.ok(string(doc), "apply", "-f", "-", "--dry-run"); got != ref+" unchanged (dry run)\n" && got != ref+" configured (dry run)\n" {
		t.Errorf("apply --dry-run of Krateo's file printed %q", got)
	}
}
