package auth

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClientOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, source, want string
	}{
		{"IPv4", "203.0.113.7", "203.0.113.7"},
		{"IPv4 neighbour is another client", "203.0.113.8", "203.0.113.8"},
		{"IPv6 is its /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"IPv6 in the same /64", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"IPv6 in the next /64", "2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"IPv6 loopback", "::1", "::/64"},
		{"IPv4-mapped IPv6 is the IPv4 address", "::ffff:203.0.113.7", "203.0.113.7"},
		{"zone dropped", "fe80::1%eth0", "fe80::/64"},
		{"not an address", "@", "@"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := clientOf(tt.source); got != tt.want {
				t.Errorf("clientOf(%q) = %q, want %q", tt.source, got, tt.want)
			}
		})
	}
}

// FuzzClientOf: any source maps to a client without panicking; an IP address maps to an IPv4 address or an IPv6
// /64 that contains it, the same for every address of that /64.
func FuzzClientOf(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, source string) {
		got := clientOf(source)
		a, err := netip.ParseAddr(source)
		if err != nil {
			if got != source {
				t.Errorf("clientOf(%q) = %q, want the source itself", source, got)
			}
			return
		}
		a = a.Unmap().WithZone("")
		if a.Is4() {
			if got != a.String() {
				t.Errorf("clientOf(%q) = %q, want %q", source, got, a)
			}
			return
		}
		p, err := netip.ParsePrefix(got)
		if err != nil || p.Bits() != 64 || !p.Contains(a) || strings.Contains(got, "%") {
			t.Errorf("clientOf(%q) = %q, want the /64 containing %v", source, got, a)
		}
	})
}
