package kube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Running helm, and reading what `helm template` renders.

// chartDir is the chart under test, relative to this package.
const chartDir = "../../deploy/helm/runplane"

// helm is the helm binary, run with its caches and configuration in a temporary directory so that tests never
// depend on, or change, the machine's repositories and plugins.
type helm struct {
	bin string
	env []string
}

// needHelm returns $RUNPLANE_HELM, else the helm on PATH, else the one hack/kube/cluster.sh builds into
// ${RUNPLANE_K8S_HOME:-~/.cache/runplane-k8s}/bin (so that `go test ./...` checks the chart wherever the Kubernetes
// tests ran once); without any the test is skipped, or fails when it runs against a cluster
// (RUNPLANE_KUBE_TEST=1), where helm must be there.
func needHelm(t testing.TB) *helm {
	t.Helper()
	bin := os.Getenv("RUNPLANE_HELM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("helm"); err != nil {
			bin = cachedHelm()
		}
		if bin == "" {
			const msg = "needs helm: set RUNPLANE_HELM, put helm on PATH, or run hack/kube/cluster.sh tools (builds it into ~/.cache/runplane-k8s/bin)"
			if os.Getenv("RUNPLANE_KUBE_TEST") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	home := t.TempDir()
	return &helm{bin: bin, env: append(os.Environ(),
		"HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")}
}

// cachedHelm is the helm hack/kube/cluster.sh keeps in its cache, or "" without one.
func cachedHelm() string {
	home := os.Getenv("RUNPLANE_K8S_HOME")
	if home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		home = filepath.Join(dir, ".cache", "runplane-k8s")
	}
	bin := filepath.Join(home, "bin", "helm")
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return ""
	}
	return bin
}

// run runs helm with args and returns its standard output; an error carries its standard error.
func (h *helm) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// manifests are the objects a chart rendered, as JSON, by chartKey(kind, namespace, name).
type manifests map[string][]byte

func chartKey(kind, namespace, name string) string { return kind + " " + namespace + "/" + name }

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// template renders the chart as release "rp" in namespace with `--set` values.
func (h *helm) template(t testing.TB, namespace string, set ...string) (manifests, error) {
	t.Helper()
	return h.render(t, append([]string{"--namespace", namespace}, setArgs(set)...)...)
}

// setArgs turns values into `--set` flags.
func setArgs(set []string) []string {
	var args []string
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return args
}

// render runs `helm template rp <chart>` with more flags and reads what it renders.
func (h *helm) render(t testing.TB, flags ...string) (manifests, error) {
	t.Helper()
	out, err := h.run(t.Context(), append([]string{"template", "rp", chartDir}, flags...)...)
	if err != nil {
		return nil, err
	}
	m := manifests{}
	for _, doc := range docSeparator.Split(out, -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if string(js) == "null" { // a document of comments only
			continue
		}
		var obj struct {
			metav1.TypeMeta   `json:",inline"`
			metav1.ObjectMeta `json:"metadata"`
		}
		if err := json.Unmarshal(js, &obj); err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		k := chartKey(obj.Kind, obj.Namespace, obj.Name)
		if _, dup := m[k]; dup {
			t.Fatalf("the chart renders %s twice", k)
		}
		m[k] = js
	}
	return m, nil
}

// keys lists what was rendered, sorted.
func (m manifests) keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// chartObject decodes the rendered object k into T; the test fails if there is none.
func chartObject[T any](t testing.TB, m manifests, k string) T {
	t.Helper()
	var v T
	js, ok := m[k]
	if !ok {
		t.Fatalf("the chart renders no %s; it renders %q", k, m.keys())
	}
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatalf("decode %s: %v", k, err)
	}
	return v
}
