package release

import (
	"bytes"
	"strings"
	"testing"
)

// TestLabeler: the post-renderer puts Krateo's labels on every object of a release, keeping the chart's own.
func TestLabeler(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"two objects", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: x}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n",
			[]string{"app: x", "krateo.io/composition-name: demo", "name: b"}, false},
		{"empty documents skipped", "---\n\n---\napiVersion: v1\nkind: ConfigMap\n", []string{"krateo.io/composition-name: demo"}, false},
		{"not yaml", "a: [", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := labeler{labels: map[string]string{"krateo.io/composition-name": "demo"}}.Run(bytes.NewBufferString(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Run(%q) = nil error", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("Run(%q) = %q, want it to contain %q", tt.in, out, w)
				}
			}
			if n := strings.Count(out.String(), "krateo.io/composition-name: demo"); n != strings.Count(tt.in, "kind:") {
				t.Errorf("Run(%q) labelled %d objects, want %d", tt.in, n, strings.Count(tt.in, "kind:"))
			}
		})
	}
}
