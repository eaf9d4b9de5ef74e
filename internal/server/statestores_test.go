package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestStateStoreAPI: state stores are created from the API's JSON and from Kratix's manifests, credentials are
// masked in every answer and kept when the mask is sent back, and bad input is a clear 400.
func TestStateStoreAPI(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const password = "hunter2-state-store"
	git := api.StateStore{Kind: api.KindGitStateStore, Name: "git", URL: "https://git.example.com/state.git",
		Credentials: &api.GitCredentials{Username: "bot", Password: password}}
	res := ts.do(t, req{method: "POST", path: "/api/v1/state_stores", json: git}).want(t, http.StatusOK)
	var got api.StateStore
	res.decode(t, &got)
	if got.Credentials == nil || got.Credentials.Password != api.Mask || got.Credentials.Username != "bot" ||
		got.Branch != "main" || got.AuthMethod != api.AuthBasic || got.GitAuthor.Name != "kratix" {
		t.Errorf("POST /state_stores = %s, want defaults filled and the password masked", res.body)
	}
	for _, path := range []string{"/api/v1/state_stores", "/api/v1/state_stores/git"} {
		if body := ts.do(t, req{method: "GET", path: path}).want(t, http.StatusOK).body; strings.Contains(string(body), password) ||
			!strings.Contains(string(body), api.Mask) {
			t.Errorf("GET %s = %s, want the password masked", path, body)
		}
	}
	// The mask sent back keeps the password: the store still holds it.
	got.Branch = "platform"
	ts.do(t, req{method: "PUT", path: "/api/v1/state_stores/git", json: got}).want(t, http.StatusOK)
	stored, err := ts.Server.store.GetStateStore(t.Context(), "git")
	if err != nil || stored.Credentials == nil || stored.Credentials.Password != password || stored.Branch != "platform" {
		t.Errorf("stored after PUT with the mask = %+v, %v; want the password kept and the branch changed", stored, err)
	}
	// Kratix's manifest, as JSON (the CLI converts YAML).
	manifest := `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"GitStateStore","metadata":{"name":"default"},
		"spec":{"secretRef":{"name":"gitea-credentials","namespace":"default"},"url":"https://172.18.0.2:31333/gitea_admin/kratix","branch":"main"}}`
	ts.do(t, req{method: "POST", path: "/api/v1/state_stores", body: manifest}).want(t, http.StatusOK)
	dir := `{"apiVersion":"platform.runplane.dev/v1alpha1","kind":"DirectoryStateStore","metadata":{"name":"local"},"spec":{"path":"/srv/state"}}`
	ts.do(t, req{method: "POST", path: "/api/v1/state_stores", body: dir}).want(t, http.StatusOK)

	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"name taken", "POST", "/api/v1/state_stores", `{"kind":"DirectoryStateStore","name":"git","path":"/x"}`, 409, `state store "git" already exists`},
		{"unknown kind", "POST", "/api/v1/state_stores", `{"kind":"S3","name":"x"}`, 400, `kind "S3": want GitStateStore or DirectoryStateStore`},
		{"bucket", "POST", "/api/v1/state_stores", `{"kind":"BucketStateStore","name":"x"}`, 400, "BucketStateStore is not supported"},
		{"credentials in url", "POST", "/api/v1/state_stores", `{"kind":"GitStateStore","name":"x","url":"https://u:p@h/x.git"}`, 400, "url must not carry credentials"},
		{"path escapes", "POST", "/api/v1/state_stores", `{"kind":"GitStateStore","name":"x","url":"https://h/x.git","path":"../up"}`, 400, `".." would leave the state store`},
		{"relative directory", "POST", "/api/v1/state_stores", `{"kind":"DirectoryStateStore","name":"x","path":"state"}`, 400, "want an absolute directory"},
		{"manifest spec typo", "POST", "/api/v1/state_stores", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"GitStateStore","metadata":{"name":"x"},"spec":{"urls":"https://h/x"}}`, 400, `unknown field "urls"`},
		{"manifest api version", "POST", "/api/v1/state_stores", `{"apiVersion":"v1","kind":"GitStateStore","metadata":{"name":"x"},"spec":{}}`, 400, `apiVersion "v1"`},
		{"empty body", "POST", "/api/v1/state_stores", ``, 400, "request body is empty"},
		{"malformed", "POST", "/api/v1/state_stores", `{"kind":`, 400, "malformed JSON"},
		{"name mismatch", "PUT", "/api/v1/state_stores/git", `{"kind":"GitStateStore","name":"other","url":"https://h/x.git"}`, 400, ""},
		{"missing", "GET", "/api/v1/state_stores/none", ``, 404, `state store "none" not found`},
		{"delete missing", "DELETE", "/api/v1/state_stores/none", ``, 404, `state store "none" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, req{method: tc.method, path: tc.path, body: tc.body}).want(t, tc.status)
			if e := res.apiError(t); !strings.Contains(e.Error, tc.msg) {
				t.Errorf("%s %s = %q, want it to say %q", tc.method, tc.path, e.Error, tc.msg)
			}
		})
	}
	if strings.Contains(ts.logs.String(), password) {
		t.Error("the server log holds a state store's password")
	}
}

// TestDestinationAPI: destinations from Kratix's manifests, their defaults, their store's integrity (400 without
// it, 409 deleting it while used), the immutable filepath.mode, dry runs and the audit log.
func TestDestinationAPI(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "POST", path: "/api/v1/state_stores", json: api.StateStore{Kind: api.KindGitStateStore,
		Name: "default", URL: "https://git.example.com/state.git"}}).want(t, http.StatusOK)
	manifest := `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Destination","metadata":{"name":"worker-1","labels":{"environment":"dev"}},
		"spec":{"stateStoreRef":{"name":"default","kind":"GitStateStore"},"filepath":{"mode":"aggregatedYAML"}}}`
	var d api.Destination
	ts.do(t, req{method: "POST", path: "/api/v1/destinations", body: manifest}).want(t, http.StatusOK).decode(t, &d)
	want := api.Destination{Name: "worker-1", Labels: map[string]string{"environment": "dev"}, Path: "worker-1",
		StateStoreRef: api.StateStoreRef{Kind: api.KindGitStateStore, Name: "default"},
		Filepath:      api.DestinationFilepath{Mode: api.FilepathAggregatedYAML, Filename: "aggregated.yaml"}, Cleanup: api.CleanupNone}
	if d.Name != want.Name || d.Path != want.Path || d.Filepath != want.Filepath || d.Cleanup != want.Cleanup ||
		d.Labels["environment"] != "dev" || d.StateStoreRef != want.StateStoreRef {
		t.Errorf("POST /destinations = %+v, want %+v", d, want)
	}
	// A dry run answers what would be stored and stores nothing.
	dry := api.Destination{Name: "dry", StateStoreRef: api.StateStoreRef{Kind: api.KindGitStateStore, Name: "default"}}
	ts.do(t, req{method: "POST", path: "/api/v1/destinations?dryRun=All", json: dry}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/destinations/dry"}).want(t, http.StatusNotFound)

	ref := `"stateStoreRef":{"kind":"GitStateStore","name":"default"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"no store", "POST", "/api/v1/destinations", `{"name":"x","stateStoreRef":{"kind":"GitStateStore","name":"none"}}`, 400, `state store "none" not found`},
		{"wrong store kind", "POST", "/api/v1/destinations", `{"name":"x","stateStoreRef":{"kind":"DirectoryStateStore","name":"default"}}`, 400, `"default" is a GitStateStore, not a DirectoryStateStore`},
		{"unknown mode", "POST", "/api/v1/destinations", `{"name":"x",` + ref + `,"filepath":{"mode":"flat"}}`, 400, `filepath.mode "flat"`},
		{"path escapes", "POST", "/api/v1/destinations", `{"name":"x",` + ref + `,"path":"a/../../b"}`, 400, `".." would leave the state store`},
		{"bad cleanup", "POST", "/api/v1/destinations", `{"name":"x",` + ref + `,"cleanup":"some"}`, 400, `cleanup "some"`},
		{"bad label", "POST", "/api/v1/destinations", `{"name":"x",` + ref + `,"labels":{"a b":"c"}}`, 400, `labels: key "a b"`},
		{"no store ref", "POST", "/api/v1/destinations", `{"name":"x"}`, 400, "stateStoreRef.kind is required"},
		{"name taken", "POST", "/api/v1/destinations", `{"name":"worker-1",` + ref + `}`, 409, `destination "worker-1" already exists`},
		{"mode immutable", "PUT", "/api/v1/destinations/worker-1", `{"name":"worker-1",` + ref + `,"filepath":{"mode":"none"}}`, 400, "filepath.mode is immutable"},
		{"store in use", "DELETE", "/api/v1/state_stores/default", ``, 409, `state store "default" is used by 1 destination`},
		{"missing", "GET", "/api/v1/destinations/none", ``, 404, `destination "none" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, req{method: tc.method, path: tc.path, body: tc.body}).want(t, tc.status)
			if e := res.apiError(t); !strings.Contains(e.Error, tc.msg) {
				t.Errorf("%s %s = %q, want it to say %q", tc.method, tc.path, e.Error, tc.msg)
			}
		})
	}
	// Labels can change (scheduling follows); the mode stays.
	ts.do(t, req{method: "PUT", path: "/api/v1/destinations/worker-1", body: `{"name":"worker-1",` + ref +
		`,"labels":{"environment":"prod"},"filepath":{"mode":"aggregatedYAML","filename":"catalog.yaml"}}`}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/destinations/worker-1"}).want(t, http.StatusOK)
	ts.do(t, req{method: "DELETE", path: "/api/v1/state_stores/default"}).want(t, http.StatusOK)

	ts.Server.audit.Flush()
	var logs []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=50"}).want(t, http.StatusOK).decode(t, &logs)
	seen := map[string]bool{}
	for _, l := range logs {
		seen[l.EventCategory] = true
	}
	if !seen[api.ResourceDestinations] || !seen[api.ResourceStateStores] {
		t.Errorf("audit log resources = %v, want destinations and state_stores", seen)
	}
}
