package chart

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/promise"
)

// Package is what a fetched chart gives its definition: the name and version from Chart.yaml, values.schema.json
// (nil when the chart has none), where the package came from and its digest, and the package itself.
type Package struct {
	Name, Version string
	Schema        []byte
	// URL is the package's own URL (the .tgz a repository's index points at, or the oci:// reference with its
	// version); Digest is "sha256:" + the hex SHA-256 of the package.
	URL, Digest string
	Archive     []byte
}

// GVK is the type a chart generates.
type GVK struct{ Group, Version, Kind string }

// APIVersion is group/version.
func (g GVK) APIVersion() string { return g.Group + "/" + g.Version }

// TypeOf is the type a chart generates, as core-provider names it: group composition.krateo.io, version "v" + the
// chart version with dots as dashes (0.1.0 → v0-1-0), kind the chart name in PascalCase (fireworks-app →
// FireworksApp).
func TypeOf(name, version string) (GVK, error) {
	kind := Pascalize(name)
	if kind == "" {
		return GVK{}, api.Invalidf("Chart.yaml name: Invalid value: %q: no kind can be made of it", clip(name))
	}
	v := "v" + strings.ToLower(strings.NewReplacer(".", "-", "+", "-", "_", "-").Replace(version))
	if err := promise.ValidateName("Chart.yaml version", v); err != nil || version == "" {
		return GVK{}, api.Invalidf("Chart.yaml version: Invalid value: %q: no API version can be made of it", clip(version))
	}
	return GVK{Group: api.CompositionGroup, Version: v, Kind: kind}, nil
}

// Plural is the resource name of a kind: lower case, English plural (fireworksapps, policies, boxes).
func Plural(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "s") || strings.HasSuffix(k, "x") || strings.HasSuffix(k, "z") ||
		strings.HasSuffix(k, "ch") || strings.HasSuffix(k, "sh"):
		return k + "es"
	case strings.HasSuffix(k, "y") && len(k) > 1 && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	}
	return k + "s"
}

// CRD is the CustomResourceDefinition a definition generates (apiextensions.k8s.io/v1), as the API server takes
// it.
type CRD struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   CRDMetadata `json:"metadata"`
	Spec       CRDSpec     `json:"spec"`
}

// CRDMetadata is a CRD's metadata.
type CRDMetadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// CRDSpec is a CRD's spec.
type CRDSpec struct {
	Group      string         `json:"group"`
	Names      CRDNames       `json:"names"`
	Scope      string         `json:"scope"`
	Versions   []CRDVersion   `json:"versions"`
	Conversion *CRDConversion `json:"conversion,omitempty"`
}

// CRDNames are spec.names, with kubectl categories.
type CRDNames struct {
	promise.Names
	Categories []string `json:"categories,omitempty"`
}

// CRDConversion is spec.conversion.
type CRDConversion struct {
	Strategy string `json:"strategy"`
}

// CRDVersion is one version of the type.
type CRDVersion struct {
	Name                     string          `json:"name"`
	Served                   bool            `json:"served"`
	Storage                  bool            `json:"storage"`
	Schema                   CRDSchema       `json:"schema"`
	Subresources             *Subresources   `json:"subresources,omitempty"`
	AdditionalPrinterColumns []PrinterColumn `json:"additionalPrinterColumns,omitempty"`
}

// CRDSchema holds a version's openAPIV3Schema.
type CRDSchema struct {
	OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
}

// Subresources enables the status subresource.
type Subresources struct {
	Status struct{} `json:"status"`
}

// PrinterColumn is a kubectl get column.
type PrinterColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	JSONPath string `json:"jsonPath"`
	Priority int    `json:"priority,omitempty"`
}

// VacuumVersion is core-provider's hidden storage version: not served, it keeps every field of every version, so
// instances written at an older chart version lose nothing when newer versions are added.
const VacuumVersion = "vacuum"

// Categories are the kubectl categories of a generated type, core-provider's.
var Categories = []string{"compositions", "comps"}

// Generate is the CRD for one chart version: the values schema as spec, Krateo's status schema, served and stored
// alone. A chart without values.schema.json generates nothing (ErrNoSchema).
func Generate(p Package) (CRD, GVK, error) {
	gvk, err := TypeOf(p.Name, p.Version)
	if err != nil {
		return CRD{}, gvk, err
	}
	if len(p.Schema) == 0 {
		return CRD{}, gvk, fmt.Errorf("chart %s-%s has no values.schema.json: %w", p.Name, p.Version, ErrNoSchema)
	}
	spec, err := StructuralSchema(p.Schema)
	if err != nil {
		return CRD{}, gvk, err
	}
	plural := Plural(gvk.Kind)
	root, err := json.Marshal(map[string]any{
		"type":        "object",
		"description": fmt.Sprintf("%s is a composition of chart %s version %s.", gvk.Kind, p.Name, p.Version),
		"properties": map[string]any{
			"apiVersion": map[string]any{"type": "string"},
			"kind":       map[string]any{"type": "string"},
			"metadata":   map[string]any{"type": "object"},
			"spec":       json.RawMessage(spec),
			"status":     json.RawMessage(statusSchema),
		},
	})
	if err != nil {
		return CRD{}, gvk, err
	}
	crd := CRD{
		APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition",
		Metadata: CRDMetadata{Name: plural + "." + gvk.Group},
		Spec: CRDSpec{
			Group: gvk.Group, Scope: promise.ScopeNamespaced,
			Names: CRDNames{Names: promise.Names{Kind: gvk.Kind, ListKind: gvk.Kind + "List", Plural: plural,
				Singular: strings.ToLower(gvk.Kind)}, Categories: Categories},
			Versions: []CRDVersion{{Name: gvk.Version, Served: true, Storage: true, Schema: CRDSchema{OpenAPIV3Schema: root},
				Subresources: &Subresources{}, AdditionalPrinterColumns: printerColumns}},
		},
	}
	return crd, gvk, nil
}

var printerColumns = []PrinterColumn{
	{Name: "READY", Type: "string", JSONPath: ".status.conditions[?(@.type=='Ready')].status"},
	{Name: "AGE", Type: "date", JSONPath: ".metadata.creationTimestamp"},
}

// AddVersion adds the one version of next to cur, as core-provider does: a version already served is left as it
// is (a chart's version is immutable), a new one is served, and once there are two versions the storage version
// is VacuumVersion. The kind, group and names cannot change (a chart renamed is another definition): 400.
func AddVersion(cur *CRD, next CRD) (CRD, error) {
	if cur == nil || len(cur.Spec.Versions) == 0 {
		return next, nil
	}
	if cur.Spec.Names.Kind != next.Spec.Names.Kind || cur.Spec.Group != next.Spec.Group {
		return *cur, api.Invalidf("spec.chart: Invalid value: the chart generates kind %s, but this definition serves kind %s: "+
			"a chart of another name is another CompositionDefinition", next.Spec.Names.Kind, cur.Spec.Names.Kind)
	}
	out := *cur
	out.Spec.Versions = slices.Clone(cur.Spec.Versions)
	nv := next.Spec.Versions[0]
	if slices.ContainsFunc(out.Spec.Versions, func(v CRDVersion) bool { return v.Name == nv.Name }) {
		return out, nil
	}
	out.Spec.Versions = slices.DeleteFunc(out.Spec.Versions, func(v CRDVersion) bool { return v.Name == VacuumVersion })
	nv.Storage = false
	out.Spec.Versions = append(out.Spec.Versions, nv)
	for i := range out.Spec.Versions {
		out.Spec.Versions[i].Served, out.Spec.Versions[i].Storage = true, false
	}
	out.Spec.Versions = append(out.Spec.Versions, CRDVersion{Name: VacuumVersion, Served: false, Storage: true,
		Schema: CRDSchema{OpenAPIV3Schema: json.RawMessage(vacuumSchema)}})
	out.Spec.Conversion = &CRDConversion{Strategy: "None"}
	return out, nil
}

// API is the resource type a generated CRD serves, for checking instances with package promise: the served
// versions, the newest stored (runplane keeps every field of an instance itself, so it needs no vacuum).
func API(crd CRD) (*promise.API, error) {
	view := crd
	view.Spec.Versions = nil
	for _, v := range crd.Spec.Versions {
		if v.Served {
			v.Storage = false
			view.Spec.Versions = append(view.Spec.Versions, v)
		}
	}
	if len(view.Spec.Versions) == 0 {
		return nil, api.Invalidf("the generated type serves no version")
	}
	view.Spec.Versions[len(view.Spec.Versions)-1].Storage = true
	b, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	return promise.ParseAPI(b)
}

const vacuumSchema = `{"type":"object","description":"vacuum keeps every version's fields: it is the storage version, never served",` +
	`"properties":{"apiVersion":{"type":"string"},"kind":{"type":"string"},"metadata":{"type":"object"},` +
	`"spec":{"type":"object","x-kubernetes-preserve-unknown-fields":true},` +
	`"status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}`
