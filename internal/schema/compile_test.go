package schema

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runplane/runplane/api"
)

// docCheck is one input and whether the compiled schema must accept it.
type docCheck struct {
	doc   string
	valid bool
}

// compileTests compile each schema and check documents against it. Each draft case uses a keyword whose
// meaning differs between drafts, so the case fails if `$schema` did not select the draft.
var compileTests = []struct {
	name   string
	schema string
	checks []docCheck
}{
	// Accept anything.
	{name: "empty", schema: "", checks: []docCheck{{`{}`, true}, {`[1]`, true}, {`"x"`, true}, {``, true}}},
	{name: "blank", schema: " \n\t", checks: []docCheck{{`{"a":1}`, true}}},
	{name: "null", schema: "null", checks: []docCheck{{`{"a":1}`, true}, {`null`, true}}},
	{name: "empty object", schema: " {} ", checks: []docCheck{{`{"a":1}`, true}, {`5`, true}}},
	{name: "true", schema: "true", checks: []docCheck{{`{"a":1}`, true}}},
	{name: "false", schema: "false", checks: []docCheck{{`{}`, false}, {`null`, false}}},

	// Drafts.
	{name: "draft-04 boolean exclusiveMinimum", schema: `{"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 5, "exclusiveMinimum": true}`,
		checks: []docCheck{{`5`, false}, {`6`, true}}},
	{name: "draft-04 without fragment", schema: `{"$schema": "http://json-schema.org/draft-04/schema", "minimum": 5, "exclusiveMinimum": true}`,
		checks: []docCheck{{`5`, false}}},
	{name: "draft-06 numeric exclusiveMinimum", schema: `{"$schema": "http://json-schema.org/draft-06/schema#", "exclusiveMinimum": 5}`,
		checks: []docCheck{{`5`, false}, {`5.5`, true}}},
	{name: "draft-07 if then", schema: `{"$schema": "http://json-schema.org/draft-07/schema#", "if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["x"]}}`,
		checks: []docCheck{{`{"kind": "a"}`, false}, {`{"kind": "a", "x": 1}`, true}, {`{"kind": "b"}`, true}}},
	{name: "draft-06 ignores if", schema: `{"$schema": "http://json-schema.org/draft-06/schema#", "if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["x"]}}`,
		checks: []docCheck{{`{"kind": "a"}`, true}}},
	{name: "draft 2019-09 dependentRequired", schema: `{"$schema": "https://json-schema.org/draft/2019-09/schema", "dependentRequired": {"a": ["b"]}}`,
		checks: []docCheck{{`{"a": 1}`, false}, {`{"a": 1, "b": 2}`, true}, {`{}`, true}}},
	{name: "draft-07 ignores dependentRequired", schema: `{"$schema": "http://json-schema.org/draft-07/schema#", "dependentRequired": {"a": ["b"]}}`,
		checks: []docCheck{{`{"a": 1}`, true}}},
	{name: "draft 2020-12 prefixItems", schema: `{"$schema": "https://json-schema.org/draft/2020-12/schema", "prefixItems": [{"type": "string"}]}`,
		checks: []docCheck{{`[1]`, false}, {`["a", 1]`, true}}},
	{name: "draft 2019-09 ignores prefixItems", schema: `{"$schema": "https://json-schema.org/draft/2019-09/schema", "prefixItems": [{"type": "string"}]}`,
		checks: []docCheck{{`[1]`, true}}},
	{name: "default draft is 2020-12", schema: `{"prefixItems": [{"type": "string"}]}`,
		checks: []docCheck{{`[1]`, false}, {`["a"]`, true}}},
	{name: "local $ref to definitions", schema: `{"definitions": {"port": {"type": "integer", "maximum": 65535}}, "properties": {"p": {"$ref": "#/definitions/port"}}}`,
		checks: []docCheck{{`{"p": 80}`, true}, {`{"p": 70000}`, false}}},
	{name: "$ref to embedded meta-schema", schema: `{"$ref": "http://json-schema.org/draft-07/schema#"}`,
		checks: []docCheck{{`{"type": "string"}`, true}, {`{"type": 5}`, false}}},
	{name: "recursive $ref", schema: `{"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": false}`,
		checks: []docCheck{{`{"child": {"child": {}}}`, true}, {`{"child": {"x": 1}}`, false}}},

	// Kriten-style OpenAPI v2 schema objects.
	{name: "kriten example", schema: `{"type":"object","required":["a"],"properties":{"a":{"type":"string","x-nullable":true}}}`,
		checks: []docCheck{{`{"a": "x"}`, true}, {`{"a": null}`, true}, {`{}`, false}, {`{"a": 1}`, false}}},
	{name: "openapi keywords ignored", schema: `{"type": "object", "discriminator": "kind", "example": {"kind": "x"}, "x-go-name": "Input",
		"externalDocs": {"url": "https://example.com"}, "xml": {"name": "input"}, "x-extra": {"nested": [1, {"type": 5}]},
		"properties": {"kind": {"type": "string", "readOnly": true, "example": 5, "x-order": 1}, "secret": {"type": "string", "format": "password", "writeOnly": true}}}`,
		checks: []docCheck{{`{"kind": "a", "secret": "s"}`, true}, {`{"kind": 1}`, false}}},
	{name: "nullable", schema: `{"type": "object", "properties": {"n": {"type": "integer", "nullable": true}}}`,
		checks: []docCheck{{`{"n": null}`, true}, {`{"n": 1}`, true}, {`{"n": "1"}`, false}}},
	{name: "nullable false", schema: `{"type": "object", "properties": {"n": {"type": "integer", "nullable": false}}}`,
		checks: []docCheck{{`{"n": null}`, false}}},
	{name: "nullable type list", schema: `{"type": ["integer", "string"], "x-nullable": true}`,
		checks: []docCheck{{`null`, true}, {`"a"`, true}, {`true`, false}}},
	{name: "nullable in items and combinators", schema: `{"type": "array", "items": {"anyOf": [{"type": "integer", "nullable": true}]}}`,
		checks: []docCheck{{`[1, null]`, true}, {`["a"]`, false}}},
	{name: "nullable in definitions", schema: `{"definitions": {"d": {"type": "string", "x-nullable": true}}, "$ref": "#/definitions/d"}`,
		checks: []docCheck{{`null`, true}, {`1`, false}}},
	// As in OpenAPI 3.0.3, an enum must list null itself.
	{name: "nullable enum", schema: `{"type": "string", "enum": ["a"], "nullable": true}`,
		checks: []docCheck{{`"a"`, true}, {`null`, false}}},
	{name: "nullable in enum data untouched", schema: `{"enum": [{"type": "string", "nullable": true}]}`,
		checks: []docCheck{{`{"type": "string", "nullable": true}`, true}, {`{"type": ["string", "null"], "nullable": true}`, false}}},
	{name: "openapi int formats ignored", schema: `{"type": "integer", "format": "int32"}`,
		checks: []docCheck{{`5000000000`, true}}},

	// format is asserted in every draft.
	{name: "format email asserted by default", schema: `{"type": "string", "format": "email"}`,
		checks: []docCheck{{`"a@example.com"`, true}, {`"not an email"`, false}}},
	{name: "format asserted in 2019-09", schema: `{"$schema": "https://json-schema.org/draft/2019-09/schema", "format": "uuid"}`,
		checks: []docCheck{{`"123e4567-e89b-12d3-a456-426614174000"`, true}, {`"x"`, false}}},
	{name: "format date-time", schema: `{"format": "date-time"}`,
		checks: []docCheck{{`"2026-11-21T10:00:00Z"`, true}, {`"yesterday"`, false}, {`5`, true}}},
	{name: "unknown format ignored", schema: `{"format": "no-such-format"}`, checks: []docCheck{{`"x"`, true}}},
}

func TestCompile(t *testing.T) {
	for _, tt := range compileTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile([]byte(tt.schema))
			if err != nil {
				t.Fatalf("Compile(%q) = %v, want no error", tt.schema, err)
			}
			for _, c := range tt.checks {
				err := s.Validate([]byte(c.doc))
				if got := err == nil; got != c.valid {
					t.Errorf("Compile(%q).Validate(%q) = %v, want valid %v", tt.schema, c.doc, err, c.valid)
				}
				var ie *api.InvalidError
				if err != nil && !errors.As(err, &ie) {
					t.Errorf("Compile(%q).Validate(%q) = %T, want *api.InvalidError", tt.schema, c.doc, err)
				}
			}
		})
	}
}

func TestCompileInvalid(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"not JSON", `{"type":`, "schema is not valid JSON: unexpected EOF"},
		{"trailing data", `{} {}`, "schema is not valid JSON: invalid character after top-level value"},
		{"number", `5`, "schema is not a valid JSON Schema: at /: got number, want boolean or object"},
		{"array", `[]`, "schema is not a valid JSON Schema: at /: got array, want boolean or object"},
		{"type number", `{"type": 5}`, "schema is not a valid JSON Schema: at /type: got number, want array; " +
			"at /type: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'"},
		{"openapi file type", `{"type": "file"}`, "schema is not a valid JSON Schema: at /type: got string, want array; " +
			"at /type: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'"},
		{"properties array", `{"properties": []}`, "schema is not a valid JSON Schema: at /properties: got array, want object"},
		{"nested", `{"properties": {"a": {"properties": {"b": {"minLength": -1}}}}}`,
			"schema is not a valid JSON Schema: at /properties/a/properties/b/minLength: minimum: got -1, want 0"},
		{"required string", `{"required": "a"}`, "schema is not a valid JSON Schema: at /required: got string, want array"},
		{"draft-04 keyword in 2020-12", `{"exclusiveMinimum": true}`, "schema is not a valid JSON Schema: at /exclusiveMinimum: got boolean, want number"},
		{"draft-04 empty required", `{"$schema": "http://json-schema.org/draft-04/schema#", "required": []}`,
			"schema is not a valid JSON Schema: at /required: minItems: got 0, want 1"},
		{"bad regex", `{"pattern": "("}`, "schema is not a valid JSON Schema: at /pattern: '(' is not valid regex: error parsing regexp: missing closing ): `(`"},
		{"lookahead regex", `{"pattern": "(?=a)"}`, "schema is not a valid JSON Schema: at /pattern: '(?=a)' is not valid regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
		{"dangling pointer", `{"$ref": "#/definitions/nope"}`, `schema is not a valid JSON Schema: json-pointer in "#/definitions/nope" not found`},
		{"remote $ref", `{"$ref": "http://example.com/x"}`,
			`schema is not a valid JSON Schema: cannot load "http://example.com/x": external references are not allowed: a task schema must be self-contained`},
		{"file $ref", `{"$ref": "file:///etc/passwd"}`,
			`schema is not a valid JSON Schema: cannot load "file:///etc/passwd": external references are not allowed: a task schema must be self-contained`},
		{"relative $ref", `{"$ref": "other.json"}`,
			`schema is not a valid JSON Schema: cannot load "other.json": external references are not allowed: a task schema must be self-contained`},
		{"unknown $schema", `{"$schema": "http://swagger.io/v2/schema.json#"}`,
			`schema is not a valid JSON Schema: cannot load "http://swagger.io/v2/schema.json": external references are not allowed: a task schema must be self-contained`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile([]byte(tt.schema))
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Compile(%q) = %v, %v, want *api.InvalidError", tt.schema, s, err)
			}
			if ie.Msg != tt.want {
				t.Errorf("Compile(%q) = %q, want %q", tt.schema, ie.Msg, tt.want)
			}
		})
	}
}

// TestCompileNoIO pins that references outside the schema are refused without being fetched or read.
func TestCompileNoIO(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/schema+json")
		w.Write([]byte(`{"type": "string"}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`{"type": "string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fileURL := "file://" + filepath.ToSlash(file)

	for _, schema := range []string{
		`{"$ref": "` + srv.URL + `/s.json"}`,
		`{"$schema": "` + srv.URL + `/meta.json"}`,
		`{"$id": "` + srv.URL + `/root.json", "$ref": "s.json"}`,
		`{"properties": {"a": {"$ref": "` + srv.URL + `/s.json#/x"}}}`,
		`{"$ref": "` + fileURL + `"}`,
		`{"$ref": "` + file + `"}`,
		`{"$id": "file:///", "$ref": "` + strings.TrimPrefix(file, "/") + `"}`,
	} {
		_, err := Compile([]byte(schema))
		var ie *api.InvalidError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "external references are not allowed") {
			t.Errorf("Compile(%q) = %v, want *api.InvalidError refusing the external reference", schema, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("Compile made %d HTTP requests, want 0", n)
	}
}
