package workflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name, in string
		want     []part
		err      string
	}{
		{"plain", "hello", []part{{lit: "hello"}}, ""},
		{"single", "${parameters.x}", []part{{expr: "parameters.x", raw: "${parameters.x}"}}, ""},
		{"mixed", "a ${x} b", []part{{lit: "a "}, {expr: "x", raw: "${x}"}, {lit: " b"}}, ""},
		{"escaped", "$${x} ${y}", []part{{lit: "${x} "}, {expr: "y", raw: "${y}"}}, ""},
		{"braces and quotes inside", `${ {"a": "}"}.a }`, []part{{expr: ` {"a": "}"}.a `, raw: `${ {"a": "}"}.a }`}}, ""},
		{"relay quoted segment", `${outputs.'my-step'.x}`, []part{{expr: `outputs['my-step'].x`, raw: `${outputs.'my-step'.x}`}}, ""},
		{"escaped quote", `${"a\"}"}`, []part{{expr: `"a\"}"`, raw: `${"a\"}"}`}}, ""},
		{"unterminated", "${x", nil, `"${" without its closing "}"`},
		{"unterminated string", `${"x}`, nil, "unterminated string literal in expression"},
		{"empty", "${ }", nil, `empty expression "${}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTemplate(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("parseTemplate(%q) = %v, want error %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseTemplate(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got.parts, cmp.AllowUnexported(part{})); d != "" {
				t.Errorf("parseTemplate(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}
