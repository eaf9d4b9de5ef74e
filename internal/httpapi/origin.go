package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/runplane/runplane/internal/auth"
)

// A browser sends the session cookie with every request to the server, whichever page makes it; SameSite=Lax
// keeps it off cross-site POSTs in current browsers, but not off requests from a sibling subdomain ("same site")
// nor in every browser. So a state-changing request that the cookie authenticates (or a login, which sets it) is
// refused when the browser says it comes from elsewhere: an Origin header naming another scheme://host than
// this server's and not in the configured allowlist, or, without Origin, Sec-Fetch-Site: cross-site. Clients
// that send neither header — curl with a cookie jar, the CLI, scripts — keep working; a request that carries an
// API token or a Bearer token is not a browser riding on ambient credentials and is not checked.

// ParseOrigins checks and canonicalizes an allowlist of origins: each must be scheme://host[:port] with scheme
// http or https and nothing else (no path, query, user info). "*" is refused: it would turn the check off.
func ParseOrigins(list []string) (map[string]bool, error) {
	out := make(map[string]bool, len(list))
	for _, o := range list {
		c, ok := canonicalOrigin(o)
		if !ok {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port] with scheme http or https", o)
		}
		out[c] = true
	}
	return out, nil
}

// canonicalOrigin lowercases an origin and drops the default port of its scheme; ok is false for anything that is
// not a plain http(s) origin (including the opaque "null" origin of sandboxed pages and file: URLs).
func canonicalOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	host := stripDefaultPort(strings.ToLower(u.Host), u.Scheme)
	return u.Scheme + "://" + host, true
}

// sameHost reports whether origin (canonical) names the host the request was sent to. Only the host and port
// are compared, not the scheme: behind a proxy that ends TLS the server sees http while the browser says https.
func sameHost(origin string, r *http.Request) bool {
	_, host, _ := strings.Cut(origin, "://")
	return stripDefaultPort(host, "") == stripDefaultPort(strings.ToLower(r.Host), "")
}

// stripDefaultPort drops the default port of scheme from host:port; with no scheme, port 80 or 443.
func stripDefaultPort(hostport, scheme string) string {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil || !(p == "80" && scheme != "https" || p == "443" && scheme != "http") {
		return hostport
	}
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// cookieAuthenticated reports whether auth.Authenticator.Authenticate would take r's credentials from the cookie:
// no Token header, no Authorization header, and a token cookie.
func cookieAuthenticated(r *http.Request) bool {
	if r.Header.Get("Token") != "" || r.Header.Get("Authorization") != "" {
		return false
	}
	c, err := r.Cookie(auth.Cookie)
	return err == nil && c.Value != ""
}

// checkOrigin refuses (403) a request a browser sent from another site. The caller decides which requests need it.
func (h *Handler) checkOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			return withMsg(ErrForbidden, "cross-site request refused: a request authenticated by the session cookie must come from this server's own pages")
		}
		return nil
	}
	c, ok := canonicalOrigin(o)
	if ok && (sameHost(c, r) || h.origins[c]) {
		return nil
	}
	return withMsg(ErrForbidden, "cross-origin request refused: origin %q may not use the session cookie (send a token instead, or ask the operator to allow the origin)", o)
}

// needsOriginCheck: state-changing requests that the session cookie authenticates, and logins (which set it: a
// page elsewhere must not log a browser into an account of its choosing).
func needsOriginCheck(r *http.Request, rt Route) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return false
	}
	return cookieAuthenticated(r) || (rt.Public && strings.HasSuffix(rt.Path, "/login"))
}
