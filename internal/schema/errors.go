package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/runplane/runplane/api"
)

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// leaves flattens the library's error tree to its leaves, the failures themselves; the inner nodes only say
// which combinator (allOf, $ref, ...) led there. The result is sorted by path then message, without repeats.
func leaves(root *jsonschema.ValidationError) []api.FieldError {
	var out []api.FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		// propertyNames validates a name, not a value: its causes carry no usable location, so stop here.
		if _, ok := e.ErrorKind.(*kind.PropertyNames); ok || len(e.Causes) == 0 {
			out = append(out, fieldErrors(e)...)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(root)
	slices.SortFunc(out, func(a, b api.FieldError) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Message, b.Message))
	})
	return slices.Compact(out)
}

// pointer renders a location as a JSON Pointer (RFC 6901); the root is "/" rather than "" so it reads as a path.
func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(t))
	}
	return b.String()
}

// summary is msg followed by the first few failures and how many more there are.
func summary(msg string, fields []api.FieldError) string {
	const shown = 3
	var b strings.Builder
	b.WriteString(msg)
	sep := ": "
	for _, f := range fields[:min(len(fields), shown)] {
		fmt.Fprintf(&b, "%sat %s: %s", sep, f.Path, f.Message)
		sep = "; "
	}
	if n := len(fields) - shown; n > 0 {
		fmt.Fprintf(&b, " (and %d more)", n)
	}
	return b.String()
}

// trimResourceURL removes the internal name of the compiled document from library messages.
func trimResourceURL(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, resourceURL, ""), "runplane:///", "")
}
