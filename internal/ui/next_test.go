package ui

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"page", "/jobs/hello-abcde", "/jobs/hello-abcde"},
		{"page with query", "/jobs?task=a%20b&page=2", "/jobs?task=a%20b&page=2"},
		{"empty", "", "/tasks"},
		{"relative", "jobs", "/tasks"},
		{"scheme", "https://evil.example/", "/tasks"},
		{"protocol-relative", "//evil.example/", "/tasks"},
		{"backslash", "/\\evil.example/", "/tasks"},
		{"backslash later", "/a\\b", "/tasks"},
		{"tab makes it protocol-relative", "/\t/evil.example", "/tasks"},
		{"newline", "/\n/evil.example", "/tasks"},
		{"javascript", "javascript:alert(1)", "/tasks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safeNext(tt.in); got != tt.want {
				t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSafeNext: whatever comes in, what goes out is a path on this server, as a browser would read it.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/jobs", "//x", "/\\x", "/\t/x", "http://x", "/%2F%2Fx", "/a?b=//c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		// Browsers drop ASCII tabs and newlines from URLs and treat \ as /.
		seen := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(out)
		u, err := url.Parse(seen)
		if err != nil || !strings.HasPrefix(seen, "/") || strings.HasPrefix(seen, "//") || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q: not a path on this server", in, out)
		}
		if out != in && out != "/tasks" {
			t.Fatalf("safeNext(%q) = %q: changed, not refused", in, out)
		}
	})
}
