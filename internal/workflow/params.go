package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
)

// schemaKeywords are the JSON Schema keywords that may hold an object at the top of a schema. A Relay
// parameter of that name whose value is empty reads as the keyword.
var schemaKeywords = map[string]bool{
	"properties": true, "$defs": true, "definitions": true, "patternProperties": true, "dependentSchemas": true,
	"additionalProperties": true, "items": true, "not": true, "if": true, "then": true, "else": true,
	"contains": true, "propertyNames": true, "unevaluatedProperties": true,
}

// ParametersSchema returns the JSON Schema that raw, a workflow's parameters, means. A JSON Schema is returned
// unchanged; Relay's map ({name: {description, default}}, a null value being a parameter with neither) and
// the list form of Relay's Workflow resource ([{name, description, default}]) become an object schema whose
// properties carry the descriptions and defaults, a parameter without a default being required.
func ParametersSchema(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return raw, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	params, ok := relayParameters(v)
	if !ok {
		return raw, nil
	}
	return json.Marshal(params)
}

// relayParameters turns Relay's parameter forms into a JSON Schema; ok is false for anything else.
func relayParameters(v any) (map[string]any, bool) {
	type param struct {
		name string
		body map[string]any
	}
	var ps []param
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return nil, false
		}
		for name, x := range v {
			body, ok := relayParam(x, false)
			if !ok || (len(body) == 0 && schemaKeywords[name]) {
				return nil, false
			}
			ps = append(ps, param{name, body})
		}
	case []any:
		for _, x := range v {
			body, ok := relayParam(x, true)
			name, isStr := body["name"].(string)
			if !ok || !isStr || name == "" {
				return nil, false
			}
			delete(body, "name")
			ps = append(ps, param{name, body})
		}
	default:
		return nil, false
	}
	props := map[string]any{}
	required := []any{}
	for _, p := range ps {
		props[p.name] = p.body
		if _, ok := p.body["default"]; !ok {
			required = append(required, p.name)
		}
	}
	slices.SortFunc(required, func(a, b any) int { return cmpString(a.(string), b.(string)) })
	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	return schema, true
}

// relayParam reads one parameter: null or an object of description and default (and name, in the list form).
func relayParam(x any, named bool) (map[string]any, bool) {
	if x == nil && !named {
		return map[string]any{}, true
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, false
	}
	out := map[string]any{}
	for k, v := range m {
		switch {
		case k == "description":
			if _, ok := v.(string); !ok {
				return nil, false
			}
		case k == "default", k == "name" && named:
		default:
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
