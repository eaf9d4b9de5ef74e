package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/runplane/runplane/api"
)

// A task's own OpenAPI document (GET /api/v1/tasks/{id}/openapi.json) describes how to run that one task: its
// two submit operations, taken from openapi.json with the task name in their paths, whose request body is the
// task's input schema. It is what a client generator or a form renderer needs for one task, and it is built from
// the main document so the two never disagree about answers.

// submitOps are the main document's operations a task document carries, by their path there.
var submitOps = []struct{ path, format string }{
	{"/api/v1/jobs/{id}", "/api/v1/jobs/%s"},
	{"/api/v1/tasks/{task}/run", "/api/v1/tasks/%s/run"},
}

// inputSchema names the task's input schema among the document's components.
const inputSchema = "TaskInput"

// taskDocBase is the part of every task document that does not depend on the task, as JSON.
var taskDocBase = sync.OnceValues(func() ([]byte, error) {
	var main map[string]any
	if err := json.Unmarshal(openAPIDoc, &main); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	paths, _ := main["paths"].(map[string]any)
	components, _ := main["components"].(map[string]any)
	ops := map[string]any{}
	for _, op := range submitOps {
		post, ok := dig(paths, op.path, "post").(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi.json: no POST %s", op.path)
		}
		post["parameters"] = withoutPathParams(post["parameters"], components)
		ops[op.path] = post
	}
	doc := map[string]any{
		"openapi":    main["openapi"],
		"servers":    main["servers"],
		"security":   main["security"],
		"tags":       []any{map[string]any{"name": "jobs", "description": "Run the task."}},
		"paths":      ops,
		"components": referenced(ops, components),
	}
	return json.Marshal(doc)
})

// taskOpenAPIDoc builds the OpenAPI 3.1 document of task t.
func taskOpenAPIDoc(t api.Task) ([]byte, error) {
	base, err := taskDocBase()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	input, dialect, err := inputSchemaOf(t.Schema)
	if err != nil {
		return nil, err
	}
	about := "The task's input schema, as stored, in JSON Schema 2020-12 (OpenAPI 3.1's own dialect)."
	switch {
	case len(t.Schema) == 0:
		about = "The task has no input schema: any JSON value is accepted."
	case dialect != "":
		about = fmt.Sprintf("The task's input schema, as stored: it is written in the JSON Schema dialect %s (its `$schema`), "+
			"embedded as-is, which OpenAPI 3.1 allows; tools that know only 2020-12 may read some of its keywords differently.", dialect)
	}
	about += " runplane validates each job's input against it (400 with the failing paths in `fields`); " +
		"`nullable: true` also admits null, as in OpenAPI 3.0."
	doc["info"] = map[string]any{
		"title":       "runplane task " + t.Name,
		"version":     "v1",
		"description": fmt.Sprintf("How to run the task %q: either operation submits a job. %s", t.Name, about),
	}
	ops := doc["paths"].(map[string]any)
	paths := map[string]any{}
	for _, op := range submitOps {
		post := ops[op.path].(map[string]any)
		body, _ := post["requestBody"].(map[string]any)
		if body == nil {
			body = map[string]any{"required": false}
			post["requestBody"] = body
		}
		body["description"] = about
		body["content"] = map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/" + inputSchema},
		}}
		paths[fmt.Sprintf(op.format, t.Name)] = map[string]any{"post": post}
	}
	doc["paths"] = paths
	components := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if schemas == nil {
		schemas = map[string]any{}
		components["schemas"] = schemas
	}
	schemas[inputSchema] = input
	return json.Marshal(doc)
}

func (h *Handler) taskOpenAPI(w http.ResponseWriter, r *http.Request) error {
	t, err := h.task(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	b, err := taskOpenAPIDoc(t)
	if err != nil {
		return fmt.Errorf("task %q: openapi document: %w", t.Name, err)
	}
	writeJSON(w, http.StatusOK, json.RawMessage(b))
	return nil
}

// inputSchemaOf decodes a task's stored schema for the document, with its internal references rewritten to
// point into the document (see rebaseRefs), and names its dialect when its `$schema` is not 2020-12's.
func inputSchemaOf(raw json.RawMessage) (schema any, dialect string, err error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return map[string]any{}, "", nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber() // 1e400 or a 20-digit integer stays as written
	if err := d.Decode(&schema); err != nil {
		return nil, "", fmt.Errorf("decode schema: %w", err)
	}
	obj, ok := schema.(map[string]any)
	if !ok {
		return schema, "", nil // true or false
	}
	if s, ok := obj["$schema"].(string); ok && !strings.Contains(s, "/draft/2020-12/") {
		dialect = s
	}
	rebaseRefs(schema, "#/components/schemas/"+inputSchema, strings.Contains(dialect, "draft-04"))
	return schema, dialect, nil
}

// rebaseRefs rewrites, in place, each `$ref` of the schema that points into the schema itself by a JSON Pointer
// ("#", "#/definitions/x") to point at the same place below base, where the schema sits in the OpenAPI
// document: embedded there, "#/..." would resolve against the document's root. Only schema positions are
// visited, so data (enum, const, default, examples) is never changed, and a (sub)schema with its own `$id`
// (`id` in draft 4) is left alone: its references resolve against that id, wherever it is embedded.
func rebaseRefs(s any, base string, draft4 bool) {
	obj, ok := s.(map[string]any)
	if !ok {
		return
	}
	if id, ok := obj["$id"].(string); ok && id != "" {
		return
	}
	if id, ok := obj["id"].(string); ok && draft4 && id != "" {
		return
	}
	if ref, ok := obj["$ref"].(string); ok && (ref == "#" || strings.HasPrefix(ref, "#/")) {
		obj["$ref"] = base + ref[1:]
	}
	for _, k := range []string{"properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"} {
		if m, ok := obj[k].(map[string]any); ok {
			for _, v := range m {
				rebaseRefs(v, base, draft4) // dependencies' string arrays are not schemas and stay as they are
			}
		}
	}
	for _, k := range []string{"items", "allOf", "anyOf", "oneOf", "prefixItems"} {
		if a, ok := obj[k].([]any); ok {
			for _, v := range a {
				rebaseRefs(v, base, draft4)
			}
		}
	}
	for _, k := range []string{"items", "additionalItems", "additionalProperties", "not", "if", "then", "else",
		"contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"} {
		rebaseRefs(obj[k], base, draft4)
	}
}

// withoutPathParams drops the path parameters from an operation's parameters: a task document's paths name the
// task.
func withoutPathParams(params any, components map[string]any) []any {
	list, _ := params.([]any)
	var kept []any
	for _, p := range list {
		m, _ := p.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			m, _ = dig(components, strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")...).(map[string]any)
		}
		if m["in"] != "path" {
			kept = append(kept, p)
		}
	}
	return kept
}

// referenced returns the components that v refers to, directly or through other components.
func referenced(v any, components map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				ref, ok := x.(string)
				if k != "$ref" || !ok || !strings.HasPrefix(ref, "#/components/") {
					walk(x)
					continue
				}
				kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
				section, _ := out[kind].(map[string]any)
				if section == nil {
					section = map[string]any{}
					out[kind] = section
				}
				if _, done := section[name]; done {
					continue
				}
				c := dig(components, kind, name)
				section[name] = c
				walk(c)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	if s, ok := components["securitySchemes"]; ok {
		out["securitySchemes"] = s // the global security names them
	}
	return out
}

// dig follows keys down nested JSON objects; nil when one is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
