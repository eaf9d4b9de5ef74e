package helmchart

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	repo "helm.sh/helm/v4/pkg/repo/v1"

	"github.com/runplane/runplane/internal/platform/chart/helmchart/charttest"
)

// The test charts are built by the tests, in the form of Krateo's examples (fireworks-app: a values schema, a
// ConfigMap and a Deployment that read the values and Krateo's global.composition* values).

const valuesSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["app"],
  "properties": {
    "app": {"type": "object", "properties": {
      "replicas": {"type": "integer", "default": 1},
      "greeting": {"type": "string", "default": "hello"}
    }},
    "service": {"type": "object", "properties": {"port": {"type": "integer", "default": 8080}}}
  }
}`

var templates = map[string]string{
	"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels:
    app: {{ .Chart.Name }}
data:
  greeting: {{ .Values.app.greeting | quote }}
  composition: {{ .Values.global.compositionName | default "none" | quote }}
  kind: {{ .Values.global.compositionKind | default "none" | quote }}
`,
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.app.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: {{ .Values.service.port }}}]
`,
	"templates/service.yaml": `{{- if .Values.service.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  ports: [{port: {{ .Values.service.port }}}]
{{- end }}
`,
}

// buildChart packages a chart named name at version (with values.schema.json unless noSchema) and returns the
// .tgz's bytes.
func buildChart(t *testing.T, name, version string, noSchema bool) []byte {
	t.Helper()
	ch := &chartv2.Chart{
		Metadata: &chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: name, Version: version, AppVersion: "1.0.0", Type: "application"},
		Values:   map[string]any{"app": map[string]any{"replicas": 1, "greeting": "hello"}, "service": map[string]any{"port": 8080, "enabled": false}},
	}
	ch.Raw = []*common.File{{Name: "values.yaml", Data: []byte("app:\n  replicas: 1\n  greeting: hello\nservice:\n  port: 8080\n  enabled: false\n")}}
	if !noSchema {
		ch.Schema = []byte(valuesSchema)
	}
	for n, body := range templates {
		ch.Templates = append(ch.Templates, &common.File{Name: n, Data: []byte(body)})
	}
	dir := t.TempDir()
	file, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatalf("package chart %s-%s: %v", name, version, err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// helmRepo serves charts as an HTTP Helm repository (index.yaml and charts/<name>-<version>.tgz) over TLS on
// loopback, behind basic auth when user is set; its URL is the repository's.
func helmRepo(t *testing.T, user, pass string, charts ...[]byte) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		ch := mustLoad(t, c)
		if err := os.WriteFile(filepath.Join(dir, "charts", ch.Metadata.Name+"-"+ch.Metadata.Version+".tgz"), c, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewTLSServer(charttest.BasicAuth(user, pass, http.FileServer(http.Dir(dir))))
	t.Cleanup(srv.Close)
	idx, err := repo.IndexDirectory(filepath.Join(dir, "charts"), "charts")
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv
}

// ociRegistry starts a real OCI distribution server (go-containerregistry) on loopback, behind basic auth when
// user is set, and pushes the charts to <host>/charts/<name>:<version> with the Helm SDK's registry client.
func ociRegistry(t *testing.T, user, pass string, charts ...[]byte) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(charttest.BasicAuth(user, pass, registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	srv.Listener.Close()
	srv.Listener = listen401(t)
	srv.Start()
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	charttest.Push(t, host, user, pass, charts...)
	return host
}

func mustLoad(t *testing.T, archive []byte) *chartv2.Chart {
	t.Helper()
	p, err := load(archive, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &chartv2.Chart{Metadata: &chartv2.Metadata{Name: p.Name, Version: p.Version}}
}

// listen401 listens on a loopback port whose number reads 401 (40100–40199; any free one when none of those is):
// the registry's address is in its errors, and an error must not be read as a status code from it.
func listen401(t *testing.T) net.Listener {
	t.Helper()
	for port := 40100; port < 40200; port++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return l
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
