package promise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
)

// API is the resource type a promise's spec.api defines.
type API struct {
	Group string
	Names Names
	// Scope is Namespaced or Cluster.
	Scope    string
	Versions []Version
}

// Names are a CRD's spec.names.
type Names struct {
	Kind       string   `json:"kind"`
	Plural     string   `json:"plural"`
	Singular   string   `json:"singular,omitempty"`
	ShortNames []string `json:"shortNames,omitempty"`
	ListKind   string   `json:"listKind,omitempty"`
}

// Version is one version of the type.
type Version struct {
	Name    string
	Served  bool
	Storage bool
	// Schema is the version's openAPIV3Schema, nil when it has none (then anything is accepted).
	Schema *Schema
}

// Scopes of a resource type.
const (
	ScopeNamespaced = "Namespaced"
	ScopeCluster    = "Cluster"
)

type crdDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Group    string `json:"group"`
		Names    Names  `json:"names"`
		Scope    string `json:"scope"`
		Versions []struct {
			Name    string `json:"name"`
			Served  bool   `json:"served"`
			Storage bool   `json:"storage"`
			Schema  *struct {
				OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// ParseAPI reads spec.api, a CustomResourceDefinition (apiextensions.k8s.io/v1), checking what the API server
// checks when it is installed: group and names, one storage version, served versions, and schemas that are
// structural and whose defaults are valid.
func ParseAPI(raw json.RawMessage) (*API, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, api.Invalidf("spec.api: Required value: the promise has no API")
	}
	var d crdDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, api.Invalidf("spec.api: Invalid value: %s", trimJSONErr(err))
	}
	// Kratix reads spec.api into a v1 CustomResourceDefinition whatever its apiVersion says (the marketplace has
	// a promise written apiextensions.k8s.io/v1alpha1): any version of the group is taken.
	if !strings.HasPrefix(d.APIVersion, "apiextensions.k8s.io/") {
		return nil, api.Invalidf("spec.api.apiVersion: Unsupported value: %q: supported values: \"apiextensions.k8s.io/v1\"", d.APIVersion)
	}
	if d.Kind != "CustomResourceDefinition" {
		return nil, api.Invalidf("spec.api.kind: Unsupported value: %q: supported values: \"CustomResourceDefinition\"", d.Kind)
	}
	s := d.Spec
	if s.Group == "" {
		return nil, api.Invalidf("spec.api.spec.group: Required value")
	}
	if err := ValidateSubdomain("spec.api.spec.group", s.Group); err != nil {
		return nil, err
	}
	if s.Names.Kind == "" {
		return nil, api.Invalidf("spec.api.spec.names.kind: Required value")
	}
	if s.Names.Plural == "" {
		return nil, api.Invalidf("spec.api.spec.names.plural: Required value")
	}
	if err := ValidateName("spec.api.spec.names.plural", s.Names.Plural); err != nil {
		return nil, err
	}
	if want := s.Names.Plural + "." + s.Group; d.Metadata.Name != want {
		return nil, api.Invalidf("spec.api.metadata.name: Invalid value: %q: must be spec.names.plural+\".\"+spec.group (%q)", d.Metadata.Name, want)
	}
	switch s.Scope {
	case ScopeNamespaced, ScopeCluster:
	case "":
		return nil, api.Invalidf("spec.api.spec.scope: Required value: supported values: \"Cluster\", \"Namespaced\"")
	default:
		return nil, api.Invalidf("spec.api.spec.scope: Unsupported value: %q: supported values: \"Cluster\", \"Namespaced\"", s.Scope)
	}
	if s.Names.ListKind == "" {
		s.Names.ListKind = s.Names.Kind + "List"
	}
	if len(s.Versions) == 0 {
		return nil, api.Invalidf("spec.api.spec.versions: Required value: must have at least one version")
	}
	a := &API{Group: s.Group, Names: s.Names, Scope: s.Scope}
	storage, names := 0, map[string]bool{}
	for i, v := range s.Versions {
		at := fmt.Sprintf("spec.api.spec.versions[%d]", i)
		if err := ValidateName(at+".name", v.Name); err != nil {
			return nil, err
		}
		if names[v.Name] {
			return nil, api.Invalidf("%s.name: Duplicate value: %q", at, v.Name)
		}
		names[v.Name] = true
		if v.Storage {
			storage++
			if !v.Served {
				return nil, api.Invalidf("%s.served: Invalid value: false: the storage version must be served", at)
			}
		}
		ver := Version{Name: v.Name, Served: v.Served, Storage: v.Storage}
		if v.Schema != nil && len(v.Schema.OpenAPIV3Schema) > 0 && string(v.Schema.OpenAPIV3Schema) != "null" {
			sch, err := CompileSchema(at+".schema.openAPIV3Schema", v.Schema.OpenAPIV3Schema)
			if err != nil {
				return nil, err
			}
			ver.Schema = sch
		}
		a.Versions = append(a.Versions, ver)
	}
	if storage != 1 {
		return nil, api.Invalidf("spec.api.spec.versions: Invalid value: must have exactly one version marked as storage version, found %d", storage)
	}
	return a, nil
}

// APIVersion is group/version of the storage version, what stored requests carry.
func (a *API) APIVersion() string { return a.Group + "/" + a.StorageVersion().Name }

// StorageVersion is the version requests are stored at.
func (a *API) StorageVersion() *Version {
	for i := range a.Versions {
		if a.Versions[i].Storage {
			return &a.Versions[i]
		}
	}
	return &a.Versions[0] // ParseAPI guarantees one
}

// Served returns the served version apiVersion names (group/version), or nil.
func (a *API) Served(apiVersion string) *Version {
	for i := range a.Versions {
		if a.Versions[i].Served && a.Group+"/"+a.Versions[i].Name == apiVersion {
			return &a.Versions[i]
		}
	}
	return nil
}

// Namespaced reports whether requests live in a namespace.
func (a *API) Namespaced() bool { return a.Scope == ScopeNamespaced }

// ValidateSubdomain checks a DNS-1123 subdomain (a CRD group) of at most 253 characters.
func ValidateSubdomain(path, s string) error {
	if len(s) > 253 {
		return api.Invalidf("%s: Invalid value: %.20q...: must be no more than 253 characters", path, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || i == len(s)-1 || (c != '-' && c != '.')) {
			return api.Invalidf("%s: Invalid value: %q: a lowercase RFC 1123 subdomain must consist of lower case "+
				"alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", path, s)
		}
	}
	return nil
}
