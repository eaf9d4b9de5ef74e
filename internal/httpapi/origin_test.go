package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestCanonicalOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://ui.example.com", "https://ui.example.com", true},
		{"HTTPS://UI.Example.com:443", "https://ui.example.com", true},
		{"http://h:80", "http://h", true},
		{"http://h:8080", "http://h:8080", true},
		{"https://h:80", "https://h:80", true},
		{"http://[::1]:80", "http://[::1]", true},
		{"https://h/", "https://h", true},
		{"null", "", false},
		{"*", "", false},
		{"file://", "", false},
		{"ftp://h", "", false},
		{"https://h/path", "", false},
		{"https://u@h", "", false},
		{"https://h?x=1", "", false},
		{"https://", "", false},
	}
	for _, tt := range tests {
		got, ok := canonicalOrigin(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalOrigin(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	h := &Handler{origins: map[string]bool{"https://ui.example.com": true}}
	tests := []struct {
		name, host, origin, fetchSite string
		ok                            bool
	}{
		{"no headers", "api.example.com", "", "", true},
		{"same host", "api.example.com", "https://api.example.com", "same-origin", true},
		{"same host behind a TLS proxy", "api.example.com", "https://api.example.com", "", true},
		{"same host default port in Host", "api.example.com:443", "https://api.example.com", "", true},
		{"allowlisted", "api.example.com", "https://ui.example.com", "same-site", true},
		{"same-site without origin", "api.example.com", "", "same-site", true},
		{"foreign", "api.example.com", "https://evil.example", "", false},
		{"other port", "api.example.com:8080", "http://api.example.com:9090", "", false},
		{"null", "api.example.com", "null", "", false},
		{"cross-site without origin", "api.example.com", "", "cross-site", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://"+tt.host+"/api/v1/runners", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
			}
			if err := h.checkOrigin(r); (err == nil) != tt.ok {
				t.Errorf("checkOrigin(Host %s, Origin %q, Sec-Fetch-Site %q) = %v, want ok %v", tt.host, tt.origin, tt.fetchSite, err, tt.ok)
			}
		})
	}
}

// FuzzCanonicalOrigin: never panics; a canonical origin is a fixed point and is allowed for its own host.
func FuzzCanonicalOrigin(f *testing.F) {
	for _, s := range []string{"https://h", "http://h:80", "null", "https://[::1]:443", "HTTP://X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := canonicalOrigin(s)
		if !ok {
			return
		}
		if again, ok2 := canonicalOrigin(c); !ok2 || again != c {
			t.Fatalf("canonicalOrigin(%q) = %q, but canonicalOrigin(%q) = %q, %v", s, c, c, again, ok2)
		}
	})
}
