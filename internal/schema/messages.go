package schema

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/runplane/runplane/api"
)

var printer = message.NewPrinter(language.English)

// fieldErrors describes one leaf, splitting keywords that name several properties into one error each.
// The path is where the library reports the failure: for a missing or extra property, the object holding it.
func fieldErrors(e *jsonschema.ValidationError) []api.FieldError {
	path := pointer(e.InstanceLocation)
	each := func(format string, names []string) []api.FieldError {
		fs := make([]api.FieldError, len(names))
		for i, n := range names {
			fs[i] = api.FieldError{Path: path, Message: fmt.Sprintf(format, n)}
		}
		return fs
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return each("missing property %q", k.Missing)
	case *kind.AdditionalProperties:
		return each("additional property %q not allowed", k.Properties)
	}
	return []api.FieldError{{Path: path, Message: describe(e.ErrorKind)}}
}

// describe is the library's message for k, except where the library formats numbers for a locale
// ("70,000") or through float64 (losing precision): those are spelled here with plain, exact digits.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.PropertyNames:
		return fmt.Sprintf("invalid property name %q", k.Property)
	case *kind.FalseSchema:
		return "value not allowed"
	case *kind.MinLength:
		return fmt.Sprintf("minLength: got %d, want %d", k.Got, k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("maxLength: got %d, want %d", k.Got, k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("minItems: got %d, want %d", k.Got, k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("maxItems: got %d, want %d", k.Got, k.Want)
	case *kind.MinProperties:
		return fmt.Sprintf("minProperties: got %d, want %d", k.Got, k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("maxProperties: got %d, want %d", k.Got, k.Want)
	case *kind.AdditionalItems:
		return fmt.Sprintf("last %d additional item(s) not allowed", k.Count)
	case *kind.UniqueItems:
		return fmt.Sprintf("items at %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.MinContains:
		return fmt.Sprintf("at least %d items must match contains schema, %d matched", k.Want, len(k.Got))
	case *kind.MaxContains:
		return fmt.Sprintf("at most %d items may match contains schema, %d matched", k.Want, len(k.Got))
	case *kind.OneOf:
		if len(k.Subschemas) < 2 {
			return "'oneOf' failed, none matched"
		}
		return fmt.Sprintf("'oneOf' failed, subschemas %d and %d matched", k.Subschemas[0], k.Subschemas[1])
	case *kind.Minimum:
		return fmt.Sprintf("minimum: got %s, want %s", rat(k.Got), rat(k.Want))
	case *kind.Maximum:
		return fmt.Sprintf("maximum: got %s, want %s", rat(k.Got), rat(k.Want))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("exclusiveMinimum: got %s, want %s", rat(k.Got), rat(k.Want))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("exclusiveMaximum: got %s, want %s", rat(k.Got), rat(k.Want))
	case *kind.MultipleOf:
		return fmt.Sprintf("multipleOf: got %s, want %s", rat(k.Got), rat(k.Want))
	}
	return trimResourceURL(k.LocalizedString(printer))
}

// rat spells r exactly when it is an integer, else as the shortest float64 that reads back the same (which is
// the decimal as written, for numbers of up to 15 significant digits).
func rat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}
