package events

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPath(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"id":"1","data":{"test":{"teststrategy":"locust"},"labels":{"build-id":"7","a.b":"dot"},
		"list":["x","y","z"],"objs":[{"n":1},{"n":2},{"m":3}],"n":3}}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		want    any
		wantErr string
	}{
		{"$", doc, ""},
		{"$.id", "1", ""},
		{"$.data.test.teststrategy", "locust", ""},
		{"$.data.labels.build-id", "7", ""},
		{"$.data.labels['a.b']", "dot", ""},
		{`$["data"]["n"]`, 3.0, ""},
		{"$.data.list[1]", "y", ""},
		{"$.data.list[-1]", "z", ""},
		{"$.data.list[*]", []any{"x", "y", "z"}, ""},
		{"$.data.objs[*].n", []any{1.0, 2.0}, ""},
		{"$.data.test.*", []any{"locust"}, ""},
		{"$.data.list[3]", nil, "index [3] out of range (3 elements)"},
		{"$.data.missing", nil, "unknown key missing"},
		{"$.data.n.x", nil, "x: not an object"},
		{"$.id[0]", nil, "[0]: not a list"},
		{"data.x", nil, "must start with $"},
		{"$.", nil, "empty name"},
		{"$..x", nil, "empty name"},
		{"$[x]", nil, "neither an index"},
		{"$[1", nil, "is not closed"},
		{"$x", nil, "unexpected"},
		{`$['a"b']`, nil, "quotes inside"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := ParsePath(tt.path)
			var got any
			if err == nil {
				got, err = p.Get(doc)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Get(%q) = %v, %v; want an error containing %q", tt.path, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get(%q) = %v", tt.path, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Get(%q) mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$.data.x", "$['a'][0][*].b", "$[-1]", "$..", "$[", "$.*.*"} {
		f.Add(s)
	}
	doc := map[string]any{"data": map[string]any{"x": []any{"a", map[string]any{"b": 1.0}}}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Errorf("ParsePath(%q).String() = %q", s, p.String())
		}
		_, _ = p.Get(doc)
	})
}
