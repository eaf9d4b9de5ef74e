package schema

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func fe(path, msg string) api.FieldError { return api.FieldError{Path: path, Message: msg} }

const deploySchema = `{
	"type": "object",
	"required": ["name", "count"],
	"additionalProperties": false,
	"properties": {
		"name": {"type": "string", "minLength": 1},
		"count": {"type": "integer", "minimum": 0},
		"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
		"target": {
			"type": "object",
			"required": ["host"],
			"properties": {
				"host": {"type": "string", "format": "hostname"},
				"port": {"type": "integer", "maximum": 65535}
			}
		},
		"mode": {"enum": ["fast", "safe"]},
		"a/b~c": {"type": "string"},
		"note": {"type": "string", "x-nullable": true}
	}
}`

func TestValidate(t *testing.T) {
	s, err := Compile([]byte(deploySchema))
	if err != nil {
		t.Fatalf("Compile(deploySchema) = %v", err)
	}
	tests := []struct {
		name string
		doc  string
		want *api.InvalidError // nil: valid
	}{
		{name: "valid", doc: `{"name": "web", "count": 2, "tags": ["a"], "target": {"host": "example.com", "port": 443}, "mode": "fast", "note": null}`},
		{name: "integer written as float", doc: `{"name": "web", "count": 2.0}`},
		{name: "empty doc is {}", doc: ``, want: &api.InvalidError{
			Msg:    `input does not match the task schema: at /: missing property "count"; at /: missing property "name"`,
			Fields: []api.FieldError{fe("/", `missing property "count"`), fe("/", `missing property "name"`)},
		}},
		{name: "blank doc is {}", doc: " \r\n\t", want: &api.InvalidError{
			Msg:    `input does not match the task schema: at /: missing property "count"; at /: missing property "name"`,
			Fields: []api.FieldError{fe("/", `missing property "count"`), fe("/", `missing property "name"`)},
		}},
		{name: "null doc", doc: `null`, want: &api.InvalidError{
			Msg:    "input does not match the task schema: at /: got null, want object",
			Fields: []api.FieldError{fe("/", "got null, want object")},
		}},
		{name: "array doc", doc: `[]`, want: &api.InvalidError{
			Msg:    "input does not match the task schema: at /: got array, want object",
			Fields: []api.FieldError{fe("/", "got array, want object")},
		}},
		{name: "invalid JSON", doc: `{"name": `, want: &api.InvalidError{Msg: "input is not valid JSON: unexpected EOF"}},
		{name: "trailing data", doc: `{} x`, want: &api.InvalidError{Msg: "input is not valid JSON: invalid character after top-level value"}},
		{name: "nested path", doc: `{"name": "web", "count": 1, "target": {"host": "example.com", "port": 70000}}`, want: &api.InvalidError{
			Msg:    "input does not match the task schema: at /target/port: maximum: got 70000, want 65535",
			Fields: []api.FieldError{fe("/target/port", "maximum: got 70000, want 65535")},
		}},
		{name: "array index path", doc: `{"name": "web", "count": 1, "tags": ["a", 7]}`, want: &api.InvalidError{
			Msg:    "input does not match the task schema: at /tags/1: got number, want string",
			Fields: []api.FieldError{fe("/tags/1", "got number, want string")},
		}},
		{name: "escaped pointer", doc: `{"name": "web", "count": 1, "a/b~c": 1}`, want: &api.InvalidError{
			Msg:    "input does not match the task schema: at /a~1b~0c: got number, want string",
			Fields: []api.FieldError{fe("/a~1b~0c", "got number, want string")},
		}},
		{name: "multiple errors sorted", doc: `{"name": "", "count": -1, "tags": ["a", 1, "c", "d"], "target": {"host": "bad host!"}, "mode": "slow", "note": 5, "extra": true, "more": 1}`,
			want: &api.InvalidError{
				Msg: `input does not match the task schema: at /: additional property "extra" not allowed; ` +
					`at /: additional property "more" not allowed; at /count: minimum: got -1, want 0 (and 6 more)`,
				Fields: []api.FieldError{
					fe("/", `additional property "extra" not allowed`),
					fe("/", `additional property "more" not allowed`),
					fe("/count", "minimum: got -1, want 0"),
					fe("/mode", "value must be one of 'fast', 'safe'"),
					fe("/name", "minLength: got 0, want 1"),
					fe("/note", "got number, want null or string"),
					fe("/tags", "maxItems: got 4, want 3"),
					fe("/tags/1", "got number, want string"),
					fe("/target/host", "'bad host!' is not valid hostname: invalid character ' '"),
				},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := s.Validate([]byte(tt.doc))
			if tt.want == nil {
				if err != nil {
					t.Errorf("Validate(%q) = %v, want nil", tt.doc, err)
				}
				return
			}
			var got *api.InvalidError
			if !errors.As(err, &got) {
				t.Fatalf("Validate(%q) = %v, want *api.InvalidError", tt.doc, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate(%q) mismatch (-want +got):\n%s", tt.doc, diff)
			}
		})
	}
}

func TestValidateCombinators(t *testing.T) {
	tests := []struct {
		name, schema, doc string
		want              []api.FieldError
	}{
		{"anyOf lists every branch", `{"anyOf": [{"type": "string"}, {"type": "integer"}]}`, `true`,
			[]api.FieldError{fe("/", "got boolean, want integer"), fe("/", "got boolean, want string")}},
		{"oneOf both match", `{"oneOf": [{"type": "integer"}, {"minimum": 0}]}`, `1`,
			[]api.FieldError{fe("/", "'oneOf' failed, subschemas 0 and 1 matched")}},
		{"allOf through $ref", `{"$defs": {"pos": {"minimum": 1}}, "properties": {"n": {"allOf": [{"$ref": "#/$defs/pos"}, {"multipleOf": 2}]}}}`, `{"n": -1}`,
			[]api.FieldError{fe("/n", "minimum: got -1, want 1"), fe("/n", "multipleOf: got -1, want 2")}},
		{"false subschema", `{"properties": {"x": false}}`, `{"x": 1}`,
			[]api.FieldError{fe("/x", "value not allowed")}},
		{"propertyNames", `{"propertyNames": {"pattern": "^[a-z]+$"}}`, `{"ok": 1, "Bad": 2}`,
			[]api.FieldError{fe("/", `invalid property name "Bad"`)}},
		{"dependentRequired", `{"dependentRequired": {"a": ["b", "c"]}}`, `{"a": 1}`,
			[]api.FieldError{fe("/", "properties 'b', 'c' required, if 'a' exists")}},
		{"uniqueItems", `{"uniqueItems": true}`, `[1, 2, 1]`,
			[]api.FieldError{fe("/", "items at 0 and 2 are equal")}},
		{"duplicate leaves merged", `{"anyOf": [{"required": ["a"]}, {"required": ["a"]}]}`, `{}`,
			[]api.FieldError{fe("/", `missing property "a"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile([]byte(tt.schema))
			if err != nil {
				t.Fatalf("Compile(%q) = %v", tt.schema, err)
			}
			var got *api.InvalidError
			if err := s.Validate([]byte(tt.doc)); !errors.As(err, &got) {
				t.Fatalf("Validate(%q) = %v, want *api.InvalidError", tt.doc, err)
			}
			if diff := cmp.Diff(tt.want, got.Fields); diff != "" {
				t.Errorf("Validate(%q) fields mismatch (-want +got):\n%s", tt.doc, diff)
			}
		})
	}
}

// TestValidateNumbers pins that numbers are compared exactly, not through float64.
func TestValidateNumbers(t *testing.T) {
	tests := []struct {
		schema, doc string
		want        []api.FieldError // nil: valid
	}{
		{`{"type": "integer", "maximum": 9007199254740993}`, `9007199254740993`, nil},
		{`{"type": "integer", "maximum": 9007199254740993}`, `9007199254740994`,
			[]api.FieldError{fe("/", "maximum: got 9007199254740994, want 9007199254740993")}},
		{`{"const": 12345678901234567890}`, `12345678901234567890`, nil},
		{`{"const": 12345678901234567890}`, `12345678901234567891`, []api.FieldError{fe("/", "value must be 12345678901234567890")}},
		{`{"multipleOf": 0.1}`, `0.3`, nil},
		{`{"multipleOf": 0.1}`, `0.35`, []api.FieldError{fe("/", "multipleOf: got 0.35, want 0.1")}},
		{`{"type": "integer"}`, `1e400`, nil},
		{`{"minimum": 1.5}`, `1.25`, []api.FieldError{fe("/", "minimum: got 1.25, want 1.5")}},
	}
	for _, tt := range tests {
		s, err := Compile([]byte(tt.schema))
		if err != nil {
			t.Fatalf("Compile(%q) = %v", tt.schema, err)
		}
		err = s.Validate([]byte(tt.doc))
		var got []api.FieldError
		if ie := (*api.InvalidError)(nil); errors.As(err, &ie) {
			got = ie.Fields
		} else if err != nil {
			t.Fatalf("Compile(%q).Validate(%q) = %v, want nil or *api.InvalidError", tt.schema, tt.doc, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Compile(%q).Validate(%q) fields mismatch (-want +got):\n%s", tt.schema, tt.doc, diff)
		}
	}
}

func TestNilSchemaAcceptsJSON(t *testing.T) {
	for _, s := range []*Schema{nil, {}} {
		if err := s.Validate([]byte(`{"a": 1}`)); err != nil {
			t.Errorf("(%v).Validate(object) = %v, want nil", s, err)
		}
		var ie *api.InvalidError
		if err := s.Validate([]byte(`{`)); !errors.As(err, &ie) {
			t.Errorf("(%v).Validate(%q) = %v, want *api.InvalidError", s, "{", err)
		}
	}
}

func TestValidateConcurrent(t *testing.T) {
	s, err := Compile([]byte(deploySchema))
	if err != nil {
		t.Fatalf("Compile(deploySchema) = %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				good := fmt.Appendf(nil, `{"name": "w%d", "count": %d}`, g, i)
				if err := s.Validate(good); err != nil {
					errs <- fmt.Errorf("Validate(%s) = %v, want nil", good, err)
					return
				}
				bad := fmt.Appendf(nil, `{"name": "w%d", "count": -%d}`, g, i+1)
				var ie *api.InvalidError
				if err := s.Validate(bad); !errors.As(err, &ie) || len(ie.Fields) != 1 || ie.Fields[0].Path != "/count" {
					errs <- fmt.Errorf("Validate(%s) = %v, want one error at /count", bad, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzCompileValidate(f *testing.F) {
	for _, tt := range compileTests {
		for _, c := range tt.checks {
			f.Add([]byte(tt.schema), []byte(c.doc))
		}
	}
	f.Add([]byte(deploySchema), []byte(`{"name": "", "count": -1, "tags": ["a", 1], "extra": 1}`))
	f.Add([]byte(`{"type": 5}`), []byte(`{}`))
	f.Add([]byte(`{"$ref": "http://example.com/x"}`), []byte(`1`))
	f.Add([]byte(`{"$id": "http://a/b", "$defs": {"x": {"$id": "c", "$anchor": "d"}}, "$ref": "c#d"}`), []byte(`1`))
	f.Add([]byte(`{"$dynamicAnchor": "n", "$dynamicRef": "#n", "items": {"$dynamicRef": "#n"}}`), []byte(`[[[]]]`))
	f.Fuzz(func(t *testing.T, schema, doc []byte) {
		var ie *api.InvalidError
		s, err := Compile(schema)
		if err != nil {
			if !errors.As(err, &ie) {
				t.Fatalf("Compile(%q) = %T %v, want *api.InvalidError", schema, err, err)
			}
			return
		}
		if err := s.Validate(doc); err != nil && !errors.As(err, &ie) {
			t.Fatalf("Compile(%q).Validate(%q) = %T %v, want *api.InvalidError", schema, doc, err, err)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	s, err := Compile([]byte(deploySchema))
	if err != nil {
		b.Fatalf("Compile(deploySchema) = %v", err)
	}
	docs := []struct{ name, doc string }{
		{"valid", `{"name": "web", "count": 2, "tags": ["a", "b"], "target": {"host": "example.com", "port": 443}, "mode": "fast"}`},
		{"invalid", `{"name": "", "count": -1, "tags": ["a", 1], "target": {"port": 70000}, "extra": 1}`},
	}
	for _, d := range docs {
		b.Run(d.name, func(b *testing.B) {
			doc := []byte(d.doc)
			b.ReportAllocs()
			for b.Loop() {
				s.Validate(doc)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	raw := []byte(deploySchema)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(raw); err != nil {
			b.Fatal(err)
		}
	}
}
