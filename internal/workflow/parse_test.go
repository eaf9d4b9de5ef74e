package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplane/runplane/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestParseGolden parses every workflow in testdata/parse and compares the result with its .golden.json. Each
// fixture must also compile: Parse's output is a workflow the server accepts.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			w, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if w.Name == "" {
				w.Name = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)) // Relay files have no name
			}
			if _, err := Compile(w); err != nil {
				t.Fatalf("Compile(Parse(%s)): %v", f, err)
			}
			got, err := json.MarshalIndent(w, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) =\n%s\nwant (%s)\n%s", f, got, golden, want)
			}
		})
	}
	if n < 4 {
		t.Fatalf("found %d fixtures, want at least 4", n)
	}
}

func TestParseTags(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"parameter", `x: !Parameter p`, `${parameters.p}`},
		{"parameter with dash", `x: !Parameter my-param`, `${parameters["my-param"]}`},
		{"secret", `x: !Secret s`, `${secrets.s}`},
		{"output list", `x: !Output [build, image]`, `${outputs.build.image}`},
		{"output map", `x: !Output {from: build-1, name: image}`, `${outputs["build-1"].image}`},
		{"reserved word", `x: !Parameter in`, `${parameters["in"]}`},
		{"equals", `x: !Fn.equals [!Parameter a, "b"]`, `${(parameters.a == "b")}`},
		{"notEquals numbers", `x: !Fn.notEquals [1, 2.5]`, `${(1 != 2.5)}`},
		{"concat template", `x: !Fn.concat ["v${parameters.n}", -x]`, `${(toString(("v" + toString(parameters.n))) + toString("-x"))}`},
		{"append", `x: !Fn.append [[1], 2]`, `${([1] + [2])}`},
		{"jsonUnmarshal", `x: !Fn.jsonUnmarshal [!Secret j]`, `${jsonUnmarshal(secrets.j)}`},
		{"merge three", `x: !Fn.merge [{a: 1}, {b: 2}, {c: null}]`, `${merge(merge({"a": 1}, {"b": 2}), {"c": null})}`},
		{"path default", `x: !Fn.path [{a: {b: 1}}, a.b, 0]`, `${path({"a": {"b": 1}}, "a.b", 0)}`},
		{"toString scalar", `x: !Fn.toString 5`, `${toString("5")}`},
		{"json type form", `{"x": {"$type": "Output", "from": "a", "name": "b"}}`, `${outputs.a.b}`},
		{"json fn form", `{"x": {"$fn.not": [true]}}`, `${!(true)}`},
		{"alias", "a: &p !Parameter p\nx: *p", `${parameters.p}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &converter{}
			got, err := parseValue(c, tt.yaml)
			if err != nil {
				t.Fatalf("convert(%q): %v", tt.yaml, err)
			}
			if s := got.(map[string]any)["x"]; s != tt.want {
				t.Errorf("convert(%q).x = %v, want %s", tt.yaml, s, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const steps = "steps:\n- name: a\n  image: x\n"
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "the document is empty"},
		{"bad yaml", "steps: [\n", "invalid YAML"},
		{"not a mapping", "- a\n", "a workflow must be a mapping"},
		{"two documents", steps + "---\nname: b\n", "one workflow per document"},
		{"wrong kind", "kind: Task\n" + steps, `line 1: kind: kind is Task, want Workflow`},
		{"fields beside spec", "kind: Workflow\nmetadata: {name: a}\nspec: {}\nsteps: []\n", "must hold its fields under spec"},
		{"name in spec", "kind: Workflow\nmetadata: {name: a}\nspec:\n  name: b\n", `line 4: spec.name: the name goes in metadata.name`},
		{"relay version", "version: v2\n" + steps, `line 1: version: version v2 is not supported`},
		{"unknown field", "name: a\nstepz: []\n", `line 2: stepz: unknown field "stepz"`},
		{"steps not a list", "steps: {a: 1}\n", `line 1: steps: steps must be a list`},
		{"unknown step field", steps + "  imagee: y\n", `line 4: steps[0] "a".imagee: unknown field "imagee"`},
		{"inputFile", steps + "  inputFile: https://x/y.sh\n", `line 4: steps[0] "a".inputFile: inputFile is not supported`},
		{"bad retries", steps + "  retries: many\n", `line 4: steps[0] "a".retries: cannot unmarshal`},
		{"duplicate key", "name: a\nname: b\n", `line 2: name: set twice`},
		{"connection", steps + "  spec: {aws: !Connection {type: aws, name: x}}\n", `line 4: steps[0].spec.aws: !Connection is not supported`},
		{"unknown tag", steps + "  spec: {x: !Foo y}\n", `unknown tag !Foo`},
		{"unknown fn", steps + "  spec: {x: !Fn.sum [1, 2]}\n", `unknown function !Fn.sum: want one of and, append, concat`},
		{"arity", steps + "  when: !Fn.equals [1]\n", `line 4: steps[0].when: !Fn.equals takes 2 argument(s), got 1`},
		{"output needs two", steps + "  spec: {x: !Output [a]}\n", `!Output needs a step and a name`},
		{"parameter needs a name", steps + "  spec: {x: !Parameter \"\"}\n", `!Parameter needs a name`},
		{"merge key", "a: &a {x: 1}\nb:\n  <<: *a\n", "merge keys (<<) are not supported"},
		{"infinity", steps + "  spec: {x: .inf}\n", "is not a JSON number"},
		{"alias bomb", bomb(), "document too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse(%q) = %v, want an *api.InvalidError", tt.doc, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %q, want it to contain %q", tt.doc, err, tt.want)
			}
		})
	}
}

// bomb is a billion-laughs document: nine levels of nine aliases.
func bomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestParametersSchema(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"relay map", `{"b": {"description": "B"}, "a": {"default": 1}, "c": null}`,
			`{"properties":{"a":{"default":1},"b":{"description":"B"},"c":{}},"required":["b","c"],"type":"object"}`},
		{"relay list", `[{"name": "x", "default": "y"}]`, `{"properties":{"x":{"default":"y"}},"type":"object"}`},
		{"json schema", `{"type": "object", "properties": {"a": {"type": "string"}}}`,
			`{"type": "object", "properties": {"a": {"type": "string"}}}`},
		{"empty properties is a schema", `{"properties": {}}`, `{"properties": {}}`},
		{"param named type", `{"type": {"description": "kind of thing"}}`,
			`{"properties":{"type":{"description":"kind of thing"}},"required":["type"],"type":"object"}`},
		{"null", `null`, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParametersSchema(json.RawMessage(tt.in))
			if err != nil {
				t.Fatalf("ParametersSchema(%s): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("ParametersSchema(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/parse/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && !strings.HasSuffix(p, ".golden.json") {
			f.Add(b)
		}
	}
	f.Add([]byte("steps:\n- name: a\n  when: !Fn.and [!Fn.equals [!Output [b, c], 1], true]\n"))
	f.Add([]byte(bomb()))
	f.Add([]byte("triggers:\n- {name: t, source: {type: push}, when: !Fn.equals [!Data a.b[0], x], binding: {parameters: {p: !Data \"['c']\"}}}\nsteps: [{name: a, image: x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse(data)
		if err != nil {
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse error %v (%T) is not an *api.InvalidError", err, err)
			}
			return
		}
		// What Parse gives must survive the wire: JSON out and back in.
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("json.Marshal(Parse(...)): %v", err)
		}
		var back api.Workflow
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if w.Name == "" {
			w.Name = "fuzz"
		}
		if p, err := Compile(w); err == nil {
			p.Next(State{})
			for _, tr := range w.Triggers {
				_, _ = p.Bind(tr.Name, []byte(`{"a":{"b":["x"]},"c":1}`))
			}
		}
	})
}

// parseValue converts one YAML document as Parse does.
func parseValue(c *converter, doc string) (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		return nil, err
	}
	return c.value(&n, "", 0)
}
