package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwarded(t *testing.T) {
	t.Parallel()
	trusted, err := ParseProxies([]string{"10.0.0.0/8, 192.0.2.7", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		peer       string
		xff        []string
		proto      string
		wantAddr   string
		wantSecure bool
	}{
		{"untrusted peer: headers ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "https", "203.0.113.5:4000", false},
		{"trusted peer: the client", "10.1.2.3:4000", []string{"198.51.100.1"}, "https", "198.51.100.1:0", true},
		{"a client's own entries further left are not believed", "10.1.2.3:4000", []string{"6.6.6.6, 198.51.100.1"}, "http", "198.51.100.1:0", false},
		{"a chain of trusted proxies", "10.1.2.3:4000", []string{"198.51.100.1, 192.0.2.7", "10.9.9.9"}, "HTTPS", "198.51.100.1:0", true},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"198.51.100.1, nonsense"}, "", "10.1.2.3:0", false},
		{"no header: the proxy itself", "10.1.2.3:4000", nil, "", "10.1.2.3:0", false},
		{"IPv6 proxy, mapped client", "[2001:db8::1]:4000", []string{"::ffff:198.51.100.9"}, "", "198.51.100.9:0", false},
		{"single trusted address", "192.0.2.7:1", []string{"198.51.100.2"}, "", "198.51.100.2:0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotAddr string
			var gotSecure bool
			h := forwarded(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAddr, gotSecure = r.RemoteAddr, isSecure(r)
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if gotAddr != tt.wantAddr || gotSecure != tt.wantSecure {
				t.Errorf("forwarded: RemoteAddr %q, secure %v; want %q, %v", gotAddr, gotSecure, tt.wantAddr, tt.wantSecure)
			}
		})
	}
}

func TestParseProxies(t *testing.T) {
	t.Parallel()
	got, err := ParseProxies([]string{"10.0.0.0/8", " 127.0.0.1 ", "::1,fd00::/8", ""})
	if err != nil || len(got) != 4 || got[1] != netip.MustParsePrefix("127.0.0.1/32") {
		t.Errorf("ParseProxies = %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0"} {
		if _, err := ParseProxies([]string{bad}); err == nil {
			t.Errorf("ParseProxies(%q) succeeded", bad)
		}
	}
}

func FuzzForwarded(f *testing.F) {
	trusted, _ := ParseProxies([]string{"10.0.0.0/8"})
	f.Add("1.2.3.4, 10.0.0.1", "https")
	f.Add(",,,", "")
	f.Fuzz(func(t *testing.T, xff, proto string) {
		h := forwarded(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := netip.ParseAddrPort(r.RemoteAddr); err != nil {
				t.Errorf("RemoteAddr %q after X-Forwarded-For %q is not an address", r.RemoteAddr, xff)
			}
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.2:80"
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Forwarded-Proto", proto)
		h.ServeHTTP(httptest.NewRecorder(), r)
	})
}
