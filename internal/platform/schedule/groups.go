package schedule

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Group is a workload group (Kratix's WorkloadGroup): files of a pipeline's output scheduled together.
type Group struct {
	// ID is the hex MD5 of Directory, as Kratix computes it; its first five characters name the group's
	// directory in the state store (ShortID).
	ID string `json:"id"`
	// Directory is "." for the default group, else the top-level directory of the output it holds.
	Directory string `json:"directory"`
	// Files are the group's files, relative to the output directory (a directory group's keep their directory:
	// "prod/app.yaml"), in the order given.
	Files     []string   `json:"files"`
	Selectors []Selector `json:"destinationSelectors,omitempty"`
}

// GroupID is a workload group's id: the hex MD5 of its directory (Kratix's hash.ComputeHash).
func GroupID(directory string) string {
	sum := md5.Sum([]byte(directory))
	return hex.EncodeToString(sum[:])
}

// ShortID is the part of a group's id that names its directory in a state store (Kratix's shortID).
func ShortID(id string) string {
	if len(id) < 5 {
		return id
	}
	return id[:5]
}

// Output is what Groups needs to know of one pipeline run.
type Output struct {
	// Files are every regular file of the output directory, relative to it, '/'-separated.
	Files []string
	// Selectors are the pipeline's destination-selectors.yaml (ParseSelectors).
	Selectors []DirectorySelector
	// Resource says the workflow is a resource request's (its selectors' source is resource-workflow);
	// otherwise it is a promise's (promise-workflow).
	Resource bool
	// PromiseSelectors are the promise's own spec.destinationSelectors (source promise) and, for a resource
	// workflow, the selectors its promise's workflow chose (source promise-workflow). Kratix applies them to the
	// default group only.
	PromiseSelectors []Selector
}

// Groups splits a pipeline's output into workload groups as Kratix's work creator does: one group per
// directory entry of the selectors file, holding that top-level directory's files, with only that entry's
// selectors; then the default group (directory ".") with every other file, the root entry's selectors and
// PromiseSelectors, if it has any file. An entry naming a directory the output lacks is an error (file names the
// selectors file in it).
func Groups(file string, out Output) ([]Group, error) {
	src := SourcePromiseWorkflow
	if out.Resource {
		src = SourceResourceWorkflow
	}
	var groups []Group
	own := map[string]bool{}
	var rootSel map[string]string
	for _, e := range out.Selectors {
		if e.Directory == RootDirectory {
			rootSel = e.MatchLabels
			continue
		}
		own[e.Directory] = true
		g := Group{ID: GroupID(e.Directory), Directory: e.Directory, Files: []string{},
			Selectors: []Selector{{MatchLabels: e.MatchLabels, Source: src}}}
		found := false
		for _, f := range out.Files {
			if f == e.Directory {
				return nil, fmt.Errorf("%s: directory %q is a file of the output, not a directory", file, e.Directory)
			}
			if strings.HasPrefix(f, e.Directory+"/") {
				g.Files = append(g.Files, f)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: directory %q: the pipeline's output has no such directory", file, e.Directory)
		}
		groups = append(groups, g)
	}
	def := Group{ID: GroupID(RootDirectory), Directory: RootDirectory}
	for _, f := range out.Files {
		top, _, _ := strings.Cut(f, "/")
		if !own[top] || !strings.Contains(f, "/") {
			def.Files = append(def.Files, f)
		}
	}
	if len(def.Files) == 0 {
		return groups, nil
	}
	if rootSel != nil {
		def.Selectors = append(def.Selectors, Selector{MatchLabels: rootSel, Source: src})
	}
	for _, s := range []Source{SourcePromiseWorkflow, SourcePromise} {
		var merged map[string]string
		for _, p := range out.PromiseSelectors {
			if p.Source != s || len(p.MatchLabels) == 0 {
				continue
			}
			if merged == nil {
				merged = map[string]string{}
			}
			for k, v := range p.MatchLabels {
				merged[k] = v
			}
		}
		if merged != nil {
			def.Selectors = append(def.Selectors, Selector{MatchLabels: merged, Source: s})
		}
	}
	return append(groups, def), nil
}

// sortedCopy returns names sorted, for a stable choice.
func sortedCopy(names []string) []string {
	s := slices.Clone(names)
	slices.Sort(s)
	return s
}
