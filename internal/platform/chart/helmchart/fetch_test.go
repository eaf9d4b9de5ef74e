package helmchart

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
)

const secretPassword = "s3cret-Pa55word"

// passwords is the embedded mode's password lookup in miniature: runner "registry", key "password".
func passwords(ctx context.Context, ref api.SecretKeySelector, _ string) (string, error) {
	switch {
	case ref.Name == "registry" && ref.Key == "password":
		return secretPassword, nil
	case ref.Name == "registry" && ref.Key == "wrong":
		return "not-" + secretPassword, nil
	}
	return "", errors.New("no such secret")
}

func creds(key string) *api.ChartCredentials {
	return &api.ChartCredentials{Username: "krateo", PasswordRef: api.SecretKeySelector{Name: "registry", Namespace: "krateo-system", Key: key}}
}

// TestFetch fetches test charts from each kind of source Krateo takes, started by the test on loopback: an HTTP
// Helm repository (index.yaml; TLS, so insecureSkipVerifyTLS is exercised), a direct .tgz URL, and an OCI
// registry (go-containerregistry's, a real distribution server), each with and without basic auth; and the
// failures: a wrong password, no credentials, a missing chart, a missing version, a chart without a schema.
func TestFetch(t *testing.T) {
	v1, v2 := buildChart(t, "fireworks-app", "0.1.0", false), buildChart(t, "fireworks-app", "0.2.0", false)
	bare := buildChart(t, "bare", "1.0.0", true)
	open := helmRepo(t, "", "", v1, v2, bare)
	private := helmRepo(t, "krateo", secretPassword, v1)
	openOCI := ociRegistry(t, "", "", v1, v2)
	privateOCI := ociRegistry(t, "krateo", secretPassword, v1)
	f := Fetcher{Password: passwords} // the registries are on loopback: reached over http

	tests := []struct {
		name        string
		chart       api.ChartInfo
		wantVersion string
		wantURL     string
		wantErr     error
		wantMsg     string
	}{
		{"repo", api.ChartInfo{URL: open.URL, Repo: "fireworks-app", Version: "0.2.0", InsecureSkipVerifyTLS: true}, "0.2.0",
			open.URL + "/charts/fireworks-app-0.2.0.tgz", nil, ""},
		{"repo with trailing slash", api.ChartInfo{URL: open.URL + "/", Repo: "fireworks-app", Version: "0.1.0", InsecureSkipVerifyTLS: true}, "0.1.0", "", nil, ""},
		{"tgz", api.ChartInfo{URL: open.URL + "/charts/fireworks-app-0.1.0.tgz", InsecureSkipVerifyTLS: true}, "0.1.0",
			open.URL + "/charts/fireworks-app-0.1.0.tgz", nil, ""},
		{"private repo", api.ChartInfo{URL: private.URL, Repo: "fireworks-app", Version: "0.1.0", InsecureSkipVerifyTLS: true,
			Credentials: creds("password")}, "0.1.0", "", nil, ""},
		{"private tgz", api.ChartInfo{URL: private.URL + "/charts/fireworks-app-0.1.0.tgz", InsecureSkipVerifyTLS: true,
			Credentials: creds("password")}, "0.1.0", "", nil, ""},
		{"oci with repo", api.ChartInfo{URL: "oci://" + openOCI + "/charts", Repo: "fireworks-app", Version: "0.2.0"}, "0.2.0",
			"oci://" + openOCI + "/charts/fireworks-app:0.2.0", nil, ""},
		{"oci without repo", api.ChartInfo{URL: "oci://" + openOCI + "/charts/fireworks-app", Version: "0.1.0"}, "0.1.0", "", nil, ""},
		{"private oci", api.ChartInfo{URL: "oci://" + privateOCI + "/charts/fireworks-app", Version: "0.1.0", Credentials: creds("password")},
			"0.1.0", "", nil, ""},

		{"repo: wrong password", api.ChartInfo{URL: private.URL, Repo: "fireworks-app", Version: "0.1.0", InsecureSkipVerifyTLS: true,
			Credentials: creds("wrong")}, "", "", ErrUnauthorized, ""},
		{"repo: no credentials", api.ChartInfo{URL: private.URL, Repo: "fireworks-app", Version: "0.1.0", InsecureSkipVerifyTLS: true},
			"", "", ErrUnauthorized, ""},
		{"repo: unknown secret", api.ChartInfo{URL: private.URL, Repo: "fireworks-app", Version: "0.1.0", InsecureSkipVerifyTLS: true,
			Credentials: creds("nope")}, "", "", nil, "password registry/nope: no such secret"},
		{"repo: missing chart", api.ChartInfo{URL: open.URL, Repo: "nope", Version: "0.1.0", InsecureSkipVerifyTLS: true}, "", "", ErrNotFound, ""},
		{"repo: missing version", api.ChartInfo{URL: open.URL, Repo: "fireworks-app", Version: "9.9.9", InsecureSkipVerifyTLS: true},
			"", "", ErrNotFound, ""},
		{"repo: TLS verified", api.ChartInfo{URL: open.URL, Repo: "fireworks-app", Version: "0.1.0"}, "", "", nil, "certificate"},
		{"tgz: missing", api.ChartInfo{URL: open.URL + "/charts/nope-1.0.0.tgz", InsecureSkipVerifyTLS: true}, "", "", ErrNotFound, ""},
		{"oci: wrong password", api.ChartInfo{URL: "oci://" + privateOCI + "/charts/fireworks-app", Version: "0.1.0", Credentials: creds("wrong")},
			"", "", ErrUnauthorized, ""},
		{"oci: no credentials", api.ChartInfo{URL: "oci://" + privateOCI + "/charts/fireworks-app", Version: "0.1.0"}, "", "", ErrUnauthorized, ""},
		{"oci: missing chart", api.ChartInfo{URL: "oci://" + openOCI + "/charts/nope", Version: "0.1.0"}, "", "", ErrNotFound, ""},
		{"oci: missing version", api.ChartInfo{URL: "oci://" + openOCI + "/charts/fireworks-app", Version: "9.9.9"}, "", "", ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.Fetch(t.Context(), tt.chart, "krateo-system")
			if err != nil && strings.Contains(err.Error(), secretPassword) {
				t.Fatalf("Fetch error shows the password: %v", err)
			}
			if tt.wantErr != nil || tt.wantMsg != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("Fetch = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			if p.Name != "fireworks-app" || p.Version != tt.wantVersion || len(p.Schema) == 0 || !strings.HasPrefix(p.Digest, "sha256:") ||
				len(p.Archive) == 0 {
				t.Errorf("Fetch = %s-%s schema %d bytes digest %q", p.Name, p.Version, len(p.Schema), p.Digest)
			}
			if tt.wantURL != "" && p.URL != tt.wantURL {
				t.Errorf("Fetch URL = %q, want %q", p.URL, tt.wantURL)
			}
		})
	}

	// A chart without values.schema.json is fetched; the definition it makes is not Ready, saying why.
	p, err := f.Fetch(t.Context(), api.ChartInfo{URL: open.URL, Repo: "bare", Version: "1.0.0", InsecureSkipVerifyTLS: true}, "default")
	if err != nil || p.Schema != nil {
		t.Fatalf("Fetch(bare) = schema %q, %v", p.Schema, err)
	}
	d := api.CompositionDefinition{Metadata: api.ObjectMeta{Name: "bare", Namespace: "default"}, Spec: api.CompositionDefinitionSpec{
		Chart: &api.ChartInfo{URL: open.URL, Repo: "bare", Version: "1.0.0"}}}
	r := chart.Reconcile(d, nil, &p, nil, time.Now())
	if chart.Ready(r.Status) || r.Status.Conditions[0].Reason != chart.ReasonNoSchema {
		t.Errorf("Reconcile(bare) = %+v, want not Ready: %s", r.Status.Conditions, chart.ReasonNoSchema)
	}
}

// TestFetchWithoutPasswordLookup: a definition that names credentials is refused when nothing resolves them.
func TestFetchWithoutPasswordLookup(t *testing.T) {
	_, err := Fetcher{}.Fetch(t.Context(), api.ChartInfo{URL: "https://127.0.0.1:1/c.tgz", Credentials: creds("password")}, "default")
	if err == nil || !strings.Contains(err.Error(), "credentials cannot be resolved") {
		t.Errorf("Fetch = %v", err)
	}
}
