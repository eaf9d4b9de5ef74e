package kratix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// ObjectFile is the input file every pipeline container reads: /kratix/input/object.yaml.
const ObjectFile = "object.yaml"

// objectKeys are the top-level fields of an object a pipeline sees; anything else a caller's value has (a store's
// own bookkeeping) is left out.
var objectKeys = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// ObjectYAML returns /kratix/input/object.yaml for obj as Kratix's reader writes it: the object's apiVersion,
// kind, metadata, spec and status (those it has), marshalled by sigs.k8s.io/yaml (keys sorted, two-space
// indents), the library and form Kratix uses. For a resource request obj is the request; for a promise, the whole
// Promise. obj is JSON text ([]byte or json.RawMessage) or any value encoding/json turns into it (a map, a
// struct). It must be an object with a non-empty string apiVersion and kind and a metadata object with a
// non-empty string name; errors say which field is wrong. Numbers keep their exact digits.
func ObjectYAML(obj any) ([]byte, error) {
	var raw []byte
	switch v := obj.(type) {
	case []byte:
		raw = v
	case json.RawMessage:
		raw = v
	default:
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("object.yaml: %w", err)
		}
		raw = b
	}
	m, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("object.yaml: %w", err)
	}
	if err := checkObject(m); err != nil {
		return nil, fmt.Errorf("object.yaml: %w", err)
	}
	out := make(map[string]any, len(objectKeys))
	for _, k := range objectKeys {
		if v, ok := m[k]; ok && v != nil {
			out[k] = v
		}
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("object.yaml: %w", err)
	}
	return b, nil
}

// decodeObject reads JSON text into a map, numbers as json.Number (so that they are written back digit for digit).
func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("not a JSON object: text after the object")
	}
	if m == nil {
		return nil, errors.New("not a JSON object: null")
	}
	return m, nil
}

func checkObject(m map[string]any) error {
	for _, k := range []string{"apiVersion", "kind"} {
		if s, ok := m[k].(string); !ok || s == "" {
			return fmt.Errorf("%s: want a non-empty string", k)
		}
	}
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		return errors.New("metadata: want an object")
	}
	if s, ok := md["name"].(string); !ok || s == "" {
		return errors.New("metadata.name: want a non-empty string")
	}
	for _, k := range []string{"spec", "status"} {
		if v, ok := m[k]; ok && v != nil {
			if _, isMap := v.(map[string]any); !isMap {
				return fmt.Errorf("%s: want an object", k)
			}
		}
	}
	return nil
}
