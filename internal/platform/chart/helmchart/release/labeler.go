package release

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// labeler is the post-renderer that puts Krateo's krateo.io/composition-* labels on every object a release
// installs, as composition-dynamic-controller's does.
type labeler struct{ labels map[string]string }

// Run labels each YAML document of the rendered manifests.
func (l labeler) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	var out bytes.Buffer
	for i, doc := range bytes.Split(in.Bytes(), []byte("\n---")) {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("post-render document %d: %w", i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			m["metadata"] = meta
		}
		ls, _ := meta["labels"].(map[string]any)
		if ls == nil {
			ls = map[string]any{}
		}
		for k, v := range l.labels {
			ls[k] = v
		}
		meta["labels"] = ls
		b, err := yaml.Marshal(m)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return &out, nil
}
