package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestIDOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sent string
		keep bool
	}{
		{"none", "", false},
		{"uuid", "0b7e2c1e-9d1a-4c55-8f67-3f7f5b1c2d4e", true},
		{"visible ASCII", "a!~/:=.x", true},
		{"128 characters", strings.Repeat("a", 128), true},
		{"129 characters", strings.Repeat("a", 129), false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"newline", "a\nmsg=forged", false},
		{"double quote", `a"b`, true}, // the log handler quotes it; it cannot end the line
		{"non-ASCII", "ié", false},
		{"DEL", "a\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			if tt.sent != "" {
				r.Header["X-Request-Id"] = []string{tt.sent}
			}
			got := requestIDOf(r)
			if tt.keep && got != tt.sent {
				t.Errorf("requestIDOf(%q) = %q, want it kept", tt.sent, got)
			}
			if !tt.keep && (got == tt.sent || !validRequestID(got)) {
				t.Errorf("requestIDOf(%q) = %q, want a new valid id", tt.sent, got)
			}
		})
	}
}

// FuzzRequestID checks that whatever a client sends as X-Request-Id, the id used is valid, and is the client's
// exactly when that was valid.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "a\nb", strings.Repeat("z", 200), "\x00", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sent string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["X-Request-Id"] = []string{sent}
		got := requestIDOf(r)
		if !validRequestID(got) {
			t.Fatalf("requestIDOf(%q) = %q, not a valid id", sent, got)
		}
		for _, c := range []byte(got) {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("requestIDOf(%q) = %q holds byte %#x", sent, got, c)
			}
		}
		if (got == sent) != (sent != "" && len(sent) <= 128 && validRequestID(sent)) {
			t.Fatalf("requestIDOf(%q) = %q", sent, got)
		}
	})
}
