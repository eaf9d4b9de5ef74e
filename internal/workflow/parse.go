package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplane/runplane/api"
)

// Kind is the kind of a workflow manifest (`runplane apply`).
const Kind = "Workflow"

// DefaultImage is the image of an inline step that names none, as in Relay.
const DefaultImage = "alpine:latest"

// Top-level fields of the three forms Parse reads.
var (
	workflowFields = []string{"name", "description", "parameters", "steps", "timeout", "synchronous", "sync_timeout",
		"triggers"}
	// relayMeta are the catalogue fields of Relay's workflow library (puppetlabs/relay-workflows) and its locals
	// (a place for YAML anchors): read and dropped.
	relayMeta  = []string{"summary", "homepage", "tags", "locals"}
	stepFields = []string{"name", "description", "dependsOn", "when", "timeout", "retries", "task", "input", "image", "command",
		"args", "containers", "runner", "env", "spec", "files", "resources", "kubernetes"}
)

// Parse reads a workflow from a YAML or JSON document in any of three forms: runplane's manifest
// (`kind: Workflow` with metadata.name and spec, as `runplane apply` reads), the same flat (kind and name beside
// the fields, kind optional), and Relay's workflow file unchanged (version, description, parameters, steps; no
// name, which the caller gives; Relay's apiVersion spelling and catalogue fields too). Relay's tags (!Parameter,
// !Output, !Secret, !Fn.*, !Data in a trigger, and their JSON spellings) become ${…} expressions; triggers are
// read into Workflow.Triggers; Relay's parameter map becomes a JSON Schema; an inline step without an image gets
// DefaultImage. Parse checks the shape only: Validate checks the meaning. Every error is an *api.InvalidError
// whose message starts with the line it is about.
func Parse(data []byte) (api.Workflow, error) {
	var w api.Workflow
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return w, api.Invalidf("the document is empty")
		}
		return w, api.Invalidf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) && (err != nil || len(more.Content) > 0) {
		return w, api.Invalidf("one workflow per document: remove what follows the first")
	}
	c := &converter{lines: map[string]int{}}
	v, err := c.value(&doc, "", 0)
	if err != nil {
		return w, &api.InvalidError{Msg: err.Error()}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return w, c.invalid("", "a workflow must be a mapping")
	}
	if err := parseTop(c, top, &w); err != nil {
		return api.Workflow{}, err
	}
	return w, nil
}

// invalid is an *api.InvalidError about path, with its line.
func (c *converter) invalid(path, format string, args ...any) error {
	e := &posError{line: c.lines[path], path: path, msg: fmt.Sprintf(format, args...)}
	return &api.InvalidError{Msg: e.Error()}
}

// parseTop reads the top-level mapping in any of the forms into w.
func parseTop(c *converter, top map[string]any, w *api.Workflow) error {
	prefix := ""
	if k, has := top["kind"]; has {
		if k != Kind {
			return c.invalid("kind", "kind is %v, want %s", k, Kind)
		}
		delete(top, "kind")
		delete(top, "apiVersion")
		_, hasMeta := top["metadata"]
		_, hasSpec := top["spec"]
		if hasMeta || hasSpec {
			for k := range top {
				if k != "metadata" && k != "spec" {
					return c.invalid(k, "a document with metadata or spec must hold its fields under spec")
				}
			}
			spec, ok := top["spec"].(map[string]any)
			if !ok {
				return c.invalid("spec", "spec must be a mapping")
			}
			if _, has := spec["name"]; has {
				return c.invalid("spec.name", "the name goes in metadata.name")
			}
			if md, ok := top["metadata"].(map[string]any); ok && md["name"] != nil {
				spec["name"] = md["name"]
			} else if hasMeta {
				return c.invalid("metadata", "metadata must be a mapping with a name")
			}
			top, prefix = spec, "spec."
		}
	}
	if v, has := top["apiVersion"]; has && prefix == "" {
		// Some of Relay's own workflow files spell version so.
		if _, both := top["version"]; both {
			return c.invalid("apiVersion", "version and apiVersion: give one of them")
		}
		top["version"] = v
		delete(top, "apiVersion")
	}
	if v, has := top["version"]; has && v != "v1" {
		return c.invalid(prefix+"version", "version %v is not supported: want v1 (Relay's)", v)
	}
	if _, relay := top["version"]; relay {
		for _, k := range relayMeta {
			delete(top, k)
		}
	}
	delete(top, "version")
	for _, k := range sortedKeys(top) {
		if !slices.Contains(workflowFields, k) {
			return c.invalid(prefix+k, "unknown field %q", k)
		}
	}
	steps, _ := top["steps"].([]any)
	if top["steps"] != nil && steps == nil {
		return c.invalid(prefix+"steps", "steps must be a list")
	}
	delete(top, "steps")
	trigs, _ := top["triggers"].([]any)
	if top["triggers"] != nil && trigs == nil {
		return c.invalid(prefix+"triggers", "triggers must be a list")
	}
	delete(top, "triggers")
	if err := decodeStrict(top, w); err != nil {
		return c.invalid(prefix, "%v", err)
	}
	if p, err := ParametersSchema(w.Parameters); err != nil {
		return c.invalid(prefix+"parameters", "%v", err)
	} else {
		w.Parameters = p
	}
	w.Steps = make([]api.Step, 0, len(steps))
	for i, s := range steps {
		st, err := parseStep(c, s, fmt.Sprintf("%ssteps[%d]", prefix, i))
		if err != nil {
			return err
		}
		w.Steps = append(w.Steps, st)
	}
	for i, x := range trigs {
		t, err := parseTrigger(c, x, fmt.Sprintf("%striggers[%d]", prefix, i))
		if err != nil {
			return err
		}
		w.Triggers = append(w.Triggers, t)
	}
	return nil
}

// parseStep reads one step. at is its path, for lines; messages name it by name too.
func parseStep(c *converter, v any, at string) (api.Step, error) {
	var st api.Step
	m, ok := v.(map[string]any)
	if !ok {
		return st, c.invalid(at, "a step must be a mapping")
	}
	label := at
	if n, ok := m["name"].(string); ok {
		label += fmt.Sprintf(" %q", n)
	}
	fail := func(field, format string, args ...any) error {
		e := &posError{line: c.lines[join(at, field)], path: join(label, field), msg: fmt.Sprintf(format, args...)}
		if e.line == 0 {
			e.line = c.lines[at]
		}
		return &api.InvalidError{Msg: e.Error()}
	}
	for _, k := range sortedKeys(m) {
		if k == "inputFile" {
			return st, fail(k, "inputFile is not supported: put the script in input")
		}
		if !slices.Contains(stepFields, k) {
			return st, fail(k, "unknown field %q", k)
		}
	}
	// Relay's env is a map of names to any value; a variable holds text.
	if env, ok := m["env"].(map[string]any); ok {
		for k, x := range env {
			if _, isStr := x.(string); !isStr {
				s, err := text(x)
				if err != nil {
					return st, fail("env."+k, "%v", err)
				}
				env[k] = s
			}
		}
	}
	for _, k := range sortedKeys(m) {
		one := map[string]any{k: m[k]}
		if err := decodeStrict(one, &st); err != nil {
			return st, fail(k, "%v", err)
		}
	}
	if st.Task == "" && st.Image == "" && len(st.Containers) == 0 {
		st.Image = DefaultImage
	}
	return st, nil
}

// decodeStrict decodes v into dst through JSON, refusing unknown fields.
func decodeStrict(v any, dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
