package promise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/schema"
)

// Schema is a compiled openAPIV3Schema: its structural skeleton (what pruning, defaulting and the type, enum and
// required checks walk) and the whole schema compiled as JSON Schema draft 4 by internal/schema (patterns, bounds,
// formats, allOf/anyOf/oneOf/not). It is safe for concurrent use.
type Schema struct {
	root *node
	full *schema.Schema
}

// node is one structural schema.
type node struct {
	typ         string
	nullable    bool
	properties  map[string]*node
	additional  *node // additionalProperties as a schema
	anyAdded    bool  // additionalProperties: true
	items       *node
	required    []string
	enum        []any
	def         any
	hasDefault  bool
	preserve    bool // x-kubernetes-preserve-unknown-fields
	intOrString bool // x-kubernetes-int-or-string
	embedded    bool // x-kubernetes-embedded-resource
}

// maxDepth bounds a schema's nesting; Kubernetes types are far shallower.
const maxDepth = 64

// CompileSchema compiles an openAPIV3Schema; path names it in errors.
func CompileSchema(path string, raw json.RawMessage) (*Schema, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, api.Invalidf("%s: Invalid value: %s", path, trimJSONErr(err))
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, api.Invalidf("%s: Invalid value: must be an object", path)
	}
	root, err := parseNode(path, m, 0)
	if err != nil {
		return nil, err
	}
	if root.typ != "" && root.typ != "object" {
		return nil, api.Invalidf("%s.type: Unsupported value: %q: supported values: \"object\"", path, root.typ)
	}
	// The whole schema, as draft 4 (OpenAPI 3.0's exclusiveMinimum is draft 4's boolean).
	m["$schema"] = "http://json-schema.org/draft-04/schema#"
	b, err := json.Marshal(m)
	delete(m, "$schema")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	full, err := schema.Compile(b)
	if err != nil {
		return nil, api.Invalidf("%s: Invalid value: %v", path, err)
	}
	s := &Schema{root: root, full: full}
	if err := checkDefaults(path, root); err != nil {
		return nil, err
	}
	return s, nil
}

var types = map[string]bool{"object": true, "array": true, "string": true, "integer": true, "number": true, "boolean": true}

func parseNode(path string, m map[string]any, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, api.Invalidf("%s: Invalid value: nested deeper than %d levels", path, maxDepth)
	}
	n := &node{}
	var err error
	if v, ok := m["type"]; ok {
		s, ok := v.(string)
		if !ok || !types[s] {
			return nil, api.Invalidf("%s.type: Unsupported value: %s: supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"", path, compact(v))
		}
		n.typ = s
	}
	flag := func(key string) (bool, error) {
		v, ok := m[key]
		if !ok {
			return false, nil
		}
		b, ok := v.(bool)
		if !ok {
			return false, api.Invalidf("%s.%s: Invalid value: %s: must be a boolean", path, key, compact(v))
		}
		return b, nil
	}
	if n.nullable, err = flag("nullable"); err != nil {
		return nil, err
	}
	if n.preserve, err = flag("x-kubernetes-preserve-unknown-fields"); err != nil {
		return nil, err
	}
	if n.intOrString, err = flag("x-kubernetes-int-or-string"); err != nil {
		return nil, err
	}
	if n.embedded, err = flag("x-kubernetes-embedded-resource"); err != nil {
		return nil, err
	}
	if n.typ == "" && !n.intOrString && !n.preserve && depth > 0 {
		return nil, api.Invalidf("%s.type: Required value: must not be empty for specified object fields", path)
	}
	if v, ok := m["properties"]; ok {
		props, ok := v.(map[string]any)
		if !ok {
			return nil, api.Invalidf("%s.properties: Invalid value: must be an object", path)
		}
		n.properties = make(map[string]*node, len(props))
		for k, pv := range props {
			pm, ok := pv.(map[string]any)
			if !ok {
				return nil, api.Invalidf("%s.properties[%s]: Invalid value: must be an object", path, k)
			}
			if n.properties[k], err = parseNode(path+".properties["+k+"]", pm, depth+1); err != nil {
				return nil, err
			}
		}
	}
	switch v := m["additionalProperties"].(type) {
	case nil:
	case bool:
		n.anyAdded = v
	case map[string]any:
		if n.additional, err = parseNode(path+".additionalProperties", v, depth+1); err != nil {
			return nil, err
		}
	default:
		return nil, api.Invalidf("%s.additionalProperties: Invalid value: must be a boolean or an object", path)
	}
	if n.properties != nil && n.additional != nil {
		return nil, api.Invalidf("%s.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive", path)
	}
	switch v := m["items"].(type) {
	case nil:
		if n.typ == "array" {
			return nil, api.Invalidf("%s.items: Required value: must be specified", path)
		}
	case map[string]any:
		if n.items, err = parseNode(path+".items", v, depth+1); err != nil {
			return nil, err
		}
	default:
		return nil, api.Invalidf("%s.items: Invalid value: must be a schema object and not an array", path)
	}
	if v, ok := m["required"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, api.Invalidf("%s.required: Invalid value: must be an array of strings", path)
		}
		for _, r := range list {
			s, ok := r.(string)
			if !ok {
				return nil, api.Invalidf("%s.required: Invalid value: must be an array of strings", path)
			}
			n.required = append(n.required, s)
		}
	}
	if v, ok := m["enum"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, api.Invalidf("%s.enum: Invalid value: must be an array", path)
		}
		n.enum = list
	}
	if v, ok := m["default"]; ok {
		n.def, n.hasDefault = v, true
	}
	return n, nil
}

// checkDefaults refuses a default that the structural checks would refuse in a request (the API server checks
// defaults when a CRD is created).
func checkDefaults(path string, n *node) error {
	if n == nil {
		return nil
	}
	if n.hasDefault && n.def != nil {
		var errs fieldErrors
		v := deepCopy(n.def)
		v = prune(v, n, "default", &errs)
		walk(v, n, "default", &errs)
		if len(errs) > 0 {
			return api.Invalidf("%s.default: Invalid value: %s", path, errs[0].String())
		}
	}
	for k, p := range n.properties {
		if err := checkDefaults(path+".properties["+k+"]", p); err != nil {
			return err
		}
	}
	if err := checkDefaults(path+".additionalProperties", n.additional); err != nil {
		return err
	}
	return checkDefaults(path+".items", n.items)
}

// compact renders a value for a message, as the API server does: strings quoted, the rest as JSON.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// quotedList is an enum for a message: "small", "large".
func quotedList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = compact(v)
	}
	return strings.Join(parts, ", ")
}
