package auth

import "net/netip"

// clientOf is the client a login is throttled as, from the address the server saw: an IPv4 address as it is, an
// IPv6 address as its /64 (one subscriber usually holds a whole /64, so a per-address count would let it try
// 2^64 times), an IPv4-mapped IPv6 address as the IPv4 address it maps; zones are dropped. A source that is no IP address (a
// Unix socket's, say) is its own client.
func clientOf(source string) string {
	a, err := netip.ParseAddr(source)
	if err != nil {
		return source
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
