package promise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
)

// FieldError is one failure at a field path written as the API server writes it (spec.items[0].name).
type FieldError struct {
	Path string
	// Detail is what follows the path: "Required value", "Unsupported value: ...", ...
	Detail string
}

func (e FieldError) String() string { return e.Path + ": " + e.Detail }

type fieldErrors []FieldError

func (e *fieldErrors) add(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Detail: fmt.Sprintf(format, args...)})
}

// Apply checks a request's spec against s as the API server would and returns it pruned of nulls that may not be
// null and with the schema's defaults applied, as JSON with sorted keys. what names the object in the error
// ("Redis.redis.example.com \"my-redis\""). A failure is an *api.InvalidError whose Msg reads like the API
// server's ("X is invalid: [spec.size: Unsupported value: ...]") and whose Fields carry each path and detail.
// A nil Schema accepts any object.
func (s *Schema) Apply(what string, spec json.RawMessage) (json.RawMessage, error) {
	var v any
	spec = bytes.TrimSpace(spec)
	if len(spec) == 0 || string(spec) == "null" {
		v = map[string]any{}
	} else {
		dec := json.NewDecoder(bytes.NewReader(spec))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, api.Invalidf("%s is invalid: spec: Invalid value: %s", what, trimJSONErr(err))
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, api.Invalidf("%s is invalid: spec: Invalid value: %s: spec must be an object", what, compact(v))
		}
	}
	if s == nil || s.root == nil {
		return json.Marshal(v)
	}
	var errs fieldErrors
	doc := map[string]any{"spec": v}
	if _, declared := s.root.properties["spec"]; !declared && !s.root.preserve && !s.root.anyAdded && s.root.additional == nil {
		if len(v.(map[string]any)) > 0 {
			errs.add("spec", "Invalid value: unknown field %q: the promise's API declares no spec", "spec")
		}
		delete(doc, "spec")
	}
	root := prune(doc, s.root, "", &errs)
	doc, _ = root.(map[string]any)
	defaults(doc, s.root)
	walk(doc, s.root, "", &errs)
	// The rest of the schema (bounds, patterns, formats, combinators), without repeating what the structural
	// checks said about a field already.
	if err := s.full.Validate(mustJSON(doc)); err != nil {
		for _, fe := range fullErrors(err, doc) {
			if !covered(errs, fe) {
				errs = append(errs, fe)
			}
		}
	}
	if len(errs) > 0 {
		return nil, invalid(what, errs)
	}
	out, ok := doc["spec"]
	if !ok {
		out = map[string]any{}
	}
	return json.Marshal(out)
}

// invalid is the API server's answer for errs.
func invalid(what string, errs fieldErrors) error {
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Path, b.Path) })
	errs = slices.CompactFunc(errs, func(a, b FieldError) bool { return a == b })
	parts := make([]string, len(errs))
	fields := make([]api.FieldError, len(errs))
	for i, e := range errs {
		parts[i] = e.String()
		fields[i] = api.FieldError{Path: e.Path, Message: e.Detail}
	}
	msg := what + " is invalid: " + parts[0]
	if len(parts) > 1 {
		msg = what + " is invalid: [" + strings.Join(parts, ", ") + "]"
	}
	return &api.InvalidError{Msg: msg, Fields: fields}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// prune refuses fields n does not declare (outside x-kubernetes-preserve-unknown-fields) and drops nulls of
// fields that may not be null; it returns v, changed in place where it is an object or array.
func prune(v any, n *node, path string, errs *fieldErrors) any {
	if n == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			val := x[k]
			child, declared := n.properties[k]
			if !declared {
				child = n.additional
			}
			if !declared && child == nil {
				if n.preserve || n.anyAdded || (n.embedded && (k == "apiVersion" || k == "kind" || k == "metadata")) {
					continue
				}
				errs.add(join(path, k), "Invalid value: unknown field %q", join(path, k))
				continue
			}
			if val == nil && !child.nullable {
				delete(x, k)
				continue
			}
			x[k] = prune(val, child, join(path, k), errs)
		}
	case []any:
		for i, item := range x {
			x[i] = prune(item, n.items, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	}
	return v
}

// defaults applies the schema's defaults as the API server's structural defaulting does: a property absent from
// an object that exists gets its default (a copy), and defaulting then continues into it; array items and
// additionalProperties values are defaulted by their schema. No missing parent object is created unless it has
// a default of its own.
func defaults(v any, n *node) {
	if n == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, p := range n.properties {
			if !p.hasDefault || p.def == nil {
				continue
			}
			if _, ok := x[k]; !ok {
				x[k] = deepCopy(p.def)
			}
		}
		for k, val := range x {
			if p, ok := n.properties[k]; ok {
				defaults(val, p)
			} else if n.additional != nil {
				defaults(val, n.additional)
			}
		}
	case []any:
		for _, item := range x {
			defaults(item, n.items)
		}
	}
}

// walk checks types, enums and required properties.
func walk(v any, n *node, path string, errs *fieldErrors) {
	if n == nil {
		return
	}
	shown := path
	if shown == "" {
		shown = "<root>"
	}
	if v == nil {
		if !n.nullable && n.typ != "" {
			errs.add(shown, "Invalid value: \"null\": %s in body must be of type %s: \"null\"", shown, n.typ)
		}
		return
	}
	if !typeOK(v, n) {
		errs.add(shown, "Invalid value: %s: %s in body must be of type %s: %s", compactTyped(v), shown, wantType(n), strconv.Quote(typeName(v)))
		return
	}
	if len(n.enum) > 0 && !slices.ContainsFunc(n.enum, func(e any) bool { return equalJSON(e, v) }) {
		errs.add(shown, "Unsupported value: %s: supported values: %s", compact(v), quotedList(n.enum))
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range n.required {
			if _, ok := x[r]; !ok {
				errs.add(join(path, r), "Required value")
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p, ok := n.properties[k]; ok {
				walk(x[k], p, join(path, k), errs)
			} else if n.additional != nil {
				walk(x[k], n.additional, join(path, k), errs)
			}
		}
	case []any:
		for i, item := range x {
			walk(item, n.items, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	}
}

func typeOK(v any, n *node) bool {
	if n.intOrString {
		_, isStr := v.(string)
		return isStr || isInteger(v)
	}
	switch n.typ {
	case "":
		return true
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		return isInteger(v)
	}
	return false
}

func wantType(n *node) string {
	if n.intOrString {
		return "integer or string"
	}
	return n.typ
}

func isInteger(v any) bool {
	num, ok := v.(json.Number)
	if !ok {
		return false
	}
	if _, err := num.Int64(); err == nil {
		return true
	}
	f, err := num.Float64()
	return err == nil && f == float64(int64(f)) && !strings.ContainsAny(string(num), ".eE")
}

func typeName(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if isInteger(x) {
			return "integer"
		}
		return "number"
	}
	return "null"
}

// compactTyped is how the API server shows a value of the wrong type: a string quoted, an object or array by its
// type.
func compactTyped(v any) string {
	switch v.(type) {
	case map[string]any, []any:
		return strconv.Quote(typeName(v))
	}
	return compact(v)
}

func equalJSON(a, b any) bool {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	if aNum && bNum {
		fa, ea := na.Float64()
		fb, eb := nb.Float64()
		return ea == nil && eb == nil && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = deepCopy(val)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, val := range x {
			s[i] = deepCopy(val)
		}
		return s
	}
	return v
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // maps of JSON values always marshal
	return b
}

// fullErrors turns internal/schema's failures (JSON Pointer paths) into the API server's paths.
func fullErrors(err error, doc any) fieldErrors {
	ie, ok := err.(*api.InvalidError)
	if !ok || len(ie.Fields) == 0 {
		return fieldErrors{{Path: "spec", Detail: "Invalid value: " + err.Error()}}
	}
	var out fieldErrors
	for _, f := range ie.Fields {
		path, val := dotted(f.Path, doc)
		m := f.Message
		if str, ok := val.(string); ok {
			m = strings.TrimPrefix(m, "'"+str+"' ") // the value is shown already
		}
		out.add(path, "Invalid value: %s: %s", compact(val), m)
	}
	return out
}

// dotted turns a JSON Pointer into a field path (spec.items[0].name) and finds the value there.
func dotted(ptr string, doc any) (string, any) {
	var b strings.Builder
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err == nil && i >= 0 && i < len(x) {
				fmt.Fprintf(&b, "[%d]", i)
				cur = x[i]
				continue
			}
		case map[string]any:
			cur = x[tok]
		default:
			cur = nil
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	if b.Len() == 0 {
		return "<root>", cur
	}
	return b.String(), cur
}

// covered reports whether a failure internal/schema found is one the structural checks reported already: at the
// same field or inside it, or a missing property reported as Required.
func covered(errs fieldErrors, fe FieldError) bool {
	for _, e := range errs {
		if fe.Path == e.Path || strings.HasPrefix(fe.Path, e.Path+".") || strings.HasPrefix(fe.Path, e.Path+"[") {
			return true
		}
		if e.Detail == "Required value" && strings.Contains(fe.Detail, "missing property") &&
			(fe.Path == "<root>" || strings.HasPrefix(e.Path, fe.Path)) {
			return true
		}
	}
	return false
}
