package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/workflow"
)

// Workflow documents are read by workflow.Parse, the server's own reader, from the document as written: YAML tags
// such as Relay's !Parameter and !Output would not survive the conversion to JSON the other kinds go through. A
// document is a workflow when its kind is Workflow (runplane's manifest, flat or with metadata and spec), or when
// it has no kind but has steps: Relay's workflow file unchanged. Relay's file names no workflow: it is named
// after its file (deploy.yaml → deploy) when the file holds that one document, or by a name field added to it.

// isWorkflowYAML tells whether a YAML document is a workflow. A document that does not parse is not: the general
// path then says what is wrong with it.
func isWorkflowYAML(doc []byte) bool {
	var n yaml3.Node
	if yaml3.Unmarshal(doc, &n) != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml3.MappingNode {
		return false
	}
	top := n.Content[0].Content
	kind, steps := "", false
	for i := 0; i+1 < len(top); i += 2 {
		switch top[i].Value {
		case "kind":
			kind = top[i+1].Value
			if kind == "" {
				kind = "?" // not a scalar: not a workflow's kind
			}
		case "steps":
			steps = true
		}
	}
	return kind == kindWorkflow || (kind == "" && steps)
}

// isWorkflowJSON is isWorkflowYAML for a JSON document.
func isWorkflowJSON(doc []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(doc, &fields) != nil {
		return false
	}
	var kind string
	if k, ok := fields["kind"]; ok {
		if json.Unmarshal(k, &kind) != nil {
			return false
		}
		return kind == kindWorkflow
	}
	_, steps := fields["steps"]
	return steps
}

// parseWorkflowDoc reads a workflow document of src, which holds docs documents, and checks it as far as it can
// without a server (its steps, dependencies, cycles and expressions).
func parseWorkflowDoc(data []byte, src manifestSource, docs int) (manifest, error) {
	m := manifest{kind: kindWorkflow}
	w, err := workflow.Parse(data)
	if err != nil {
		return m, fmt.Errorf("%s: %w", kindWorkflow, err)
	}
	if w.Name == "" {
		name, ok := nameFromFile(src, docs)
		if !ok {
			return m, errors.New("Workflow: no name: give it one (name: NAME, or kind: Workflow with metadata.name), or, for a Relay workflow file, name the file after it (deploy.yaml is workflow deploy) and keep it to that one document")
		}
		w.Name = name
	}
	m.flow = w
	if err := api.ValidateName(w.Name); err != nil {
		return m, fmt.Errorf("%s: name: %w", kindWorkflow, err)
	}
	if err := m.validate(); err != nil {
		return m, fmt.Errorf("%s %q: %w", kindWorkflow, w.Name, err)
	}
	return m, nil
}

// nameFromFile is the workflow name a file of one document gives (its base name without extension), if it is a
// valid name.
func nameFromFile(src manifestSource, docs int) (string, bool) {
	if src.name == "" || src.name == "-" || docs != 1 {
		return "", false
	}
	base := filepath.Base(src.name)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	return name, api.ValidateName(name) == nil
}
