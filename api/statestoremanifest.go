package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Manifests of destinations and state stores, as Kratix writes them:
//
//	apiVersion: platform.kratix.io/v1alpha1   (or platform.runplane.dev/v1alpha1)
//	kind: Destination | GitStateStore | DirectoryStateStore
//	metadata: {name, labels}
//	spec: {...}
//
// A Destination's metadata.labels are its scheduling labels. status and metadata fields other than name and
// labels (annotations, uid, ...) are ignored, so a manifest exported from a cluster reads as written; unknown
// spec fields are refused, so a misspelt field is not silently dropped.

// manifestDoc is a manifest's envelope.
type manifestDoc struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   manifestMeta    `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Status     json.RawMessage `json:"status"`
}

type manifestMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// destinationSpec is Kratix's DestinationSpec.
type destinationSpec struct {
	Path              string              `json:"path"`
	StateStoreRef     *StateStoreRef      `json:"stateStoreRef"`
	StrictMatchLabels bool                `json:"strictMatchLabels"`
	Filepath          DestinationFilepath `json:"filepath"`
	Cleanup           string              `json:"cleanup"`
	InitWorkloads     *InitWorkloads      `json:"initWorkloads"`
}

// stateStoreSpec is Kratix's GitStateStoreSpec, and runplane's DirectoryStateStore spec (path only) and
// credentials.
type stateStoreSpec struct {
	URL         string           `json:"url"`
	Path        string           `json:"path"`
	SecretRef   *SecretReference `json:"secretRef"`
	Branch      string           `json:"branch"`
	AuthMethod  string           `json:"authMethod"`
	GitAuthor   GitAuthor        `json:"gitAuthor"`
	Credentials *GitCredentials  `json:"credentials"`
}

// IsStateStoreManifestKind reports whether kind is one DecodeManifest reads.
func IsStateStoreManifestKind(kind string) bool {
	return kind == KindDestination || kind == KindGitStateStore || kind == KindDirectoryStateStore
}

// DecodeDestinationManifest reads a Destination manifest (JSON; YAML converted to JSON by the caller) and
// validates it.
func DecodeDestinationManifest(doc []byte) (Destination, error) {
	m, err := decodeEnvelope(doc, KindDestination)
	if err != nil {
		return Destination{}, err
	}
	var spec destinationSpec
	if err := strictDecode(m.Spec, &spec); err != nil {
		return Destination{}, Invalidf("Destination %s: spec: %s", m.Metadata.Name, err)
	}
	d := Destination{Name: m.Metadata.Name, Labels: m.Metadata.Labels, Path: spec.Path,
		StrictMatchLabels: spec.StrictMatchLabels, Filepath: spec.Filepath, Cleanup: spec.Cleanup,
		InitWorkloads: spec.InitWorkloads}
	if spec.StateStoreRef != nil {
		d.StateStoreRef = *spec.StateStoreRef
	}
	if err := d.Validate(); err != nil {
		return Destination{}, Invalidf("Destination %s: %s", m.Metadata.Name, err)
	}
	return d, nil
}

// DecodeStateStoreManifest reads a GitStateStore or DirectoryStateStore manifest and validates it.
func DecodeStateStoreManifest(doc []byte) (StateStore, error) {
	m, err := decodeEnvelope(doc, KindGitStateStore, KindDirectoryStateStore)
	if err != nil {
		return StateStore{}, err
	}
	if len(m.Metadata.Labels) > 0 {
		if err := validateLabels("metadata.labels", m.Metadata.Labels); err != nil {
			return StateStore{}, err
		}
	}
	var spec stateStoreSpec
	if err := strictDecode(m.Spec, &spec); err != nil {
		return StateStore{}, Invalidf("%s %s: spec: %s", m.Kind, m.Metadata.Name, err)
	}
	s := StateStore{Kind: m.Kind, Name: m.Metadata.Name, Path: spec.Path, URL: spec.URL, Branch: spec.Branch,
		AuthMethod: spec.AuthMethod, SecretRef: spec.SecretRef, Credentials: spec.Credentials, GitAuthor: spec.GitAuthor}
	if err := s.Validate(); err != nil {
		return StateStore{}, Invalidf("%s %s: %s", m.Kind, m.Metadata.Name, err)
	}
	return s, nil
}

func decodeEnvelope(doc []byte, kinds ...string) (manifestDoc, error) {
	var m manifestDoc
	if err := json.Unmarshal(doc, &m); err != nil {
		return m, Invalidf("not a manifest: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	found := false
	for _, k := range kinds {
		found = found || m.Kind == k
	}
	if !found {
		return m, Invalidf("kind %q: want %s", clip(m.Kind), strings.Join(kinds, " or "))
	}
	switch m.APIVersion {
	case RunplaneAPIVersion:
	case KratixAPIVersion:
		if m.Kind == KindDirectoryStateStore {
			return m, Invalidf("%s is runplane's kind: write apiVersion %s", KindDirectoryStateStore, RunplaneAPIVersion)
		}
	case "":
		return m, Invalidf("%s: apiVersion is required (%s or %s)", m.Kind, KratixAPIVersion, RunplaneAPIVersion)
	default:
		return m, Invalidf("%s: apiVersion %q: want %s or %s", m.Kind, clip(m.APIVersion), KratixAPIVersion, RunplaneAPIVersion)
	}
	if m.Metadata.Name == "" {
		return m, Invalidf("%s: metadata.name is required", m.Kind)
	}
	return m, nil
}

func strictDecode(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
