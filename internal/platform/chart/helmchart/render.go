package helmchart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

// Krateo's names (composition-dynamic-controller; plumbing/helm/utils).
const (
	// ReleaseNameLabel on a composition names its Helm release (default: the composition's name).
	ReleaseNameLabel = "krateo.io/release-name"
	// PausedAnnotation "true" stops a composition's reconciliation.
	PausedAnnotation = "krateo.io/paused"
	// GracefullyPausedAnnotation is passed to the chart as global.gracefullyPaused.
	GracefullyPausedAnnotation = "krateo.io/gracefully-paused"
)

// Composition is one instance of a generated type, as its install step needs it.
type Composition struct {
	APIVersion string // composition.krateo.io/v0-1-0
	Kind       string
	Resource   string // the generated type's plural
	Metadata   api.ObjectMeta
	// Spec is the instance's spec: the release's values.
	Spec json.RawMessage
}

// ReleaseName is the composition's release: its krateo.io/release-name label, else its name.
func (c Composition) ReleaseName() string {
	if n := c.Metadata.Labels[ReleaseNameLabel]; n != "" {
		return n
	}
	return c.Metadata.Name
}

// Values are the release's values: the spec, with Krateo's global values set (global.compositionName, ...), as
// composition-dynamic-controller injects them.
func (c Composition) Values(krateoNamespace string) (map[string]any, error) {
	vals := map[string]any{}
	if len(c.Spec) > 0 && string(c.Spec) != "null" {
		if err := json.Unmarshal(c.Spec, &vals); err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
	}
	global, _ := vals["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
	}
	group, version, _ := strings.Cut(c.APIVersion, "/")
	paused := "false"
	if c.Metadata.Annotations[GracefullyPausedAnnotation] == "true" {
		paused = "true"
	}
	maps.Copy(global, map[string]any{
		"compositionName":             c.Metadata.Name,
		"compositionNamespace":        c.Metadata.Namespace,
		"compositionId":               c.Metadata.UID,
		"compositionApiVersion":       c.APIVersion,
		"compositionGroup":            group,
		"compositionKind":             c.Kind,
		"compositionResource":         c.Resource,
		"compositionInstalledVersion": version,
		"gracefullyPaused":            paused,
		"krateoNamespace":             krateoNamespace,
	})
	vals["global"] = global
	return vals, nil
}

// Labels are the labels every object of the release carries, as composition-dynamic-controller's post-renderer
// sets them.
func (c Composition) Labels(krateoNamespace string) map[string]string {
	group, version, _ := strings.Cut(c.APIVersion, "/")
	return map[string]string{
		"krateo.io/composition-id":                c.Metadata.UID,
		"krateo.io/composition-group":             group,
		"krateo.io/composition-installed-version": version,
		"krateo.io/composition-resource":          c.Resource,
		"krateo.io/composition-name":              c.Metadata.Name,
		"krateo.io/composition-namespace":         c.Metadata.Namespace,
		"krateo.io/composition-kind":              c.Kind,
		"krateo.io/krateo-namespace":              krateoNamespace,
	}
}

// Object is one object a release renders.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Source is the template it came from.
	Source string
	// Doc is the object with Krateo's labels set, as it would be applied.
	Doc map[string]any
}

// Rendered is what rendering a composition's release produced.
type Rendered struct {
	Release string
	Values  map[string]any
	Objects []Object
}

// Kinds are the distinct (apiVersion, kind) pairs the release renders, sorted: what the per-definition Role
// must allow, and nothing more (Krateo's chart-inspector idea).
func (r Rendered) Kinds() [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, o := range r.Objects {
		k := [2]string{o.APIVersion, o.Kind}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1]) })
	return out
}

// Render renders the chart (a .tgz) as `helm template` would for the composition's install: the release named
// ReleaseName, in the composition's namespace, its values the chart's defaults under the spec and Krateo's global
// values, checked against the chart's values.schema.json; every object gets Krateo's labels. Objects without a
// namespace in a namespaced release get the composition's (as Helm's install applies them).
func Render(archive []byte, c Composition, krateoNamespace string) (Rendered, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return Rendered{}, fmt.Errorf("load chart: %w", err)
	}
	vals, err := c.Values(krateoNamespace)
	if err != nil {
		return Rendered{}, err
	}
	out := Rendered{Release: c.ReleaseName(), Values: vals}
	rv, err := chartutil.ToRenderValues(ch, vals, common.ReleaseOptions{Name: out.Release, Namespace: c.Metadata.Namespace,
		Revision: 1, IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		return out, fmt.Errorf("values of release %s: %w", out.Release, err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return out, fmt.Errorf("render release %s: %w", out.Release, err)
	}
	labels := c.Labels(krateoNamespace)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if path.Ext(name) != ".yaml" && path.Ext(name) != ".yml" && path.Ext(name) != ".json" || strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for i, doc := range splitYAML(files[name]) {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				return out, fmt.Errorf("%s (document %d): %w", name, i+1, err)
			}
			if len(m) == 0 {
				continue
			}
			o := Object{Source: name, Doc: m}
			o.APIVersion, _ = m["apiVersion"].(string)
			o.Kind, _ = m["kind"].(string)
			meta, _ := m["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				m["metadata"] = meta
			}
			o.Name, _ = meta["name"].(string)
			o.Namespace, _ = meta["namespace"].(string)
			if o.APIVersion == "" || o.Kind == "" {
				return out, fmt.Errorf("%s (document %d): an object needs apiVersion and kind", name, i+1)
			}
			l, _ := meta["labels"].(map[string]any)
			if l == nil {
				l = map[string]any{}
			}
			for k, v := range labels {
				l[k] = v
			}
			meta["labels"] = l
			out.Objects = append(out.Objects, o)
		}
	}
	return out, nil
}

// splitYAML splits a rendered template into its documents.
func splitYAML(s string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}
