// Package schema compiles a task's JSON Schema and validates job input against it, reporting failures as
// JSON Pointer paths a client can show next to the fields.
//
// Drafts 4, 6, 7, 2019-09 and 2020-12 are supported; `$schema` selects one and 2020-12 is the default.
// Kriten-style OpenAPI v2 schema objects work: unknown keywords (x-*, example, discriminator, ...) are ignored,
// and `nullable: true` / `x-nullable: true` let a typed value be null. `format` is asserted in every draft,
// as Kriten did; formats the library does not know (int32, password, ...) are ignored.
//
// A schema is user input and must never make the server do I/O: `$ref`s and `$schema`s that point outside
// the schema itself are refused, never fetched from the network or read from disk (the official
// meta-schemas are embedded in the library). Every error this package returns is an *api.InvalidError.
package schema

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runplane/runplane/api"
)

// Schema is a compiled schema. It is safe for concurrent use. The zero value and a nil *Schema accept any
// JSON input.
type Schema struct {
	s    *jsonschema.Schema // nil: accept anything
	cost *cost
}

// resourceURL names the schema being compiled. It has no network or file meaning; relative `$ref`s resolve
// against it and are then refused by the loader.
const resourceURL = "runplane:///task-schema.json"

// Compile compiles raw, a JSON Schema document. Empty input, `null` and `{}` give a Schema that accepts
// anything. An invalid schema, or one that refers to documents outside itself, gives an *api.InvalidError.
// Compile does no I/O; callers cache its result.
func Compile(raw []byte) (*Schema, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return &Schema{}, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &api.InvalidError{Msg: "schema is not valid JSON: " + err.Error()}
	}
	if m, ok := doc.(map[string]any); ok && len(m) == 0 {
		return &Schema{}, nil
	}
	if tooManyNodes(doc) {
		return nil, &api.InvalidError{Msg: fmt.Sprintf("schema is not allowed: schema has more than %d subschemas", maxNodes)}
	}
	doc = openAPINullable(doc)

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, compileError(err)
	}
	s, err := c.Compile(resourceURL)
	if err != nil {
		return nil, compileError(err)
	}
	cst, err := analyse(s, extraRoots(c, doc))
	if err != nil {
		return nil, &api.InvalidError{Msg: "schema is not allowed: " + err.Error()}
	}
	return &Schema{s: s, cost: cst}, nil
}

// Validate checks doc, a job's raw input, against s. Empty or blank input is validated as `{}`, so a schema
// with `required` properties rejects it. Input that is not JSON, or does not match, gives an *api.InvalidError;
// for a mismatch its Fields list every failing location, sorted by path then message.
func (s *Schema) Validate(doc []byte) error {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	// UnmarshalJSON decodes numbers as json.Number, so large integers and decimals keep their precision.
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &api.InvalidError{Msg: "input is not valid JSON: " + err.Error()}
	}
	if s == nil || s.s == nil {
		return nil
	}
	// The validator cannot be stopped once started: refuse input whose bound is over budget up front.
	steps, err := s.cost.steps(v)
	if err != nil {
		return &api.InvalidError{Msg: "input is too costly to validate against the task schema: " + err.Error()}
	}
	if steps > maxSteps {
		return &api.InvalidError{Msg: fmt.Sprintf("input is too costly to validate against the task schema: "+
			"it may need over %d subschema evaluations (a smaller or flatter input fits)", maxSteps)}
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return &api.InvalidError{Msg: "input does not match the task schema: " + err.Error()}
	}
	fields := leaves(verr)
	return &api.InvalidError{Msg: summary("input does not match the task schema", fields), Fields: fields}
}

// refuseLoader is the compiler's only way to fetch a document, and it fetches none.
type refuseLoader struct{}

var errExternal = errors.New("external references are not allowed: a task schema must be self-contained")

func (refuseLoader) Load(string) (any, error) { return nil, errExternal }

// compileError turns a library compile error into a client-facing *api.InvalidError.
func compileError(err error) error {
	const prefix = "schema is not a valid JSON Schema"
	var (
		serr *jsonschema.SchemaValidationError
		verr *jsonschema.ValidationError
		lerr *jsonschema.LoadURLError
	)
	switch {
	case errors.As(err, &serr) && errors.As(serr.Err, &verr):
		return &api.InvalidError{Msg: summary(prefix, leaves(verr))}
	case errors.As(err, &lerr):
		return &api.InvalidError{Msg: fmt.Sprintf("%s: cannot load %q: %v", prefix, trimResourceURL(lerr.URL), errExternal)}
	default:
		return &api.InvalidError{Msg: prefix + ": " + trimResourceURL(err.Error())}
	}
}
