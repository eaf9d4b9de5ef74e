package chart

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/promise"
)

// DefaultNamespace is a definition's namespace when its file names none, as kubectl applies it.
const DefaultNamespace = "default"

// Source kinds of a chart URL.
const (
	SourceOCI  = "oci"  // oci://registry/path[/chart], repo appended when given
	SourceRepo = "repo" // an http(s) Helm repository (index.yaml) and the chart's name in it
	SourceTGZ  = "tgz"  // a direct http(s) URL of a packaged chart
)

// Parse reads a CompositionDefinition file as core-provider takes it: apiVersion core.krateo.io/v1alpha1, kind
// CompositionDefinition, a name, and spec.chart. Fields runplane does not know are ignored, status is dropped (the
// server writes it), and a missing namespace is "default". Every error names the failing field.
func Parse(doc []byte) (api.CompositionDefinition, error) {
	j, err := promise.ToJSON(doc)
	if err != nil {
		return api.CompositionDefinition{}, err
	}
	var head struct {
		APIVersion json.RawMessage `json:"apiVersion"`
		Kind       json.RawMessage `json:"kind"`
		Metadata   json.RawMessage `json:"metadata"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return api.CompositionDefinition{}, api.Invalidf("a CompositionDefinition must be a mapping: %v", trimJSONErr(err))
	}
	var d api.CompositionDefinition
	if json.Unmarshal(head.APIVersion, &d.APIVersion) != nil || d.APIVersion != api.KrateoCoreAPIVersion {
		return d, api.Invalidf("apiVersion: Unsupported value: %s: supported values: %q", shown(head.APIVersion), api.KrateoCoreAPIVersion)
	}
	if json.Unmarshal(head.Kind, &d.Kind) != nil || d.Kind != api.KindCompositionDefinition {
		return d, api.Invalidf("kind: Unsupported value: %s: supported values: %q", shown(head.Kind), api.KindCompositionDefinition)
	}
	if err := decodeField("metadata", head.Metadata, &d.Metadata); err != nil {
		return d, err
	}
	if err := decodeField("spec", head.Spec, &d.Spec); err != nil {
		return d, err
	}
	d.Status = api.CompositionDefinitionStatus{}
	return d, Validate(&d)
}

// Validate checks a definition that arrived decoded, as Parse would, and fills in the default namespace. The
// server's metadata (generation, uid, resourceVersion aside) is cleared.
func Validate(d *api.CompositionDefinition) error {
	if d.APIVersion != api.KrateoCoreAPIVersion {
		return api.Invalidf("apiVersion: Unsupported value: %q: supported values: %q", d.APIVersion, api.KrateoCoreAPIVersion)
	}
	if d.Kind != api.KindCompositionDefinition {
		return api.Invalidf("kind: Unsupported value: %q: supported values: %q", d.Kind, api.KindCompositionDefinition)
	}
	if err := promise.ValidateName("metadata.name", d.Metadata.Name); err != nil {
		return err
	}
	if d.Metadata.Namespace == "" {
		d.Metadata.Namespace = DefaultNamespace
	}
	if err := validateNamespace(d.Metadata.Namespace); err != nil {
		return err
	}
	d.Metadata.Generation, d.Metadata.UID, d.Metadata.CreationTimestamp = 0, "", nil
	return CheckChart(d.Spec.Chart)
}

// CheckChart checks spec.chart as core-provider's CRD and getter do.
func CheckChart(c *api.ChartInfo) error {
	if c == nil {
		return api.Invalidf("spec.chart: Required value: a CompositionDefinition names a chart")
	}
	if c.URL == "" {
		return api.Invalidf("spec.chart.url: Required value: an oci:// reference, a Helm repository URL or a .tgz URL")
	}
	kind, err := SourceOf(c.URL)
	if err != nil {
		return err
	}
	if len(c.Version) > 20 {
		return api.Invalidf("spec.chart.version: Too long: may not be more than 20 bytes")
	}
	if len(c.Repo) > 256 {
		return api.Invalidf("spec.chart.repo: Too long: may not be more than 256 bytes")
	}
	if strings.ContainsAny(c.Version, " /\\\n\t") {
		return api.Invalidf("spec.chart.version: Invalid value: %q: want a chart version such as 1.2.3", clip(c.Version))
	}
	if c.Repo != "" && (strings.ContainsAny(c.Repo, " \\\n\t?#") || strings.HasPrefix(c.Repo, "/") || strings.Contains(c.Repo, "..")) {
		return api.Invalidf("spec.chart.repo: Invalid value: %q: want the chart's name in the repository", clip(c.Repo))
	}
	switch kind {
	case SourceOCI:
		if c.Version == "" {
			return api.Invalidf("spec.chart.version: Required value: an oci:// chart needs a version")
		}
	case SourceRepo:
		if c.Repo == "" {
			return api.Invalidf("spec.chart.repo: Required value: a Helm repository URL needs the chart's name in it (or give the .tgz URL)")
		}
		if c.Version == "" {
			return api.Invalidf("spec.chart.version: Required value: a chart from a Helm repository needs a version")
		}
	}
	if cr := c.Credentials; cr != nil {
		if cr.Username == "" {
			return api.Invalidf("spec.chart.credentials.username: Required value")
		}
		if err := promise.ValidateName("spec.chart.credentials.passwordRef.name", cr.PasswordRef.Name); err != nil {
			return err
		}
		if cr.PasswordRef.Key == "" {
			return api.Invalidf("spec.chart.credentials.passwordRef.key: Required value")
		}
		if ns := cr.PasswordRef.Namespace; ns != "" {
			if err := validateNamespace(ns); err != nil {
				return api.Invalidf("spec.chart.credentials.passwordRef.namespace: Invalid value: %q: want a namespace", clip(ns))
			}
		}
	}
	return nil
}

// SourceOf says which kind of source a chart URL is: oci:// is an OCI registry, an http(s) URL whose path ends
// in .tgz a packaged chart, any other http(s) URL a Helm repository. A URL carrying credentials is refused: they
// belong in spec.chart.credentials.
func SourceOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", api.Invalidf("spec.chart.url: Invalid value: %q: want oci://host/path or http(s)://host/path", clip(raw))
	}
	if u.User != nil {
		return "", api.Invalidf("spec.chart.url: Invalid value: credentials in the URL are refused; use spec.chart.credentials")
	}
	switch u.Scheme {
	case "oci":
		return SourceOCI, nil
	case "http", "https":
		if strings.HasSuffix(u.Path, ".tgz") || strings.HasSuffix(u.Path, ".tar.gz") {
			return SourceTGZ, nil
		}
		return SourceRepo, nil
	}
	return "", api.Invalidf("spec.chart.url: Unsupported value: scheme %q: supported values: \"oci\", \"https\", \"http\"", clip(u.Scheme))
}

// validateNamespace checks a namespace as a DNS-1123 label.
func validateNamespace(ns string) error {
	if err := promise.ValidateName("metadata.namespace", ns); err != nil {
		return err
	}
	if strings.Contains(ns, ".") {
		return api.Invalidf("metadata.namespace: Invalid value: %q: a namespace is a DNS-1123 label (no dots)", ns)
	}
	return nil
}

func decodeField(name string, raw json.RawMessage, out any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return api.Invalidf("%s: Invalid value: %s", name, trimJSONErr(err))
	}
	return nil
}

func trimJSONErr(err error) string {
	if ute, ok := err.(*json.UnmarshalTypeError); ok && ute.Field != "" {
		return fmt.Sprintf("%s: must not be %s", ute.Field, ute.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func shown(raw json.RawMessage) string {
	if len(raw) == 0 {
		return `""`
	}
	return clip(string(raw))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
