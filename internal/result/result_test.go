package result

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var extractTests = []struct {
	name   string
	out    string
	want   string // compact JSON; "" means no data
	wantOK bool
}{
	{name: "own lines", out: "starting\n^JSON\n{\"a\": 1, \"b\": [1, 2]}\n^JSON\ndone\n", want: `{"a":1,"b":[1,2]}`, wantOK: true},
	{name: "inline", out: `prefix ^JSON {"a":1} ^JSON suffix`, want: `{"a":1}`, wantOK: true},
	{name: "adjacent to markers", out: `^JSON{"a":1}^JSON`, want: `{"a":1}`, wantOK: true},
	{name: "closing marker at very end", out: "log\n^JSON\n{\"a\":1}\n^JSON", want: `{"a":1}`, wantOK: true},
	{name: "CRLF", out: "log\r\n^JSON\r\n{\r\n  \"a\": \"x\"\r\n}\r\n^JSON\r\n", want: `{"a":"x"}`, wantOK: true},
	{name: "tabs and spaces", out: "^JSON \t {\"a\" :\t1} \t ^JSON", want: `{"a":1}`, wantOK: true},
	{name: "two blocks first wins", out: "^JSON {\"n\":1} ^JSON\n^JSON {\"n\":2} ^JSON", want: `{"n":1}`, wantOK: true},
	{name: "third marker ignored", out: "^JSON {\"n\":1} ^JSON {\"n\":2}", want: `{"n":1}`, wantOK: true},
	{name: "escapes preserved", out: `^JSON {"a\"b": "c\\nd\"e", "p": "C:\\dir\\file", "t": "\t\/"} ^JSON`, want: `{"a\"b":"c\\nd\"e","p":"C:\\dir\\file","t":"\t\/"}`, wantOK: true},
	{name: "unicode escapes kept", out: `^JSON {"s": "\u00e9\ud83d\ude00"} ^JSON`, want: `{"s":"\u00e9\ud83d\ude00"}`, wantOK: true},
	{name: "raw unicode", out: "^JSON {\"s\": \"héllo 世界 😀\"} ^JSON", want: `{"s":"héllo 世界 😀"}`, wantOK: true},
	{name: "html characters not escaped", out: `^JSON {"h": "<a href='x'>&</a>"} ^JSON`, want: `{"h":"<a href='x'>&</a>"}`, wantOK: true},
	{name: "whitespace inside strings kept", out: `^JSON {"s": "a  b"} ^JSON`, want: `{"s":"a  b"}`, wantOK: true},
	{name: "array", out: "^JSON [1, \"two\", null] ^JSON", want: `[1,"two",null]`, wantOK: true},
	{name: "string", out: `^JSON "done" ^JSON`, want: `"done"`, wantOK: true},
	{name: "number keeps precision", out: "^JSON 12345678901234567890.123456789e-3 ^JSON", want: `12345678901234567890.123456789e-3`, wantOK: true},
	{name: "true", out: "^JSON true ^JSON", want: `true`, wantOK: true},
	{name: "null", out: "^JSON null ^JSON", want: `null`, wantOK: true},
	{name: "invalid JSON", out: "^JSON {a: 1} ^JSON", want: ParseFailed, wantOK: true},
	{name: "two values", out: "^JSON {} {} ^JSON", want: ParseFailed, wantOK: true},
	{name: "truncated", out: "^JSON {\"a\": ^JSON", want: ParseFailed, wantOK: true},
	{name: "invalid UTF-8", out: "^JSON \"\xff\xfe\" ^JSON", want: ParseFailed, wantOK: true},
	{name: "empty block", out: "^JSON^JSON", want: ParseFailed, wantOK: true},
	{name: "blank block", out: "^JSON \r\n\t ^JSON", want: ParseFailed, wantOK: true},
	// The block ends at the next marker even inside a JSON string: no JSON parsing decides where it ends.
	{name: "marker inside string ends block", out: `^JSON {"s": "a ^JSON b"} ^JSON`, want: ParseFailed, wantOK: true},
	{name: "marker inside string of second block", out: `^JSON {"s": 1} ^JSON {"t": "^JSON"}`, want: `{"s":1}`, wantOK: true},
	{name: "no closing marker", out: "log\n^JSON\n{\"a\": 1}\n", wantOK: false},
	{name: "no marker", out: "just logs\n{\"a\": 1}\n", wantOK: false},
	{name: "empty output", out: "", wantOK: false},
	{name: "partial marker", out: "^JSO {} ^JSON", wantOK: false},
	{name: "lowercase marker", out: "^json {} ^json", wantOK: false},
	{name: "marker prefix before real one", out: "^JSO^JSON {\"a\":1} ^JSON", want: `{"a":1}`, wantOK: true},
}

func TestExtract(t *testing.T) {
	for _, tt := range extractTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Extract([]byte(tt.out))
			if ok != tt.wantOK || string(got) != tt.want {
				t.Errorf("Extract(%q) = %s, %v, want %s, %v", tt.out, got, ok, tt.want, tt.wantOK)
			}
			if !ok && got != nil {
				t.Errorf("Extract(%q) data = %q, want nil when not ok", tt.out, got)
			}
		})
	}
}

// TestExtractDoesNotAlias pins that the returned data is a copy: the executor reuses its output buffer.
func TestExtractDoesNotAlias(t *testing.T) {
	out := []byte(`^JSON {"a":1} ^JSON`)
	got, _ := Extract(out)
	for i := range out {
		out[i] = 'x'
	}
	if want := `{"a":1}`; string(got) != want {
		t.Errorf("Extract data changed with its input: got %s, want %s", got, want)
	}
	e1, _ := Extract([]byte("^JSON bad ^JSON"))
	e1[0] = 'x'
	if e2, _ := Extract([]byte("^JSON bad ^JSON")); string(e2) != ParseFailed {
		t.Errorf("Extract error object shared between calls: got %s, want %s", e2, ParseFailed)
	}
}

func TestParseFailedIsValidJSON(t *testing.T) {
	var v map[string]string
	if err := json.Unmarshal([]byte(ParseFailed), &v); err != nil || v["error"] != "failed to parse JSON" {
		t.Errorf("json.Unmarshal(ParseFailed) = %v, %v, want {error: failed to parse JSON}", v, err)
	}
}

func FuzzExtract(f *testing.F) {
	for _, tt := range extractTests {
		f.Add([]byte(tt.out))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		orig := bytes.Clone(out)
		data, ok := Extract(out)
		if !bytes.Equal(out, orig) {
			t.Fatalf("Extract(%q) modified its input", orig)
		}
		if !ok {
			if data != nil {
				t.Fatalf("Extract(%q) = %q, false, want nil data", out, data)
			}
			if bytes.Count(out, marker) >= 2 {
				t.Fatalf("Extract(%q) not ok with two markers", out)
			}
			return
		}
		if bytes.Count(out, marker) < 2 {
			t.Fatalf("Extract(%q) ok with fewer than two markers", out)
		}
		if string(data) == ParseFailed {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Extract(%q) = %q, not valid JSON", out, data)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, data); err != nil || !bytes.Equal(c.Bytes(), data) {
			t.Fatalf("Extract(%q) = %q, not compact", out, data)
		}
		if bytes.Contains(data, marker) {
			t.Fatalf("Extract(%q) = %q, contains a marker", out, data)
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	line := "2026-11-21T10:00:00Z INFO step 42 of 1000: copied /var/lib/app/data/file-000042.bin (4096 bytes)\n"
	logs := strings.Repeat(line, (1<<20)/len(line))
	var obj strings.Builder
	obj.WriteString(`{"items": [`)
	for i := range 20000 {
		if i > 0 {
			obj.WriteString(", ")
		}
		obj.WriteString(`{"id": 1, "name": "item \"quoted\" \u00e9"}`)
	}
	obj.WriteString("]}")
	cases := []struct {
		name string
		out  []byte
	}{
		{"1MiB-logs-small-block", []byte(logs + "^JSON\n{\"status\": \"ok\", \"count\": 1000}\n^JSON\n")},
		{"1MiB-logs-no-marker", []byte(logs)},
		{"1MiB-block", []byte("^JSON\n" + obj.String() + "\n^JSON\n")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.out)))
			b.ReportAllocs()
			for b.Loop() {
				Extract(c.out)
			}
		})
	}
}
