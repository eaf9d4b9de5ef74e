package chart

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/runplane/runplane/api"
)

// maxSchemaDepth bounds the nesting of a values schema, and of $ref expansion, so a hostile chart cannot make
// the conversion run away.
const maxSchemaDepth = 48

// maxSchemaNodes bounds the size of the schema once its references are inlined: two references to a schema that
// refers to itself twice would otherwise double at each level.
const maxSchemaNodes = 20000

// StructuralSchema turns a chart's values.schema.json (JSON Schema, any draft) into a structural
// openAPIV3Schema that a Kubernetes API server accepts for spec, as core-provider's generator does: local $refs
// (#/definitions/x, #/$defs/x) are inlined, allOf is merged, a type list with "null" becomes nullable, integer or
// string becomes x-kubernetes-int-or-string, additionalProperties: true (or an untyped field) keeps unknown
// fields (x-kubernetes-preserve-unknown-fields), a numeric exclusiveMinimum/Maximum becomes OpenAPI's boolean
// form, const becomes a one-value enum, and keywords the API server refuses ($schema, $id, definitions,
// uniqueItems, patternProperties, if/then/else, anyOf/oneOf/not, examples...) are dropped.
func StructuralSchema(values []byte) (json.RawMessage, error) {
	var root map[string]any
	if err := json.Unmarshal(values, &root); err != nil {
		return nil, api.Invalidf("values.schema.json: Invalid value: not a JSON object: %s", trimJSONErr(err))
	}
	c := converter{root: root}
	out, err := c.node("", root, 0)
	if err != nil {
		return nil, err
	}
	if out["type"] == nil && out["x-kubernetes-preserve-unknown-fields"] == nil {
		out["type"] = "object"
	}
	if out["type"] != "object" {
		return nil, api.Invalidf("values.schema.json: Invalid value: the values must be an object, not %v", out["type"])
	}
	b, err := json.Marshal(out)
	return b, err
}

type converter struct {
	root  map[string]any
	nodes int
}

// kept are the JSON Schema keywords an openAPIV3Schema takes as they are.
var kept = map[string]bool{
	"description": true, "title": true, "default": true, "enum": true, "format": true, "pattern": true,
	"minimum": true, "maximum": true, "minLength": true, "maxLength": true, "minItems": true, "maxItems": true,
	"minProperties": true, "maxProperties": true, "multipleOf": true, "example": true, "nullable": true,
	"x-kubernetes-preserve-unknown-fields": true, "x-kubernetes-int-or-string": true,
	"x-kubernetes-embedded-resource": true, "x-kubernetes-list-type": true, "x-kubernetes-list-map-keys": true,
	"x-kubernetes-map-type": true, "x-kubernetes-validations": true,
}

func (c *converter) node(path string, in map[string]any, depth int) (map[string]any, error) {
	if depth > maxSchemaDepth {
		return nil, api.Invalidf("values.schema.json%s: Invalid value: nested (or referenced) deeper than %d levels", path, maxSchemaDepth)
	}
	if c.nodes++; c.nodes > maxSchemaNodes {
		return nil, api.Invalidf("values.schema.json: Invalid value: more than %d schemas once references are inlined", maxSchemaNodes)
	}
	in, err := c.resolve(path, in, depth)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range in {
		if kept[k] {
			out[k] = v
		}
	}
	if v, ok := in["const"]; ok {
		out["enum"] = []any{v}
	}
	if e, ok := out["enum"].([]any); ok {
		out["enum"] = uniqueValues(e)
	} else {
		delete(out, "enum")
	}
	for _, k := range []string{"exclusiveMinimum", "exclusiveMaximum"} {
		bound := strings.ToLower(strings.TrimPrefix(k, "exclusive")) // minimum, maximum
		switch v := in[k].(type) {
		case bool:
			out[k] = v
		case float64:
			out[bound], out[k] = v, true
		}
	}
	if err := c.typeOf(path, in, out); err != nil {
		return nil, err
	}
	if props, ok := in["properties"].(map[string]any); ok {
		ps := make(map[string]any, len(props))
		for _, k := range sortedKeys(props) {
			pm, ok := props[k].(map[string]any)
			if !ok {
				if b, isBool := props[k].(bool); isBool && b {
					ps[k] = map[string]any{"x-kubernetes-preserve-unknown-fields": true}
					continue
				}
				return nil, api.Invalidf("values.schema.json%s.properties.%s: Invalid value: must be a schema object", path, k)
			}
			if ps[k], err = c.node(path+".properties."+k, pm, depth+1); err != nil {
				return nil, err
			}
		}
		out["properties"] = ps
	}
	if req, ok := in["required"].([]any); ok && len(req) > 0 {
		out["required"] = req
	}
	switch ap := in["additionalProperties"].(type) {
	case bool:
		if ap && out["properties"] == nil {
			out["x-kubernetes-preserve-unknown-fields"] = true
		}
	case map[string]any:
		if out["properties"] == nil {
			if out["additionalProperties"], err = c.node(path+".additionalProperties", ap, depth+1); err != nil {
				return nil, err
			}
		}
	}
	switch it := in["items"].(type) {
	case map[string]any:
		if out["items"], err = c.node(path+".items", it, depth+1); err != nil {
			return nil, err
		}
	case []any, bool:
		out["items"] = map[string]any{"x-kubernetes-preserve-unknown-fields": true}
	}
	switch out["type"] {
	case "array":
		if out["items"] == nil {
			out["items"] = map[string]any{"x-kubernetes-preserve-unknown-fields": true}
		}
	case "object":
		if out["properties"] == nil && out["additionalProperties"] == nil {
			out["x-kubernetes-preserve-unknown-fields"] = true
		}
	}
	if d, ok := out["default"]; ok && d == nil {
		delete(out, "default") // a null default is no default to the API server
	}
	return out, nil
}

// typeOf sets out's type from in's (a name or a list of names), inferring it from properties or items when
// absent; a field of no single type keeps whatever it is given.
func (c *converter) typeOf(path string, in, out map[string]any) error {
	var types []string
	switch t := in["type"].(type) {
	case nil:
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return api.Invalidf("values.schema.json%s.type: Invalid value: must be a string or a list of strings", path)
			}
			types = append(types, s)
		}
	default:
		return api.Invalidf("values.schema.json%s.type: Invalid value: must be a string or a list of strings", path)
	}
	var real []string
	for _, t := range types {
		switch t {
		case "null":
			out["nullable"] = true
		case "string", "integer", "number", "boolean", "object", "array":
			real = append(real, t)
		default:
			return api.Invalidf("values.schema.json%s.type: Unsupported value: %q", path, t)
		}
	}
	switch {
	case len(real) == 1:
		out["type"] = real[0]
	case len(real) == 2 && ((real[0] == "integer" && real[1] == "string") || (real[0] == "string" && real[1] == "integer")):
		out["x-kubernetes-int-or-string"] = true
	case len(real) == 0 && in["properties"] != nil:
		out["type"] = "object"
	case len(real) == 0 && in["items"] != nil:
		out["type"] = "array"
	case len(real) == 0 && enumType(out["enum"]) != "":
		out["type"] = enumType(out["enum"])
	default:
		out["x-kubernetes-preserve-unknown-fields"] = true
		delete(out, "enum")
		delete(out, "format")
	}
	return nil
}

// resolve inlines a local $ref and merges allOf into the schema (depth-bounded, so cycles end in an error).
func (c *converter) resolve(path string, in map[string]any, depth int) (map[string]any, error) {
	if c.nodes++; c.nodes > maxSchemaNodes || depth > maxSchemaDepth {
		return nil, api.Invalidf("values.schema.json%s: Invalid value: references nest too deep or too wide", path)
	}
	for range maxSchemaDepth {
		ref, ok := in["$ref"].(string)
		if !ok {
			break
		}
		target, err := c.lookup(path, ref)
		if err != nil {
			return nil, err
		}
		merged := make(map[string]any, len(target)+len(in))
		for k, v := range target {
			merged[k] = v
		}
		for k, v := range in {
			if k != "$ref" {
				merged[k] = v
			}
		}
		in = merged
		depth++
		if depth > maxSchemaDepth {
			return nil, api.Invalidf("values.schema.json%s.$ref: Invalid value: %q refers to itself", path, ref)
		}
	}
	if _, still := in["$ref"]; still {
		return nil, api.Invalidf("values.schema.json%s.$ref: Invalid value: references nest too deep", path)
	}
	all, ok := in["allOf"].([]any)
	if !ok {
		return in, nil
	}
	merged := map[string]any{}
	for k, v := range in {
		if k != "allOf" {
			merged[k] = v
		}
	}
	for i, part := range all {
		pm, ok := part.(map[string]any)
		if !ok {
			continue
		}
		pm, err := c.resolve(fmt.Sprintf("%s.allOf[%d]", path, i), pm, depth+1)
		if err != nil {
			return nil, err
		}
		for k, v := range pm {
			switch k {
			case "properties":
				props, _ := merged["properties"].(map[string]any)
				np := map[string]any{}
				for pk, pv := range props {
					np[pk] = pv
				}
				if add, ok := v.(map[string]any); ok {
					for pk, pv := range add {
						if _, exists := np[pk]; !exists {
							np[pk] = pv
						}
					}
				}
				merged["properties"] = np
			case "required":
				have, _ := merged["required"].([]any)
				if add, ok := v.([]any); ok {
					merged["required"] = append(append([]any{}, have...), add...)
				}
			default:
				if _, exists := merged[k]; !exists {
					merged[k] = v
				}
			}
		}
	}
	return merged, nil
}

// lookup finds a local reference: #/definitions/x, #/$defs/x or any JSON pointer into the document.
func (c *converter) lookup(path, ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#") {
		return nil, api.Invalidf("values.schema.json%s.$ref: Unsupported value: %q: only references within the file (#/...) are followed", path, ref)
	}
	var cur any = c.root
	for _, tok := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(ref, "#"), "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			cur = nil
			break
		}
		cur = m[tok]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, api.Invalidf("values.schema.json%s.$ref: Invalid value: %q: no such schema in the file", path, ref)
	}
	return m, nil
}

// uniqueValues drops repeated values (JSON Schema refuses an enum with two equal items).
func uniqueValues(vs []any) []any {
	seen := map[string]bool{}
	out := []any{}
	for _, v := range vs {
		b, _ := json.Marshal(v)
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, v)
		}
	}
	return out
}

// enumType is the one JSON type of every value of an enum (or const), "" if they differ or there are none.
func enumType(v any) string {
	list, _ := v.([]any)
	t := ""
	for _, x := range list {
		var xt string
		switch n := x.(type) {
		case string:
			xt = "string"
		case bool:
			xt = "boolean"
		case float64:
			xt = "number"
			if n == float64(int64(n)) {
				xt = "integer"
			}
		default:
			return ""
		}
		if t != "" && t != xt {
			if t == "integer" && xt == "number" || t == "number" && xt == "integer" {
				t = "number"
				continue
			}
			return ""
		}
		t = xt
	}
	return t
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
