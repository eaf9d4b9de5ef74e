package api

import (
	"path"
	"strings"
)

// ResourceDestinations guards destinations, by name.
const ResourceDestinations = "destinations"

// Filepath modes of a destination (Kratix's spec.filepath.mode).
const (
	// FilepathNestedByMetadata writes a placement's files under
	// <destination>/resources/<namespace>/<promise>/<name>/<pipeline>/<id>/ (dependencies/<promise>/<pipeline>/<id>/
	// for a promise's): the default.
	FilepathNestedByMetadata = "nestedByMetadata"
	// FilepathAggregatedYAML writes every placement of the destination into one multi-document file.
	FilepathAggregatedYAML = "aggregatedYAML"
	// FilepathNone writes files as the pipeline named them, at the destination's path, with a tracking file under
	// .kratix/ listing what each placement wrote.
	FilepathNone = "none"
	// DefaultAggregatedFilename is the file aggregatedYAML writes when the destination names none.
	DefaultAggregatedFilename = "aggregated.yaml"
)

// Cleanup policies of a destination: what deleting it does to the files written for it.
const (
	CleanupNone = "none" // the default: the files stay
	CleanupAll  = "all"  // the files are removed
)

// Destination is where a workload group's files go: a path in a state store, chosen by label selectors
// (Kratix's Destination). Labels are the scheduling labels (metadata.labels in Kratix's manifest).
type Destination struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Path is the destination's directory within its state store's path: the name by default, "." or "/" for the
	// store's root.
	Path          string        `json:"path,omitempty"`
	StateStoreRef StateStoreRef `json:"stateStoreRef"`
	// StrictMatchLabels: only workloads whose selectors select this destination come here; with it, a workload
	// without selectors goes here only if the destination has no labels.
	StrictMatchLabels bool                `json:"strictMatchLabels,omitempty"`
	Filepath          DestinationFilepath `json:"filepath,omitzero"`
	// Cleanup is none (default) or all.
	Cleanup string `json:"cleanup,omitempty"`
	// InitWorkloads is read from Kratix's manifests and kept; runplane writes no canary files.
	InitWorkloads *InitWorkloads `json:"initWorkloads,omitempty"`
}

// StateStoreRef names a destination's state store: Kind is GitStateStore or DirectoryStateStore (Kratix's
// BucketStateStore is not supported).
type StateStoreRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// DestinationFilepath is how files are laid out at a destination.
type DestinationFilepath struct {
	// Mode is nestedByMetadata (default), aggregatedYAML or none; it cannot change once saved.
	Mode string `json:"mode,omitempty"`
	// Filename is the aggregatedYAML mode's file (default aggregated.yaml).
	Filename string `json:"filename,omitempty"`
}

// InitWorkloads is Kratix's spec.initWorkloads.
type InitWorkloads struct {
	Enabled bool `json:"enabled"`
}

// Default fills in Kratix's defaults: path = name, mode nestedByMetadata, cleanup none, and the aggregated
// file's name for that mode.
func (d *Destination) Default() {
	if d.Path == "" {
		d.Path = d.Name
	}
	if d.Filepath.Mode == "" {
		d.Filepath.Mode = FilepathNestedByMetadata
	}
	if d.Filepath.Mode == FilepathAggregatedYAML && d.Filepath.Filename == "" {
		d.Filepath.Filename = DefaultAggregatedFilename
	}
	if d.Cleanup == "" {
		d.Cleanup = CleanupNone
	}
}

// Dir is the destination's directory relative to its store's path, cleaned: "" for the root.
func (d *Destination) Dir() string {
	p := d.Path
	if p == "" {
		p = d.Name
	}
	p = path.Clean("/" + p)[1:]
	return p
}

// Validate checks a destination without a store (that its state store exists is checked where it is saved).
func (d *Destination) Validate() error {
	if err := ValidateName(d.Name); err != nil {
		return err
	}
	if err := validateLabels("labels", d.Labels); err != nil {
		return err
	}
	if err := ValidateStorePath("path", d.Path); err != nil {
		return err
	}
	switch d.StateStoreRef.Kind {
	case KindGitStateStore, KindDirectoryStateStore:
	case "":
		return Invalidf("stateStoreRef.kind is required: %s or %s", KindGitStateStore, KindDirectoryStateStore)
	case "BucketStateStore":
		return Invalidf("stateStoreRef.kind BucketStateStore is not supported: use %s or %s", KindGitStateStore, KindDirectoryStateStore)
	default:
		return Invalidf("stateStoreRef.kind %q: want %s or %s", clip(d.StateStoreRef.Kind), KindGitStateStore, KindDirectoryStateStore)
	}
	if d.StateStoreRef.Name == "" {
		return Invalidf("stateStoreRef.name is required")
	}
	if err := ValidateName(d.StateStoreRef.Name); err != nil {
		return Invalidf("stateStoreRef.%s", err.Error())
	}
	switch d.Filepath.Mode {
	case "", FilepathNestedByMetadata, FilepathNone:
		if d.Filepath.Filename != "" {
			return Invalidf("filepath.filename is only for mode %s", FilepathAggregatedYAML)
		}
	case FilepathAggregatedYAML:
		if err := validateFilename("filepath.filename", d.Filepath.Filename); err != nil {
			return err
		}
	default:
		return Invalidf("filepath.mode %q: want %s, %s or %s", clip(d.Filepath.Mode), FilepathNestedByMetadata,
			FilepathAggregatedYAML, FilepathNone)
	}
	switch d.Cleanup {
	case "", CleanupNone, CleanupAll:
	default:
		return Invalidf("cleanup %q: want %s or %s", clip(d.Cleanup), CleanupNone, CleanupAll)
	}
	return nil
}

// validateLabels checks scheduling labels as Kubernetes checks metadata.labels.
func validateLabels(what string, labels map[string]string) error {
	if len(labels) > maxKubeEntries {
		return Invalidf("%s: %d labels, want at most %d", what, len(labels), maxKubeEntries)
	}
	for _, k := range sortedKeys(labels) {
		if err := labelKeyError(k); err != "" {
			return Invalidf("%s: key %q: %s", what, clip(k), err)
		}
		if v := labels[k]; !isLabelValue(v) {
			return Invalidf("%s.%s: value %q: %s", what, k, clip(v), labelValueRule)
		}
	}
	return nil
}

// ValidateStorePath checks a relative path inside a state store (a store's or a destination's path): no "..",
// no NUL or control characters, at most 1024 bytes. "", "." and "/" mean the root.
func ValidateStorePath(what, p string) error {
	if len(p) > 1024 {
		return Invalidf("%s: longer than 1024 characters", what)
	}
	if err := checkVisible(what, p); err != nil {
		return err
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return Invalidf("%s %q: \"..\" would leave the state store", what, clip(p))
		}
	}
	if strings.ContainsRune(p, '\\') {
		return Invalidf("%s %q: use '/' to separate directories", what, clip(p))
	}
	return nil
}

// validateFilename checks a file name without directories ("" is allowed: the default).
func validateFilename(what, f string) error {
	if f == "" {
		return nil
	}
	if err := ValidateStorePath(what, f); err != nil {
		return err
	}
	if strings.Contains(f, "/") || f == "." || strings.HasPrefix(f, ".kratix") {
		return Invalidf("%s %q: want a file name without directories", what, clip(f))
	}
	return nil
}
