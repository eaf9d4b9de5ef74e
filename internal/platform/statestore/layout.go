package statestore

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

// reader reads a file of a store's tree; fs.ErrNotExist when there is none.
type reader interface {
	ReadFile(name string) ([]byte, error)
}

// edits are the changes one placement makes to a tree, paths relative to the tree's root: removals first (a
// directory and all it holds, or a file), then writes in order.
type edits struct {
	remove []string
	write  []File
}

// plan computes the edits that write (or, with del, remove) p's files, reading what the mode needs from t (the
// tracking file of mode none, the aggregated file). root is the store's path inside the tree ("" for the root).
func plan(t reader, root string, p Placement, del bool) (edits, Written, error) {
	if err := p.check(); err != nil {
		return edits{}, Written{}, err
	}
	d := p.Destination
	d.Default()
	p.Destination = d
	w := Written{Name: p.Name(), Destination: d.Name}
	join := func(elem ...string) string { return path.Join(append([]string{root}, elem...)...) }
	var e edits
	switch d.Filepath.Mode {
	case api.FilepathNestedByMetadata:
		dir := join(p.Dir())
		w.Dir = dir
		e.remove = append(e.remove, dir)
		if del {
			w.Deleted = []string{dir}
			break
		}
		for _, f := range p.Files {
			e.write = append(e.write, File{Path: path.Join(dir, f.Path), Content: f.Content})
			w.Paths = append(w.Paths, path.Join(dir, f.Path))
		}
	case api.FilepathNone:
		destDir := d.Dir()
		stateFile := join(destDir, ".kratix", p.namespace()+"-"+w.Name+".yaml")
		old, err := readStateFile(t, stateFile, destDir)
		if err != nil {
			return edits{}, Written{}, err
		}
		var now []string
		if !del {
			for _, f := range p.Files {
				now = append(now, path.Join(destDir, f.Path))
			}
		}
		for _, o := range old {
			if !slices.Contains(now, o) {
				e.remove = append(e.remove, join(o))
				w.Deleted = append(w.Deleted, join(o))
			}
		}
		if del {
			e.remove = append(e.remove, stateFile)
			w.Deleted = append(w.Deleted, stateFile)
			break
		}
		for _, f := range p.Files {
			e.write = append(e.write, File{Path: join(destDir, f.Path), Content: f.Content})
			w.Paths = append(w.Paths, join(destDir, f.Path))
		}
		b, err := yaml.Marshal(stateFileDoc{Files: orEmpty(now)})
		if err != nil {
			return edits{}, Written{}, fmt.Errorf("tracking file: %w", err)
		}
		e.write = append(e.write, File{Path: stateFile, Content: b})
		w.Paths = append(w.Paths, stateFile)
	case api.FilepathAggregatedYAML:
		file := join(d.Dir(), d.Filepath.Filename)
		cur, err := t.ReadFile(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return edits{}, Written{}, fmt.Errorf("read %s: %w", file, err)
		}
		sections := parseAggregated(string(cur))
		delete(sections, w.Name)
		if !del {
			var docs []string
			for _, f := range p.Files {
				docs = append(docs, string(f.Content))
			}
			sections[w.Name] = docs
		}
		if len(sections) == 0 {
			e.remove = append(e.remove, file)
			w.Deleted = []string{file}
			break
		}
		e.write = append(e.write, File{Path: file, Content: []byte(formatAggregated(sections))})
		w.Paths = []string{file}
	default:
		return edits{}, Written{}, invalidf("destination %s: filepath.mode %q is not known", d.Name, d.Filepath.Mode)
	}
	return e, w, nil
}

// stateFileDoc is mode none's tracking file, as Kratix writes it.
type stateFileDoc struct {
	Files []string `json:"files"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readStateFile reads a tracking file's list; none is an empty list. Every entry must be a clean path of a file
// under the destination's directory destDir: a tampered file cannot make a delete reach out of the store, nor
// remove the destination's or the store's directory itself.
func readStateFile(t reader, name, destDir string) ([]string, error) {
	b, err := t.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var doc stateFileDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("tracking file %s: %w", name, err)
	}
	for _, f := range doc.Files {
		if err := checkRel(f); err != nil {
			return nil, fmt.Errorf("tracking file %s: entry %q: %w", name, f, err)
		}
		if path.Clean(f) != f || f == "." || (destDir != "" && !strings.HasPrefix(f, destDir+"/")) {
			return nil, fmt.Errorf("tracking file %s: entry %q: want a clean path of a file under %q", name, f, destDir)
		}
	}
	return doc.Files, nil
}

// The aggregated file holds each placement's documents after a comment naming it, so that one placement's part
// can be replaced without knowing the others': Kratix rebuilds the file from every WorkPlacement of the
// destination, runplane from the file itself. Sections are sorted by placement name (as Kratix sorts
// WorkPlacements) and, like every document, separated by "\n---\n".
const sectionMark = "# placement: "

func formatAggregated(sections map[string][]string) string {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, sectionMark+n+"\n"+strings.Join(sections[n], "\n---\n"))
	}
	return strings.Join(parts, "\n---\n")
}

// parseAggregated splits an aggregated file into its sections; content before the first mark (a file this
// package did not write) is dropped, as Kratix would drop it when it rewrites the file.
func parseAggregated(s string) map[string][]string {
	out := map[string][]string{}
	if !strings.HasPrefix(s, sectionMark) {
		i := strings.Index(s, "\n---\n"+sectionMark)
		if i < 0 {
			return out
		}
		s = s[i+len("\n---\n"):]
	}
	for _, part := range strings.Split(s[len(sectionMark):], "\n---\n"+sectionMark) {
		name, body, _ := strings.Cut(part, "\n")
		if name == "" {
			continue
		}
		out[name] = strings.Split(body, "\n---\n")
	}
	return out
}
