// Package result extracts a job's JSON result from its standard output.
//
// A script reports a result by printing a JSON value between two `^JSON` markers; the first complete block
// becomes the job's json_data (CONTRACTS.md §1). The package is pure: it never does I/O, never panics on any
// input, and never returns data that aliases its argument, so callers may reuse their buffers.
package result

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Marker opens and closes a result block in a job's standard output.
const Marker = "^JSON"

// ParseFailed is the json_data of a job whose result block is not valid JSON (Kriten's wording).
const ParseFailed = `{"error":"failed to parse JSON"}`

var marker = []byte(Marker)

// Extract returns the JSON value printed between the first two markers in out, compacted.
//
// Markers may stand on their own lines or inline ("prefix ^JSON {"a":1} ^JSON suffix"). The block runs from
// the end of the first marker to the start of the next one, whatever lies between, so a marker inside a JSON
// string of the block ends the block early (and usually makes it invalid). Surrounding whitespace, CR and LF
// included, is trimmed; escapes inside the block are kept as written. Any JSON value is accepted.
//
// ok is false, and data nil, when out holds fewer than two markers. A block that is empty, is not valid JSON
// or is not valid UTF-8 yields ParseFailed with ok true: a script's bad output never fails the job's record.
func Extract(out []byte) (data json.RawMessage, ok bool) {
	start := bytes.Index(out, marker)
	if start < 0 {
		return nil, false
	}
	rest := out[start+len(marker):]
	end := bytes.Index(rest, marker)
	if end < 0 {
		return nil, false
	}
	return compact(bytes.TrimSpace(rest[:end])), true
}

// compact returns a compact copy of block, or ParseFailed when block is not a valid UTF-8 JSON text.
func compact(block []byte) json.RawMessage {
	// Compact rejects empty input and anything but exactly one JSON value; UTF-8 is checked separately
	// because the JSON scanner lets invalid bytes through inside strings, and stores such as PostgreSQL's
	// jsonb refuse them.
	if !utf8.Valid(block) {
		return json.RawMessage(ParseFailed)
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(block)))
	if err := json.Compact(buf, block); err != nil {
		return json.RawMessage(ParseFailed)
	}
	return buf.Bytes()
}
