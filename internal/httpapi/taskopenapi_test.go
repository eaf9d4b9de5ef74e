package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/schema"
)

func TestTaskOpenAPIDoc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		schema  string
		want    string   // the document's TaskInput schema, as JSON
		dialect string   // a text the request body's description must hold
		resolve []string // references that must resolve in the document
	}{
		{name: "no schema", schema: "", want: `{}`, dialect: "no input schema"},
		{name: "2020-12 by default", schema: `{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`,
			want: `{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`, dialect: "JSON Schema 2020-12"},
		{name: "internal refs point into the document",
			schema: `{"$defs":{"p":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/p"},"b":{"items":{"$ref":"#"}}}}`,
			want: `{"$defs":{"p":{"type":"string"}},"properties":{"a":{"$ref":"#/components/schemas/TaskInput/$defs/p"},` +
				`"b":{"items":{"$ref":"#/components/schemas/TaskInput"}}}}`,
			resolve: []string{"#/components/schemas/TaskInput/$defs/p", "#/components/schemas/TaskInput"}},
		{name: "data is not rewritten",
			schema: `{"const":{"$ref":"#/x"},"enum":[{"$ref":"#"}],"default":{"$ref":"#/y"},"properties":{"$ref":{"type":"string"}}}`,
			want:   `{"const":{"$ref":"#/x"},"enum":[{"$ref":"#"}],"default":{"$ref":"#/y"},"properties":{"$ref":{"type":"string"}}}`},
		{name: "a schema with its own $id keeps its refs",
			schema: `{"$id":"urn:example:input","$defs":{"p":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/p"}}}`,
			want:   `{"$id":"urn:example:input","$defs":{"p":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/p"}}}`},
		{name: "draft-07 embedded as-is and named",
			schema: `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"p":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/p"}}}`,
			want: `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"p":{"type":"string"}},` +
				`"properties":{"a":{"$ref":"#/components/schemas/TaskInput/definitions/p"}}}`,
			dialect: "http://json-schema.org/draft-07/schema#", resolve: []string{"#/components/schemas/TaskInput/definitions/p"}},
		{name: "large numbers stay as written", schema: `{"maximum":123456789012345678901234567890}`, want: `{"maximum":123456789012345678901234567890}`},
		{name: "boolean schema", schema: `false`, want: `false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := taskOpenAPIDoc(api.Task{Name: "hello", Schema: json.RawMessage(tt.schema)})
			if err != nil {
				t.Fatalf("taskOpenAPIDoc: %v", err)
			}
			doc, _ := canonical(t, string(b)).(map[string]any)
			got, _ := json.Marshal(dig(doc, "components", "schemas", "TaskInput"))
			if diff := cmp.Diff(canonical(t, tt.want), canonical(t, string(got))); diff != "" {
				t.Errorf("TaskInput (-want +got):\n%s", diff)
			}
			for _, ref := range tt.resolve {
				if !resolves(doc, ref) {
					t.Errorf("$ref %q does not resolve in the document", ref)
				}
			}
			// The task's schema is its author's: what is lint-checked is the rest of the document.
			doc["components"].(map[string]any)["schemas"].(map[string]any)["TaskInput"] = map[string]any{}
			for _, p := range lintOpenAPI(doc) {
				t.Error(p)
			}
			paths, _ := doc["paths"].(map[string]any)
			if diff := cmp.Diff([]string{"/api/v1/jobs/hello", "/api/v1/tasks/hello/run"}, sortedKeys(paths)); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			for path := range paths {
				post, _ := dig(paths, path, "post").(map[string]any)
				if ref := dig(post, "requestBody", "content", "application/json", "schema", "$ref"); ref != "#/components/schemas/TaskInput" {
					t.Errorf("POST %s: request body schema = %v, want the task's", path, ref)
				}
				if d, _ := dig(post, "requestBody", "description").(string); !strings.Contains(d, tt.dialect) {
					t.Errorf("POST %s: request body description %q, want it to say %q", path, d, tt.dialect)
				}
				responses, _ := post["responses"].(map[string]any)
				for _, code := range []string{"200", "202", "400", "401", "403", "404", "409", "413", "429"} {
					if responses[code] == nil {
						t.Errorf("POST %s: no %s response", path, code)
					}
				}
				if dig(responses, "202", "headers", "Location") == nil || dig(responses, "200", "headers", "Location") == nil {
					t.Errorf("POST %s: answers without Location", path)
				}
			}
			for _, name := range []string{"Job", "JobCreated", "Error", "FieldError"} {
				if dig(doc, "components", "schemas", name) == nil {
					t.Errorf("components.schemas.%s missing", name)
				}
			}
			if dig(doc, "components", "schemas", "User") != nil {
				t.Errorf("components carry schemas the operations do not use")
			}
		})
	}
}

func canonical(t *testing.T, s string) any {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// FuzzTaskOpenAPIDoc checks that any schema a task may hold gives a document that is JSON, whose internal
// references all resolve, and whose input schema is the task's with only its references rebased.
func FuzzTaskOpenAPIDoc(f *testing.F) {
	for _, s := range []string{``, `{}`, `true`, `{"$ref":"#"}`, `{"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`,
		`{"items":[{"$ref":"#/items/1"},{"type":"string"}]}`, `{"$id":"urn:x","$ref":"#/$defs/y","$defs":{"y":{}}}`,
		`{"properties":{"a~b":{"type":"string"},"c":{"$ref":"#/properties/a~0b"}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := schema.Compile([]byte(raw)); err != nil {
			return // the API refuses it: no task holds it
		}
		b, err := taskOpenAPIDoc(api.Task{Name: "t", Schema: json.RawMessage(raw)})
		if err != nil {
			t.Fatalf("taskOpenAPIDoc(%q): %v", raw, err)
		}
		if !json.Valid(b) {
			t.Fatalf("taskOpenAPIDoc(%q) is not JSON: %s", raw, b)
		}
		doc, _ := canonical(t, string(b)).(map[string]any)
		in, _ := json.Marshal(dig(doc, "components", "schemas", "TaskInput"))
		undone := strings.ReplaceAll(string(in), `"#/components/schemas/TaskInput`, `"#`)
		if strings.TrimSpace(raw) == "" || strings.TrimSpace(raw) == "null" {
			raw = "{}"
		}
		if diff := cmp.Diff(canonical(t, raw), canonical(t, undone)); diff != "" {
			t.Errorf("TaskInput of %q, with its references undone (-task +document):\n%s", raw, diff)
		}
		doc["components"].(map[string]any)["schemas"].(map[string]any)["TaskInput"] = map[string]any{}
		walkRefs(doc, func(ref string) {
			if !resolves(doc, ref) {
				t.Errorf("$ref %q outside the input schema does not resolve", ref)
			}
		})
	})
}
