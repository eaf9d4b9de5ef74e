package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// compositionDoc is a composition (an instance of fireworks-app's type) as Krateo's users write one.
func compositionDoc(name, version, spec string, labels ...string) string {
	var l strings.Builder
	for i := 0; i+1 < len(labels); i += 2 {
		fmt.Fprintf(&l, "    %q: %q\n", labels[i], labels[i+1])
	}
	meta := ""
	if l.Len() > 0 {
		meta = "  labels:\n" + l.String()
	}
	return fmt.Sprintf("apiVersion: composition.krateo.io/%s\nkind: FireworksApp\nmetadata:\n  name: %s\n  namespace: demo\n%sspec: %s\n",
		version, name, meta, spec)
}

// readyDefinition stores the fireworks definition from a private registry at chart version and waits for nothing:
// storing it reads the chart.
func readyDefinition(t *testing.T, ts *testServer, host, version string) {
	t.Helper()
	var d api.CompositionDefinition
	path, method := "/api/v1/compositiondefinitions", "POST"
	if version != "0.1.0" {
		path, method = path+"/krateo-system/fireworks", "PUT"
	}
	ts.do(t, req{method: method, path: path, body: definitionDoc("fireworks", host, "fireworks-app", version, "password")}).
		want(t, http.StatusOK).decode(t, &d)
	if cond(d.Status.Conditions, "Ready") != "True" {
		t.Fatalf("definition at %s not Ready: %+v", version, d.Status)
	}
}

// TestCompositionInstances: instances of a generated type through the REST API — spec checked against the
// version's schema (400 naming the fields), defaults applied, the chart version label stamped, stored and listed;
// RBAC by definition name; relabelling moves an instance to a new served version; an old version keeps working.
func TestCompositionInstances(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	host := privateChartRegistry(t)
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "registry", GitURL: "https://example.com/x.git",
		Secret: map[string]string{"password": chartPassword}}}).want(t, http.StatusOK)
	const base = "/api/v1/compositions/demo/fireworksapps"
	ts.do(t, req{method: "GET", path: base}).want(t, http.StatusNotFound)
	readyDefinition(t, ts, host, "0.1.0")

	refusals := []struct {
		name, path, body, want string
		status                 int
	}{
		{"missing required", base, compositionDoc("fw", "v0-1-0", "{}"), `spec.app: Required value`, 400},
		{"wrong type", base, compositionDoc("fw", "v0-1-0", `{app: {replicas: three}}`), `spec.app.replicas: Invalid value`, 400},
		{"version not served", base, compositionDoc("fw", "v9-9-9", `{app: {}}`), `apiVersion: Unsupported value: "composition.krateo.io/v9-9-9"`, 400},
		{"wrong kind", base, strings.Replace(compositionDoc("fw", "v0-1-0", `{app: {}}`), "FireworksApp", "Other", 1), `kind: Unsupported value: "Other"`, 400},
		{"other namespace", "/api/v1/compositions/prod/fireworksapps", compositionDoc("fw", "v0-1-0", `{app: {}}`), `does not match namespace "prod"`, 400},
		{"no such type", "/api/v1/compositions/demo/nopes", compositionDoc("fw", "v0-1-0", `{app: {}}`), `no composition definition generates resource "nopes"`, 404},
		{"not a document", base, `{"apiVersion": 1}`, `apiVersion`, 400},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			e := ts.do(t, req{method: "POST", path: tt.path, body: tt.body}).want(t, tt.status).apiError(t)
			if !strings.Contains(e.Error, tt.want) {
				t.Errorf("POST %s = %q, want it to contain %q", tt.path, e.Error, tt.want)
			}
		})
	}
	var list []api.ResourceRequest
	ts.do(t, req{method: "GET", path: base}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("after the refusals: %d compositions stored", len(list))
	}

	var c api.ResourceRequest
	ts.do(t, req{method: "POST", path: base, body: compositionDoc("fw", "v0-1-0", `{app: {}}`)}).want(t, http.StatusOK).decode(t, &c)
	var spec map[string]map[string]any
	if err := json.Unmarshal(c.Spec, &spec); err != nil || spec["app"]["replicas"] != float64(1) {
		t.Errorf("created spec = %s (%v), want app.replicas defaulted to 1", c.Spec, err)
	}
	if c.APIVersion != "composition.krateo.io/v0-1-0" || c.Metadata.Labels["krateo.io/composition-version"] != "v0-1-0" ||
		c.Metadata.UID == "" || !strings.Contains(string(c.Status), `"Ready"`) {
		t.Errorf("created composition = %+v, status %s", c, c.Status)
	}
	ts.do(t, req{method: "POST", path: base, body: compositionDoc("fw", "v0-1-0", `{app: {}}`)}).want(t, http.StatusConflict)

	// RBAC names compositions by their definition: a team allowed another chart's gets 403, and sees none.
	other := makePersona(t, ts, "other", &api.Role{Resource: api.ResourceCompositions, ResourceIDs: []string{"postgresql"}, Access: api.AccessWrite})
	ts.do(t, req{method: "GET", path: base + "/fw", as: other}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "POST", path: base, body: compositionDoc("fw2", "v0-1-0", `{app: {}}`), as: other}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "DELETE", path: base + "/fw", as: other}).want(t, http.StatusForbidden)
	ts.do(t, req{method: "GET", path: base, as: other}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("a team allowed another chart lists %d compositions, want 0", len(list))
	}
	team := makePersona(t, ts, "team", &api.Role{Resource: api.ResourceCompositions, ResourceIDs: []string{"fireworks"}, Access: api.AccessWrite})
	ts.do(t, req{method: "POST", path: base, body: compositionDoc("fw2", "v0-1-0", `{app: {replicas: 2}}`), as: team}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: base, as: team}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 2 {
		t.Errorf("the fireworks team lists %d compositions, want 2", len(list))
	}

	// A new chart version: the old version keeps working; relabelling moves an instance to the new one.
	readyDefinition(t, ts, host, "0.2.0")
	ts.do(t, req{method: "PUT", path: base + "/fw2", body: compositionDoc("fw2", "v0-1-0", `{app: {replicas: 3}}`)}).
		want(t, http.StatusOK).decode(t, &c)
	if c.APIVersion != "composition.krateo.io/v0-1-0" || c.Metadata.Generation != 2 {
		t.Errorf("update at the old version = %s generation %d, want v0-1-0 generation 2", c.APIVersion, c.Metadata.Generation)
	}
	ts.do(t, req{method: "PUT", path: base + "/fw2", body: compositionDoc("fw2", "v0-1-0", `{app: {replicas: 3}}`,
		"krateo.io/composition-version", "v0-2-0")}).want(t, http.StatusOK).decode(t, &c)
	if c.APIVersion != "composition.krateo.io/v0-2-0" || c.Metadata.Labels["krateo.io/composition-version"] != "v0-2-0" {
		t.Errorf("relabelled composition = %s labels %v, want v0-2-0", c.APIVersion, c.Metadata.Labels)
	}
	ts.do(t, req{method: "PUT", path: base + "/fw", body: compositionDoc("fw", "v0-2-0", `{app: {}}`)}).want(t, http.StatusOK).decode(t, &c)
	if c.APIVersion != "composition.krateo.io/v0-2-0" || c.Metadata.Labels["krateo.io/composition-version"] != "v0-2-0" {
		t.Errorf("composition moved by apiVersion = %s labels %v, want v0-2-0", c.APIVersion, c.Metadata.Labels)
	}
	ts.do(t, req{method: "GET", path: base + "/fw2"}).want(t, http.StatusOK).decode(t, &c)
	if c.APIVersion != "composition.krateo.io/v0-2-0" {
		t.Errorf("GET after relabel = %s", c.APIVersion)
	}

	// The last definition of a type goes only once its compositions have (as a promise once its requests have):
	// they would be left with no chart to uninstall them. While another definition generates the type, one goes.
	const defs = "/api/v1/compositiondefinitions"
	ts.do(t, req{method: "POST", path: defs, body: definitionDoc("fireworks-too", host, "fireworks-app", "0.2.0", "password")}).
		want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: defs + "/krateo-system/fireworks"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: base + "/fw"}).want(t, http.StatusOK)
	e := ts.do(t, req{method: "DELETE", path: defs + "/krateo-system/fireworks-too"}).want(t, http.StatusConflict).apiError(t)
	if !strings.Contains(e.Error, "fireworksapps, of which 2 compositions exist: delete them first") {
		t.Errorf("DELETE of the last definition with compositions = %q", e.Error)
	}
	ts.do(t, req{method: "GET", path: defs + "/krateo-system/fireworks-too"}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: base + "/fw"}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: base + "/fw2"}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: defs + "/krateo-system/fireworks-too"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: base}).want(t, http.StatusNotFound)
}
