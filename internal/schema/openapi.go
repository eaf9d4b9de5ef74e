package schema

// openAPINullable rewrites OpenAPI's `nullable: true` (OpenAPI 3.0, honoured by Kriten's validator) and
// `x-nullable: true` (the OpenAPI 2 extension) into standard JSON Schema: "null" joins the schema's `type`.
// As in OpenAPI 3.0.3, an `enum` must still list null itself. Only schema positions are visited, so data
// such as `enum`, `const`, `default` and `example` values is never changed. doc is modified in place.
func openAPINullable(doc any) any {
	obj, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	if obj["nullable"] == true || obj["x-nullable"] == true {
		switch t := obj["type"].(type) {
		case string:
			if t != "null" {
				obj["type"] = []any{t, "null"}
			}
		case []any:
			if !containsNull(t) {
				obj["type"] = append(t, "null")
			}
		}
	}
	for _, k := range []string{"properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"} {
		if m, ok := obj[k].(map[string]any); ok {
			for _, v := range m {
				openAPINullable(v) // dependencies' string arrays are left as they are
			}
		}
	}
	for _, k := range []string{"items", "allOf", "anyOf", "oneOf", "prefixItems"} {
		if a, ok := obj[k].([]any); ok {
			for _, v := range a {
				openAPINullable(v)
			}
		}
	}
	for _, k := range []string{"items", "additionalItems", "additionalProperties", "not", "if", "then", "else",
		"contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"} {
		openAPINullable(obj[k])
	}
	return doc
}

func containsNull(types []any) bool {
	for _, t := range types {
		if t == "null" {
			return true
		}
	}
	return false
}
