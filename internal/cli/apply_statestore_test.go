package cli_test

import (
	"os"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

// TestApplyStateStores: Kratix's GitStateStore and Destination manifests and runplane's DirectoryStateStore are
// applied unchanged, in order (stores before the destinations that name them), left unchanged when applied again,
// dry-run like every kind, listed by get, and bad documents are refused before anything is sent.
func TestApplyStateStores(t *testing.T) {
	h := newHarness(t, true)
	doc, err := os.ReadFile("testdata/kratix/statestores.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.ok(string(doc), "apply", "-f", "-", "--dry-run"); !strings.Contains(got, "destination/worker-1 created") {
		t.Errorf("apply --dry-run printed %q, want what would be created", got)
	}
	c, err := client.New(h.url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), api.Login{Username: "root", Password: servertest.RootPassword, Provider: api.ProviderLocal}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDestination(t.Context(), "worker-1"); err == nil {
		t.Fatal("apply --dry-run stored a destination")
	}
	want := "gitstatestore/default created\ndirectorystatestore/local created\ndestination/worker-1 created\ndestination/aggregated-yaml created\n"
	if got := h.ok(string(doc), "apply", "-f", "-"); got != want {
		t.Errorf("apply printed %q, want %q", got, want)
	}
	again := "gitstatestore/default unchanged\ndirectorystatestore/local unchanged\ndestination/worker-1 unchanged\ndestination/aggregated-yaml unchanged\n"
	if got := h.ok(string(doc), "apply", "-f", "-"); got != again {
		t.Errorf("re-apply printed %q, want %q", got, again)
	}
	d, err := c.GetDestination(t.Context(), "aggregated-yaml")
	if err != nil || d.Filepath.Filename != "catalog.yaml" || d.Labels["target"] != "aggregated-yaml" || d.StateStoreRef.Kind != api.KindDirectoryStateStore {
		t.Errorf("destination aggregated-yaml = %+v, %v", d, err)
	}
	// Labels changed: configured.
	changed := strings.Replace(string(doc), "environment: dev", "environment: prod", 1)
	if got := h.ok(changed, "apply", "-f", "-"); !strings.Contains(got, "destination/worker-1 configured") {
		t.Errorf("apply of changed labels printed %q", got)
	}
	if got := h.ok("", "get", "destinations"); !strings.Contains(got, "worker-1") || !strings.Contains(got, "GitStateStore/default") ||
		!strings.Contains(got, "environment=prod") {
		t.Errorf("get destinations printed %q", got)
	}
	if got := h.ok("", "get", "state_stores"); !strings.Contains(got, "default") || !strings.Contains(got, "DirectoryStateStore") {
		t.Errorf("get state_stores printed %q", got)
	}
	if got := h.ok("", "get", "statestore", "local", "-o", "json"); !strings.Contains(got, `"path": "/var/lib/runplane/state"`) {
		t.Errorf("get statestore local -o json printed %q", got)
	}

	for _, tt := range []struct{ name, doc, wantErr string }{
		{"unknown mode", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: bad}\nspec:\n  stateStoreRef: {name: default, kind: GitStateStore}\n  filepath: {mode: flat}\n",
			`filepath.mode "flat"`},
		{"path escapes", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: bad}\nspec:\n  path: ../../etc\n  stateStoreRef: {name: default, kind: GitStateStore}\n",
			`".." would leave the state store`},
		{"missing store", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: bad}\nspec:\n  stateStoreRef: {name: nope, kind: GitStateStore}\n",
			`state store "nope" not found`},
		{"spec typo", "apiVersion: platform.kratix.io/v1alpha1\nkind: GitStateStore\nmetadata: {name: bad}\nspec:\n  urll: https://h/x.git\n",
			`unknown field "urll"`},
		{"directory store under kratix", "apiVersion: platform.kratix.io/v1alpha1\nkind: DirectoryStateStore\nmetadata: {name: bad}\nspec: {path: /x}\n",
			"DirectoryStateStore is runplane's kind"},
		{"flat form", "kind: DirectoryStateStore\nname: bad\npath: relative\n", "want an absolute directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if out := h.fail(tt.doc, "apply", "-f", "-"); !strings.Contains(out, tt.wantErr) {
				t.Errorf("apply of %s printed %q, want %q", tt.name, out, tt.wantErr)
			}
			if _, err := c.GetDestination(t.Context(), "bad"); err == nil {
				t.Errorf("apply of %s stored a destination", tt.name)
			}
			if _, err := c.GetStateStore(t.Context(), "bad"); err == nil {
				t.Errorf("apply of %s stored a state store", tt.name)
			}
		})
	}
}
