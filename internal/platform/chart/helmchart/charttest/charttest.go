// Package charttest serves Helm charts to tests: a real OCI distribution server (go-containerregistry) on loopback
// behind basic auth, and the small charts the tests install. Only tests import it.
package charttest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	helmregistry "helm.sh/helm/v4/pkg/registry"
)

// FireworksSchema is the values.schema.json of the tests' fireworks-app: an object app (required) whose replicas
// is an integer defaulting to 1.
const FireworksSchema = `{"type":"object","required":["app"],"properties":{"app":{"type":"object","properties":{"replicas":{"type":"integer","default":1}}}}}`

// ConfigMapChart is chart name at version rendering one ConfigMap named after the release, whose data says
// app.replicas and the chart's version; schema, when not empty, is its values.schema.json.
func ConfigMapChart(name, version, schema string) *chartv2.Chart {
	ch := &chartv2.Chart{Metadata: &chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: name, Version: version},
		Values: map[string]any{"app": map[string]any{"replicas": 1}},
		Templates: []*common.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}'}\n" +
			"data: {replicas: '{{ .Values.app.replicas }}', chart: '{{ .Chart.Version }}'}\n")}}}
	if schema != "" {
		ch.Schema = []byte(schema)
	}
	return ch
}

// Registry starts an OCI registry on loopback that answers only user and password (basic auth), pushes charts to
// <host>/charts/<name>:<version> with the Helm SDK's registry client, and returns host. It stops when t ends.
func Registry(t testing.TB, user, password string, charts ...*chartv2.Chart) string {
	t.Helper()
	srv := httptest.NewServer(BasicAuth(user, password, registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	var archives [][]byte
	for _, ch := range charts {
		file, err := chartutil.Save(ch, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, b)
	}
	Push(t, host, user, password, archives...)
	return host
}

// Push pushes chart archives (.tgz) to the OCI registry at host (plain HTTP), as <host>/charts/<name>:<version>,
// with the Helm SDK's registry client, as user (none when empty).
func Push(t testing.TB, host, user, password string, archives ...[]byte) {
	t.Helper()
	opts := []helmregistry.ClientOption{helmregistry.ClientOptPlainHTTP(), helmregistry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "c.json"))}
	if user != "" {
		opts = append(opts, helmregistry.ClientOptBasicAuth(user, password))
	}
	client, err := helmregistry.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range archives {
		ch, err := loader.LoadArchive(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Push(b, fmt.Sprintf("%s/charts/%s:%s", host, ch.Name(), ch.Metadata.Version)); err != nil {
			t.Fatalf("push %s: %v", ch.Name(), err)
		}
	}
}

// BasicAuth puts HTTP basic auth (user, password) in front of h; an empty user serves everyone.
func BasicAuth(user, password string, h http.Handler) http.Handler {
	if user == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
