package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		want      api.Runner
		wantErr   string // substring of the *api.InvalidError message; "" means success
		wantField string // FieldError path, if any
	}{
		{name: "object", body: `{"name":"r","gitURL":"file:///x"}`, want: api.Runner{Name: "r", GitURL: "file:///x"}},
		{name: "unknown fields accepted", body: `{"name":"r","kriten_only":{"a":[1,2]},"gitURL":"file:///x"}`, want: api.Runner{Name: "r", GitURL: "file:///x"}},
		{name: "surrounding whitespace", body: " \n\t{\"name\":\"r\"}\r\n ", want: api.Runner{Name: "r"}},
		{name: "null", body: `null`, want: api.Runner{}},
		{name: "secret map", body: `{"secret":{"A":"1"}}`, want: api.Runner{Secret: map[string]string{"A": "1"}}},
		{name: "empty", body: ``, wantErr: "request body is empty"},
		{name: "blank", body: "  \n", wantErr: "request body is empty"},
		{name: "truncated", body: `{"name":"r"`, wantErr: "unexpected end of input"},
		{name: "malformed", body: `{"name":r}`, wantErr: "malformed JSON at byte"},
		{name: "trailing garbage", body: `{"name":"r"} x`, wantErr: "data after the JSON value"},
		{name: "second value", body: `{"name":"r"}{"name":"s"}`, wantErr: "data after the JSON value"},
		{name: "trailing comma", body: `{"name":"r",}`, wantErr: "malformed JSON"},
		{name: "array for object", body: `[1]`, wantErr: "want an object"},
		{name: "number for string", body: `{"name":5}`, wantErr: `field "name": want a string`, wantField: "/name"},
		{name: "number in map", body: `{"secret":{"A":1}}`, wantErr: `want a string`, wantField: "/secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got api.Runner
			err := decodeJSON(strings.NewReader(tt.body), &got)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("decodeJSON(%q): %v", tt.body, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decodeJSON(%q) (-want +got):\n%s", tt.body, diff)
				}
				return
			}
			var inv *api.InvalidError
			if !errors.As(err, &inv) || !strings.Contains(inv.Msg, tt.wantErr) {
				t.Fatalf("decodeJSON(%q) = %v, want *api.InvalidError containing %q", tt.body, err, tt.wantErr)
			}
			if tt.wantField != "" && (len(inv.Fields) != 1 || inv.Fields[0].Path != tt.wantField) {
				t.Errorf("decodeJSON(%q) fields = %+v, want one at %q", tt.body, inv.Fields, tt.wantField)
			}
		})
	}
}

func TestDecodeJSONTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"value over the limit", `{"name":"` + strings.Repeat("a", 100) + `"}`},
		{"trailing data over the limit", `{"name":"r"}` + strings.Repeat(" ", 100) + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(tt.body)), 50)
			var v api.Runner
			err := decodeJSON(body, &v)
			var tooLarge *http.MaxBytesError
			if !errors.As(err, &tooLarge) {
				t.Errorf("decodeJSON(%d bytes, limit 50) = %v, want *http.MaxBytesError", len(tt.body), err)
			}
		})
	}
}

func TestReadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    []byte
		wantErr bool
	}{
		{name: "empty", body: "", want: nil},
		{name: "blank", body: " \n ", want: nil},
		{name: "object kept verbatim", body: "{ \"a\" : \"x\\\\y\" }\n", want: []byte("{ \"a\" : \"x\\\\y\" }\n")},
		{name: "scalar", body: "42", want: []byte("42")},
		{name: "not json", body: "a=b", wantErr: true},
		{name: "trailing garbage", body: `{"a":1} x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readInput(strings.NewReader(tt.body))
			var inv *api.InvalidError
			if tt.wantErr {
				if !errors.As(err, &inv) {
					t.Errorf("readInput(%q) = %q, %v, want *api.InvalidError", tt.body, got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("readInput(%q) = %q, %v, want %q", tt.body, got, err, tt.want)
			}
		})
	}
}

func TestReadOptionalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		wantPresent bool
		wantErr     bool
	}{
		{"empty", "", false, false},
		{"blank", "\n", false, false},
		{"array", `["A"]`, true, false},
		{"malformed", `["A"`, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			present, err := readOptionalJSON(strings.NewReader(tt.body), &v)
			if present != tt.wantPresent || (err != nil) != tt.wantErr {
				t.Errorf("readOptionalJSON(%q) = %v, %v, want %v, error %v", tt.body, present, err, tt.wantPresent, tt.wantErr)
			}
		})
	}
}

// FuzzDecodeJSON checks that the request decoder never panics, rejects only with *api.InvalidError, and accepts
// only bodies that are exactly one valid JSON value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"r","gitURL":"file:///x","secret":{"A":"b"}}`, `{"name":"t","runner":"r","command":"true","timeout":"5s","schema":{"type":"object"}}`,
		`{"timeout":30}`, `{"timeout":"bogus"}`, `null`, `[]`, `"s"`, `{"a":1} {}`, `{"a":`, "\xff", `{"name":"\ud800"}`,
		`{"username":"root","password":"x","provider":"local"}`,
		`{"name":"r","resource":"runners","resource_names":["a"],"access":"read"}`, `{"resource_ids":null,"resource_names":[1]}`,
		`{"name":"b","role_name":"r","subject_kind":"groups","subject_provider":"local","subject_name":"g"}`,
		`[{"name":"u","provider":"local"}]`, `{"description":"d","enabled":false,"expires":"2030-01-01T00:00:00Z"}`,
		`{"name":"t","runner":"r","command":"x","kubernetes":{"resources":{"limits":{"cpu":1,"memory":"1e2"},"requests":{"cpu":"2"}},` +
			`"nodeSelector":{"a/b":"c"},"tolerations":[{"operator":"Exists","tolerationSeconds":5}],"imagePullPolicy":"Never"}}`,
		`{"kubernetes":{"resources":{"request":{}}}}`, `{"kubernetes":{"resources":{"limits":{"cpu":[1]}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{new(api.Runner), new(api.Task), new(api.Login), new(map[string]string), new(json.RawMessage), new(any),
			new(api.User), new(api.Group), new(api.Role), new(api.RoleBinding), new(api.APIToken), new([]api.GroupMember)}
		for _, v := range targets {
			err := decodeJSON(bytes.NewReader(data), v)
			if err == nil {
				if !json.Valid(data) {
					t.Fatalf("decodeJSON(%q) into %T accepted invalid JSON", data, v)
				}
				if task, ok := v.(*api.Task); ok {
					_ = task.Validate() // must not panic, whatever the kubernetes settings hold
				}
				continue
			}
			var inv *api.InvalidError
			if !errors.As(err, &inv) || inv.Msg == "" {
				t.Fatalf("decodeJSON(%q) into %T = %v (%T), want *api.InvalidError", data, v, err, err)
			}
		}
	})
}
