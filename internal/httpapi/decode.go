package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/runplane/runplane/api"
)

// decodeJSON reads exactly one JSON value from body into v. It is the only way the API reads a JSON request.
//
// Unknown object fields are accepted, because Kriten's clients send fields runplane does not know (and ignoring
// them is what Kriten did). Everything else is strict: an empty body, malformed JSON, a value of the wrong type
// for a field, and anything but whitespace after the value are *api.InvalidError (400). A body over the limit
// is the reader's *http.MaxBytesError (413), returned as is.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// Anything after the value, even a second valid value, is garbage.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return api.Invalidf("request body has data after the JSON value")
	default:
		if isBodyError(err) {
			return err
		}
		return api.Invalidf("request body has data after the JSON value")
	}
}

func decodeError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case isBodyError(err):
		return err
	case errors.Is(err, io.EOF):
		return api.Invalidf("request body is empty: want a JSON document")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return api.Invalidf("malformed JSON: unexpected end of input")
	case errors.As(err, &syntax):
		return api.Invalidf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return &api.InvalidError{
				Msg:    fmt.Sprintf("field %q: want %s, got JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value),
				Fields: []api.FieldError{{Path: "/" + jsonPointer(typ.Field), Message: fmt.Sprintf("want %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)}},
			}
		}
		return api.Invalidf("request body: want %s, got JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	default:
		// Errors from a field's own UnmarshalJSON (a bad duration, say) carry a useful message of their own.
		return api.Invalidf("invalid request body: %s", err.Error())
	}
}

// jsonKind names a Go kind the way a JSON author thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	default:
		return "another type"
	}
}

// jsonPointer turns encoding/json's dotted field path ("secret.KEY") into a JSON pointer body ("secret/KEY").
func jsonPointer(field string) string {
	b := make([]byte, 0, len(field))
	for i := 0; i < len(field); i++ {
		switch c := field[i]; c {
		case '.':
			b = append(b, '/')
		case '~':
			b = append(b, '~', '0')
		case '/':
			b = append(b, '~', '1')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// readOptionalJSON reads a body that may be empty: present is false for an empty or blank body; otherwise the
// body is decoded into v with decodeJSON.
func readOptionalJSON(body io.Reader, v any) (present bool, err error) {
	b, err := io.ReadAll(body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return false, err
		}
		return false, api.Invalidf("read request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return false, nil
	}
	return true, decodeJSON(bytes.NewReader(b), v)
}

// readInput reads a job's input: the body verbatim, nil when blank, else it must be one JSON value.
func readInput(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		if isBodyError(err) {
			return nil, err
		}
		return nil, api.Invalidf("read request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	// The engine checks this too, for every caller; here, at the edge, the error says exactly what is wrong.
	if !json.Valid(b) {
		var v json.RawMessage
		if err := decodeJSON(bytes.NewReader(b), &v); err != nil {
			return nil, err
		}
		return nil, api.Invalidf("job input must be JSON")
	}
	return b, nil
}

// queryInt reads a non-negative integer query parameter; def when absent.
func queryInt(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, api.Invalidf("query parameter %s=%q: want a non-negative integer", name, s)
	}
	return n, nil
}

// queryBool reads a boolean query parameter ("true", "1", "false", ...); false when absent.
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, api.Invalidf("query parameter %s=%q: want true or false", name, s)
	}
	return b, nil
}
