package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart/helmchart/charttest"
)

const chartPassword = "registry-Pa55-for-tests"

// privateChartRegistry starts a real OCI registry (go-containerregistry) on loopback behind basic auth
// (krateo/chartPassword) and pushes fireworks-app 0.1.0 and 0.2.0 (with values.schema.json) and bare 1.0.0
// (without) to <host>/charts, built with the Helm SDK.
func privateChartRegistry(t *testing.T) string {
	t.Helper()
	return charttest.Registry(t, "krateo", chartPassword,
		charttest.ConfigMapChart("fireworks-app", "0.1.0", charttest.FireworksSchema),
		charttest.ConfigMapChart("fireworks-app", "0.2.0", charttest.FireworksSchema),
		charttest.ConfigMapChart("bare", "1.0.0", ""))
}

// definitionDoc is a CompositionDefinition in the form of Krateo's compositiondefinition-postgresql-oci-repo.yaml.
func definitionDoc(name, host, repo, version, key string) string {
	return fmt.Sprintf(`apiVersion: core.krateo.io/v1alpha1
kind: CompositionDefinition
metadata:
  annotations:
     "krateo.io/connector-verbose": "true"
  name: %s
  namespace: krateo-system
spec:
  chart:
    repo: %s
    url: oci://%s/charts
    version: "%s"
    credentials:
      username: krateo
      passwordRef: {name: registry, namespace: krateo-system, key: %s}
`, name, repo, host, version, key)
}

// TestCompositionDefinitionLifecycle: a CompositionDefinition from a private OCI registry (the password a runner's
// secret) becomes Ready with the type its values.schema.json makes; a new chart version adds a served version;
// a chart without a schema, or a wrong password, leaves the definition not Ready with the reason; the password
// shows nowhere (answers, server log).
func TestCompositionDefinitionLifecycle(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	host := privateChartRegistry(t)
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "registry", GitURL: "https://example.com/x.git",
		Secret: map[string]string{"password": chartPassword, "wrong": "not-the-password"}}}).want(t, http.StatusOK)

	var d api.CompositionDefinition
	ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions", body: definitionDoc("fireworks", host, "fireworks-app", "0.1.0", "password")}).
		want(t, http.StatusOK).decode(t, &d)
	st := d.Status
	if cond(st.Conditions, "Ready") != "True" || cond(st.Conditions, "Synced") != "True" || st.APIVersion != "composition.krateo.io/v0-1-0" ||
		st.Kind != "FireworksApp" || st.Resource != "fireworksapps" || !strings.HasPrefix(st.Digest, "sha256:") ||
		st.PackageURL != "oci://"+host+"/charts/fireworks-app:0.1.0" || len(st.Managed.VersionInfo) != 1 {
		t.Fatalf("created definition status = %+v", st)
	}
	if d.Metadata.Namespace != "krateo-system" || d.Metadata.Annotations["krateo.io/connector-verbose"] != "true" {
		t.Errorf("created definition metadata = %+v", d.Metadata)
	}
	path := "/api/v1/compositiondefinitions/krateo-system/fireworks"
	var crd struct {
		Spec struct {
			Group    string
			Versions []struct {
				Name            string
				Served, Storage bool
			}
		}
	}
	ts.do(t, req{method: "GET", path: path + "/crd"}).want(t, http.StatusOK).decode(t, &crd)
	if crd.Spec.Group != "composition.krateo.io" || len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v0-1-0" {
		t.Errorf("GET crd = %+v", crd.Spec)
	}

	// A new chart version: both versions served, vacuum stores.
	ts.do(t, req{method: "PUT", path: path, body: definitionDoc("fireworks", host, "fireworks-app", "0.2.0", "password")}).
		want(t, http.StatusOK).decode(t, &d)
	if cond(d.Status.Conditions, "Ready") != "True" || d.Status.APIVersion != "composition.krateo.io/v0-2-0" || len(d.Status.Managed.VersionInfo) != 2 {
		t.Errorf("after 0.2.0: %+v", d.Status)
	}
	ts.do(t, req{method: "GET", path: path + "/crd"}).want(t, http.StatusOK).decode(t, &crd)
	if len(crd.Spec.Versions) != 3 || crd.Spec.Versions[2].Name != "vacuum" || !crd.Spec.Versions[2].Storage || !crd.Spec.Versions[0].Served {
		t.Errorf("GET crd after 0.2.0 = %+v", crd.Spec.Versions)
	}

	// Not Ready, with the reason.
	ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions", body: definitionDoc("bare", host, "bare", "1.0.0", "password")}).
		want(t, http.StatusOK).decode(t, &d)
	if cond(d.Status.Conditions, "Ready") != "False" || !strings.Contains(condMsg(d.Status.Conditions, "Ready"), "values.schema.json") {
		t.Errorf("chart without a schema: %+v", d.Status.Conditions)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/compositiondefinitions/krateo-system/bare/crd"}).want(t, http.StatusNotFound)
	r := ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions", body: definitionDoc("wrong", host, "fireworks-app", "0.1.0", "wrong")}).
		want(t, http.StatusOK)
	r.decode(t, &d)
	if cond(d.Status.Conditions, "Ready") != "False" || !strings.Contains(condMsg(d.Status.Conditions, "Ready"), "unauthorized") {
		t.Errorf("wrong password: %+v", d.Status.Conditions)
	}
	// Reading it again after the secret is fixed.
	ts.do(t, req{method: "PUT", path: "/api/v1/runners/registry/secret", json: map[string]string{"wrong": chartPassword}}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions/krateo-system/wrong/reconcile"}).want(t, http.StatusOK).decode(t, &d)
	if cond(d.Status.Conditions, "Ready") != "True" {
		t.Errorf("reconcile after the secret was fixed: %+v", d.Status.Conditions)
	}

	var list []api.CompositionDefinition
	ts.do(t, req{method: "GET", path: "/api/v1/compositiondefinitions?namespace=krateo-system"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 3 {
		t.Errorf("list = %d definitions, want 3", len(list))
	}
	ts.do(t, req{method: "DELETE", path: path}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: path}).want(t, http.StatusNotFound)
	if strings.Contains(ts.seen.String(), chartPassword) || strings.Contains(ts.logs.String(), chartPassword) {
		t.Errorf("the registry password shows in an answer or the server log")
	}
}

// TestCompositionDefinitionRefusals: bad documents are 400s naming the field and store nothing; credentials
// naming a runner the caller may not write are a 403.
func TestCompositionDefinitionRefusals(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "registry", GitURL: "https://example.com/x.git",
		Secret: map[string]string{"password": "x"}}}).want(t, http.StatusOK)
	good := definitionDoc("fireworks", "127.0.0.1:1", "fireworks-app", "0.1.0", "password")
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"bad yaml", "POST", "/api/v1/compositiondefinitions", "kind: [x", 400, "document is not valid YAML"},
		{"wrong kind", "POST", "/api/v1/compositiondefinitions", strings.Replace(good, "kind: CompositionDefinition", "kind: Composition", 1), 400, "kind: Unsupported value"},
		{"no url", "POST", "/api/v1/compositiondefinitions", strings.Replace(good, "    url: oci://127.0.0.1:1/charts\n", "", 1), 400, "spec.chart.url: Required value"},
		{"oci without version", "POST", "/api/v1/compositiondefinitions", strings.Replace(good, `version: "0.1.0"`, "", 1), 400, "spec.chart.version: Required value"},
		{"password in url", "POST", "/api/v1/compositiondefinitions", strings.Replace(good, "oci://", "oci://u:pw@", 1), 400, "credentials in the URL"},
		{"unknown runner", "POST", "/api/v1/compositiondefinitions", strings.Replace(good, "name: registry", "name: nope", 1), 400, `passwordRef.name: runner "nope" not found`},
		{"unknown key", "POST", "/api/v1/compositiondefinitions", strings.Replace(good, "key: password", "key: nope", 1), 400, `runner "registry" has no secret "nope"`},
		{"namespace mismatch", "PUT", "/api/v1/compositiondefinitions/other/fireworks", good, 400, `does not match namespace "other"`},
		{"name mismatch", "PUT", "/api/v1/compositiondefinitions/krateo-system/other", good, 400, `does not match "other"`},
		{"unknown", "GET", "/api/v1/compositiondefinitions/krateo-system/nope", "", 404, `composition definition "nope" not found in namespace "krateo-system"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ts.do(t, req{method: tt.method, path: tt.path, body: tt.body}).want(t, tt.status).apiError(t)
			if !strings.Contains(e.Error, tt.want) {
				t.Errorf("%s %s = %q, want it to contain %q", tt.method, tt.path, e.Error, tt.want)
			}
		})
	}
	var list []api.CompositionDefinition
	ts.do(t, req{method: "GET", path: "/api/v1/compositiondefinitions"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("after the refusals: %d definitions stored", len(list))
	}
	// May write definitions, not the runner that holds the password: 403.
	team := makePersona(t, ts, "team", &api.Role{Resource: api.ResourceCompositionDefinitions, ResourceIDs: []string{"*"}, Access: api.AccessWrite})
	e := ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions", body: good, as: team}).want(t, http.StatusForbidden).apiError(t)
	if !strings.Contains(e.Error, `runner "registry"`) {
		t.Errorf("credentials of a runner the caller may not write: %q", e.Error)
	}
	reader := makePersona(t, ts, "reader", &api.Role{Resource: api.ResourceRunners, ResourceIDs: []string{"*"}, Access: api.AccessWrite})
	ts.do(t, req{method: "POST", path: "/api/v1/compositiondefinitions", body: good, as: reader}).want(t, http.StatusForbidden)
}

func cond(cs []api.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func condMsg(cs []api.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}
