package schedule

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// SelectorsFile is the metadata file a pipeline writes its destination selectors to.
const SelectorsFile = "destination-selectors.yaml"

// RootDirectory is the default workload group's directory: the whole output, less the directories that have
// their own entry.
const RootDirectory = "."

// DirectorySelector is one entry of destination-selectors.yaml: the selectors of a top-level directory of the
// pipeline's output ("" or "." for the default workload group).
type DirectorySelector struct {
	Directory   string            `json:"directory,omitempty"`
	MatchLabels map[string]string `json:"matchLabels"`
}

// maxSelectorsFile bounds what ParseSelectors reads: a selectors file is a handful of lines.
const maxSelectorsFile = 1 << 20

// ParseSelectors parses destination-selectors.yaml (YAML or JSON) with Kratix's rules (work-creator's
// ParseDestinationSelectors): a list of {directory, matchLabels}; each directory is cleaned and must be "." or a
// top-level directory name (sub-directories are errors), no directory may appear twice, and every entry needs
// selectors. Errors name the file (file is how to name it in messages, e.g. "metadata/destination-selectors.yaml")
// and the entry.
func ParseSelectors(file string, data []byte) ([]DirectorySelector, error) {
	if len(data) > maxSelectorsFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxSelectorsFile)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var out []DirectorySelector
	if err := yaml.UnmarshalStrict(data, &out); err != nil {
		return nil, fmt.Errorf("%s: want a list of {directory, matchLabels}: %s", file, cleanYAMLError(err))
	}
	seen := map[string]int{}
	for i := range out {
		e := &out[i]
		e.Directory = cleanDir(e.Directory)
		switch {
		case len(e.MatchLabels) == 0:
			return nil, fmt.Errorf("%s: entry %d has no selectors (matchLabels)", file, i)
		case e.Directory == ".." || strings.HasPrefix(e.Directory, "../") || strings.HasPrefix(e.Directory, "/"):
			return nil, fmt.Errorf("%s: entry %d: directory %q is outside the pipeline's output", file, i, e.Directory)
		case strings.Contains(e.Directory, "/"):
			return nil, fmt.Errorf("%s: entry %d: directory %q: sub-directories are not allowed, only top-level directories of the output", file, i, e.Directory)
		}
		if j, dup := seen[e.Directory]; dup {
			return nil, fmt.Errorf("%s: entries %d and %d both give selectors for directory %q", file, j, i, e.Directory)
		}
		seen[e.Directory] = i
		for k, v := range e.MatchLabels {
			if k == "" || len(k) > 317 || len(v) > 63 || strings.ContainsAny(k+v, " ,=!\n\t") {
				return nil, fmt.Errorf("%s: entry %d: matchLabels %q: %q is not a label", file, i, k, v)
			}
		}
	}
	return out, nil
}

// cleanDir cleans a directory as Kratix does (filepath.Clean), "" becoming ".".
func cleanDir(d string) string {
	return path.Clean(d)
}

func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error unmarshaling JSON: while decoding JSON: ")
	s = strings.TrimPrefix(s, "error converting YAML to JSON: ")
	return strings.TrimPrefix(s, "json: ")
}

// Source is where selectors come from.
type Source string

// Sources of selectors, in Kratix's spelling.
const (
	SourcePromise          Source = "promise"
	SourcePromiseWorkflow  Source = "promise-workflow"
	SourceResourceWorkflow Source = "resource-workflow"
)

// Selector is one set of labels a destination must have, and where it came from.
type Selector struct {
	MatchLabels map[string]string `json:"matchLabels"`
	Source      Source            `json:"source"`
}

// Resolve merges a workload group's selectors as Kratix's scheduler does (resolveDestinationSelectorsForWorkloadGroup):
// applied resource-workflow first, then promise-workflow, then promise, a later one replacing a key an earlier one
// set. So on a key both give, the promise's value wins over the promise workflow's, which wins over the resource
// workflow's; keys only one gives all apply. Nil means no selectors.
func Resolve(sels []Selector) map[string]string {
	rank := func(s Source) int {
		switch s {
		case SourcePromise:
			return 2
		case SourcePromiseWorkflow:
			return 1
		}
		return 0
	}
	ordered := slices.Clone(sels)
	slices.SortStableFunc(ordered, func(a, b Selector) int { return rank(a.Source) - rank(b.Source) })
	var out map[string]string
	for _, s := range ordered {
		if len(s.MatchLabels) == 0 {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		maps.Copy(out, s.MatchLabels)
	}
	return out
}
