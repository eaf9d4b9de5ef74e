package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runplane/runplane/api"
)

// bomb is the schema of issue 11: levels of $defs, each an anyOf of two $refs to the next, so validating one
// value walks 2^levels paths. extra is merged into the root.
func bomb(levels int, extra string) string {
	var b strings.Builder
	b.WriteString(`{"$defs": {`)
	for i := range levels {
		fmt.Fprintf(&b, `"d%d": {"anyOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d", "required": ["x"]}]}, `, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `"d%d": {"type": "object", "required": ["never"]}}`, levels)
	if extra == "" {
		extra = `"$ref": "#/$defs/d0"`
	}
	b.WriteString(", " + extra + "}")
	return b.String()
}

// nested is depth levels of {"child": ...} around a leaf.
func nested(depth int, leaf string) string {
	return strings.Repeat(`{"child": `, depth) + leaf + strings.Repeat(`}`, depth)
}

func TestCompileCost(t *testing.T) {
	many, bools := make([]string, maxNodes), make([]string, maxNodes+1)
	for i := range many {
		many[i] = fmt.Sprintf(`"p%d": {"type": "string"}`, i)
	}
	for i := range bools {
		bools[i] = fmt.Sprintf(`"p%d": true`, i)
	}
	tests := []struct {
		name, schema string
		want         string // substring of the refusal; "" accepts
	}{
		{"bomb from issue 11", bomb(22, ""), "schema is not allowed: schema is too expensive to evaluate: one value at the top of the input may need over 10000 subschema evaluations"},
		{"bomb just over the limit", bomb(11, ""), "too expensive"},
		{"bomb under the limit", bomb(10, ""), ""},
		{"unreferenced bomb", bomb(22, `"type": "object"`), ""}, // never evaluated
		{"self $ref", `{"$defs": {"a": {"$ref": "#/$defs/a"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}`,
			"schema is not allowed: $ref cycle that never descends into the input: #/$defs/a -> #/$defs/a"},
		{"unreferenced self $ref", `{"$defs": {"a": {"$ref": "#/$defs/a"}}}`, "$ref cycle"},
		{"root self $ref", `{"$ref": "#"}`, "$ref cycle that never descends into the input: # -> #"},
		{"cycle through allOf", `{"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`,
			"$ref cycle that never descends into the input: #/$defs/a -> #/$defs/a/allOf/0 -> #/$defs/b -> #/$defs/a"},
		{"cycle with an escape", `{"$defs": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}`, "$ref cycle"},
		{"cycle through not", `{"not": {"$ref": "#"}}`, "$ref cycle"},
		{"cycle through if", `{"if": {"$ref": "#"}}`, "$ref cycle"},
		{"cycle through dependentSchemas", `{"dependentSchemas": {"a": {"$ref": "#"}}}`, "$ref cycle"},
		{"draft-07 definitions cycle", `{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"a": {"$ref": "#/definitions/a"}}}`, "$ref cycle"},
		{"exponential through properties", `{"allOf": [{"properties": {"x": {"$ref": "#"}}}, {"properties": {"x": {"$ref": "#"}}}]}`,
			"levels deep in the input may need over 10000"},
		{"too many subschemas", `{"properties": {` + strings.Join(many, ", ") + `}}`, "schema is not allowed: schema has more than 5000 subschemas"},
		{"too many booleans", `{"properties": {` + strings.Join(bools, ", ") + `}}`, "schema has more than 5000 subschemas"},
		{"too many schemas after $ref", `{"$ref": "https://json-schema.org/draft/2020-12/schema", "x": {"allOf": [` +
			strings.Repeat(`{"type": "string"}, `, maxNodes-20) + `true]}, "anyOf": [{"$ref": "#/x"}]}`, "schema has more than 5000 subschemas"},

		{"recursive tree", `{"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
			"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}, "$ref": "#/$defs/node"}`, ""},
		{"recursive root", `{"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": {"$ref": "#"}}`, ""},
		{"recursive through allOf of distinct kinds", `{"anyOf": [{"type": "object", "additionalProperties": {"$ref": "#"}}, {"type": "array", "items": {"$ref": "#"}}, {"type": "string"}]}`, ""},
		{"dynamic tree", `{"$dynamicAnchor": "node", "type": "object", "properties": {"kids": {"type": "array", "items": {"$dynamicRef": "#node"}}}}`, ""},
		{"draft-07 meta-schema", `{"$ref": "http://json-schema.org/draft-07/schema#"}`, ""},
		{"draft-04 meta-schema", `{"$ref": "http://json-schema.org/draft-04/schema#"}`, ""},
		{"draft 2019-09 meta-schema", `{"$ref": "https://json-schema.org/draft/2019-09/schema"}`, ""},
		{"draft 2020-12 meta-schema", `{"$ref": "https://json-schema.org/draft/2020-12/schema"}`, ""},
		{"deploy schema", deploySchema, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile([]byte(tt.schema))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Compile(%.80q...) = %v, want accepted", tt.schema, err)
				}
				return
			}
			var ie *api.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tt.want) {
				t.Fatalf("Compile(%.80q...) = %v, want *api.InvalidError containing %q", tt.schema, err, tt.want)
			}
		})
	}
}

// TestBombRefusedFast: the schema that cost 79 s of CPU per submission is refused when saved, at once.
func TestBombRefusedFast(t *testing.T) {
	raw := []byte(bomb(22, ""))
	start := time.Now()
	_, err := Compile(raw)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Compile(bomb) took %v, want under 1s", d)
	}
	var ie *api.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("Compile(bomb) = %v, want *api.InvalidError", err)
	}
}

func TestValidateBudget(t *testing.T) {
	items := func(n int, v string) string { return "[" + strings.Repeat(v+",", n-1) + v + "]" }
	heavy := bomb(10, `"type": "array", "items": {"$ref": "#/$defs/d0"}`)
	tree := `{"type": "object", "properties": {"child": {"$ref": "#"}}}`
	flat := `{"type": "object", "properties": {"child": {"type": "object"}}}`
	tests := []struct {
		name, schema, doc string
		want              string // substring of the error; "" for valid input
	}{
		{"heavy schema, few values", heavy, items(20, `{"x": 1}`), "input does not match the task schema"},
		{"heavy schema, many values", heavy, items(1000, `{"x": 1}`),
			"input is too costly to validate against the task schema: it may need over 200000 subschema evaluations"},
		{"recursive schema, deep input", tree, nested(maxInputDepth, "{}"), ""},
		{"recursive schema, too deep input", tree, nested(maxInputDepth+1, "{}"),
			"input is too costly to validate against the task schema: input is nested more than 128 levels deep"},
		{"flat schema, deep input", flat, nested(1000, "{}"), ""},
		{"no schema, deep input", ``, nested(1000, "{}"), ""},
		{"light schema, many values", `{"type": "array", "items": {"type": "integer"}}`, items(50_000, "1"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile([]byte(tt.schema))
			if err != nil {
				t.Fatalf("Compile(%.80q...) = %v", tt.schema, err)
			}
			err = s.Validate([]byte(tt.doc))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate(%.80q...) = %v, want valid", tt.doc, err)
				}
				return
			}
			var ie *api.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tt.want) {
				t.Fatalf("Validate(%.80q...) = %v, want *api.InvalidError containing %q", tt.doc, err, tt.want)
			}
		})
	}
}

// counted compiles raw and makes every subschema count its evaluations in *n (those that get past the type,
// const and enum checks, where the library looks at `format`): a lower bound of the evaluations made.
func counted(t testing.TB, raw []byte, n *uint64) (*Schema, error) {
	s, err := Compile(raw)
	if err != nil || s.s == nil {
		return s, err
	}
	seen := map[*jsonschema.Schema]bool{}
	queue := []*jsonschema.Schema{s.s}
	for len(queue) > 0 {
		sch := queue[0]
		queue = queue[1:]
		if seen[sch] {
			continue
		}
		seen[sch] = true
		queue = append(queue, children(sch)...)
		inner := sch.Format
		f := &jsonschema.Format{Name: "counted", Validate: func(v any) error {
			*n++
			if inner != nil {
				return inner.Validate(v)
			}
			return nil
		}}
		if inner != nil {
			f.Name = inner.Name
		}
		sch.Format = f
	}
	return s, nil
}

// TestCostBoundHolds checks the static bound against evaluations the library really makes.
func TestCostBoundHolds(t *testing.T) {
	tests := []struct{ name, schema, doc string }{
		{"bomb", bomb(10, ""), `{"x": 1}`},
		{"tree", `{"type": "object", "properties": {"child": {"$ref": "#"}}, "allOf": [{"required": []}]}`, nested(100, "{}")},
		{"items", `{"items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}`, `[1, "a", true, [2]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n uint64
			s, err := counted(t, []byte(tt.schema), &n)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := jsonschema.UnmarshalJSON(strings.NewReader(tt.doc))
			bound, err := s.cost.steps(v)
			if err != nil {
				t.Fatal(err)
			}
			s.Validate([]byte(tt.doc))
			if n == 0 || n > bound {
				t.Errorf("evaluations = %d, bound %d: want 0 < evaluations <= bound", n, bound)
			}
		})
	}
}

// FuzzCost checks that the analyser never panics and that its bound holds for what the library evaluates.
func FuzzCost(f *testing.F) {
	f.Add([]byte(bomb(3, "")), []byte(`{"x": 1}`))
	f.Add([]byte(`{"$defs": {"a": {"$ref": "#/$defs/a"}}}`), []byte(`1`))
	f.Add([]byte(`{"type": "object", "properties": {"child": {"$ref": "#"}}}`), []byte(nested(5, "{}")))
	f.Add([]byte(`{"allOf": [{"properties": {"x": {"$ref": "#"}}}, {"properties": {"x": {"$ref": "#"}}}]}`), []byte(`{"x": {"x": {}}}`))
	f.Add([]byte(`{"$dynamicAnchor": "n", "items": {"$dynamicRef": "#n"}, "$defs": {"o": {"$dynamicAnchor": "n", "anyOf": [true, false]}}}`), []byte(`[[1]]`))
	f.Add([]byte(`{"$schema": "https://json-schema.org/draft/2019-09/schema", "$recursiveAnchor": true, "items": {"$recursiveRef": "#"}}`), []byte(`[[[]]]`))
	f.Add([]byte(`{"propertyNames": {"anyOf": [{"$ref": "#/$defs/s"}, {"$ref": "#/$defs/s"}]}, "$defs": {"s": {"minLength": 2}}}`), []byte(`{"a": 1, "bb": 2}`))
	f.Fuzz(func(t *testing.T, schema, doc []byte) {
		var n uint64
		s, err := counted(t, schema, &n)
		var ie *api.InvalidError
		if err != nil {
			if !errors.As(err, &ie) {
				t.Fatalf("Compile(%q) = %T %v, want *api.InvalidError", schema, err, err)
			}
			return
		}
		if s.s == nil {
			return
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(doc)))
		if err != nil {
			return
		}
		bound, err := s.cost.steps(v)
		if err != nil || bound > maxSteps {
			return
		}
		if err := s.Validate(doc); err != nil && !errors.As(err, &ie) {
			t.Fatalf("Validate(%q) = %T %v, want *api.InvalidError", doc, err, err)
		}
		if n > bound {
			t.Fatalf("Compile(%q).Validate(%q) made %d evaluations, over the bound %d", schema, doc, n, bound)
		}
	})
}

// BenchmarkValidateWorstCase compares the most expensive validation the limits allow (the largest anyOf bomb
// accepted, on as many values as the step budget admits) with a trivial schema on an input of the same size.
func BenchmarkValidateWorstCase(b *testing.B) {
	heavy := bomb(10, `"type": "array", "items": {"$ref": "#/$defs/d0"}`)
	s, err := Compile([]byte(heavy))
	if err != nil {
		b.Fatal(err)
	}
	n := int(maxSteps / s.cost.perValue[1])
	doc := "[" + strings.Repeat(`{"x": 1},`, n-1) + `{"x": 1}]`
	for _, c := range []struct{ name, schema string }{
		{"largest accepted", heavy},
		{"trivial", `{"type": "array"}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Compile([]byte(c.schema))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Validate([]byte(doc)); err != nil && !strings.Contains(err.Error(), "does not match") {
					b.Fatal(err)
				}
			}
		})
	}
}
