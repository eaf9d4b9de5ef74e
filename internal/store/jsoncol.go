package store

import (
	"bytes"
	"encoding/json"
)

// Columns that hold a Go value as JSON text (a task's containers, a job's inline task, a workflow's definition):
// backends encode and decode them alike, so both read back what either wrote.

// EncodeJSON is the JSON text of v as backends store it: compact, and without Go's HTML escaping, so raw JSON
// inside v (a json.RawMessage) reads back as it was, compacted.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// EncodeList is EncodeJSON of l, or nil (stored as NULL) when l is empty.
func EncodeList[T any](l []T) ([]byte, error) {
	if len(l) == 0 {
		return nil, nil
	}
	return EncodeJSON(l)
}

// EncodePtr is EncodeJSON of *p, or nil (stored as NULL) when p is nil.
func EncodePtr[T any](p *T) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	return EncodeJSON(p)
}

// DecodeJSON fills dst from text an Encode function stored; NULL or empty text leaves dst as it is.
func DecodeJSON(text []byte, dst any) error {
	if len(text) == 0 {
		return nil
	}
	return json.Unmarshal(text, dst)
}

// EncodeMap is EncodeJSON of m, or nil (stored as NULL) when m is empty.
func EncodeMap[K comparable, V any](m map[K]V) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return EncodeJSON(m)
}
