package ldap

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// Defaults for the optional Config fields.
const (
	DefaultUserFilter  = "(uid={username})"
	DefaultGroupFilter = "(|(member={dn})(uniqueMember={dn})(memberUid={username}))"
	DefaultTimeout     = 10 * time.Second
)

// maxUsernameLen bounds what is sent to the directory; no directory's login names come near it.
const maxUsernameLen = 256

// Config says which directory to ask and how. Placeholders in the filters are replaced by LDAP-filter-escaped
// values (RFC 4515), so a username can never change a filter's structure.
type Config struct {
	// URL is ldaps://host[:port] or ldap://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before anything is sent.
	StartTLS bool
	// CAFile is a PEM bundle of the CAs that may sign the directory's certificate; empty means the system roots.
	CAFile string
	// ServerName overrides the name the directory's certificate is checked against (default: the URL's host).
	ServerName string
	// AllowPlain permits ldap:// without StartTLS, which sends passwords in clear text. For tests and loopback.
	AllowPlain bool
	// BindDN and BindPassword are the service account that searches for users; empty BindDN searches anonymously.
	BindDN, BindPassword string
	// BaseDN is where users are searched (whole subtree).
	BaseDN string
	// UserFilter finds the user: default "(uid={username})"; Active Directory uses "(sAMAccountName={username})".
	// It must contain {username}. The attribute compared with {username} is the one whose stored value becomes
	// DirectoryUser.Username.
	UserFilter string
	// GroupBaseDN is where groups are searched (default BaseDN).
	GroupBaseDN string
	// GroupFilter finds the user's groups; {dn} is the user's DN and {username} the login name as stored. Default
	// DefaultGroupFilter. Active Directory may use "(member:1.2.840.113556.1.4.1941:={dn})" for nested groups.
	// The user entry's memberOf values count as groups too.
	GroupFilter string
	// GroupMap maps directory groups to runplane group names. A key is a group DN, compared case- and
	// space-insensitively (so "CN=Ops, OU=Groups, DC=example, DC=org" equals "cn=ops,ou=groups,dc=example,dc=org"),
	// or, when it contains no "=", a bare CN compared the same way with the first RDN of the group's DN.
	// Directory groups not in the map are left out.
	GroupMap map[string]string
	// Timeout bounds a whole login (dial, TLS, binds, searches); default 10s. A context deadline that is sooner wins.
	Timeout time.Duration
}

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if c.UserFilter == "" {
		c.UserFilter = DefaultUserFilter
	}
	if c.GroupBaseDN == "" {
		c.GroupBaseDN = c.BaseDN
	}
	if c.GroupFilter == "" {
		c.GroupFilter = DefaultGroupFilter
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem of the configuration at once. Empty optional fields take their defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("ldap: "+format, args...)) }

	if c.URL == "" {
		add("URL is required")
	} else if u, err := parseURL(c.URL); err != nil {
		errs = append(errs, err)
	} else {
		switch {
		case u.Scheme == "ldaps" && c.StartTLS:
			add("StartTLS cannot be used with ldaps:// (the connection is already TLS)")
		case u.Scheme == "ldap" && !c.StartTLS && !c.AllowPlain:
			add("%s would send passwords in clear text: use ldaps://, enable StartTLS, or set AllowPlain", c.URL)
		}
	}
	if c.CAFile != "" {
		if _, err := loadCAFile(c.CAFile); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BaseDN == "" {
		add("BaseDN is required")
	} else if _, err := goldap.ParseDN(c.BaseDN); err != nil {
		add("BaseDN %q: %v", c.BaseDN, err)
	}
	if _, err := goldap.ParseDN(c.GroupBaseDN); err != nil {
		add("GroupBaseDN %q: %v", c.GroupBaseDN, err)
	}
	switch {
	case c.BindDN != "" && c.BindPassword == "":
		// An empty password turns a bind into an unauthenticated one, which servers accept without checking.
		add("BindPassword is required with BindDN")
	case c.BindDN == "" && c.BindPassword != "":
		add("BindPassword is set but BindDN is empty")
	case c.BindDN != "":
		if _, err := goldap.ParseDN(c.BindDN); err != nil {
			add("BindDN %q: %v", c.BindDN, err)
		}
	}
	if err := checkFilter("UserFilter", c.UserFilter, true); err != nil {
		errs = append(errs, err)
	}
	if err := checkFilter("GroupFilter", c.GroupFilter, false); err != nil {
		errs = append(errs, err)
	}
	if _, err := newGroupMap(c.GroupMap); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		add("Timeout %v is negative", c.Timeout)
	}
	return errors.Join(errs...)
}

// parseURL accepts ldap:// and ldaps:// URLs naming a host, with an optional port and an empty path.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("ldap: URL %q: %v", raw, err)
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return nil, fmt.Errorf("ldap: URL %q: scheme must be ldaps:// or ldap://", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("ldap: URL %q has no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("ldap: URL %q: only scheme, host and port are allowed", raw)
	}
	return u, nil
}

// hostPort is the address to dial for u, with the scheme's default port.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = goldap.DefaultLdapPort
		if u.Scheme == "ldaps" {
			port = goldap.DefaultLdapsPort
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ldap: CAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ldap: CAFile %s holds no PEM certificate", path)
	}
	return pool, nil
}

// checkFilter compiles filter with sample values so that a broken filter is found at startup, not at login.
func checkFilter(name, filter string, isUser bool) error {
	hasUser := strings.Contains(filter, "{username}")
	hasDN := strings.Contains(filter, "{dn}")
	switch {
	case isUser && !hasUser:
		return fmt.Errorf("ldap: %s %q must contain {username}", name, filter)
	case isUser && hasDN:
		return fmt.Errorf("ldap: %s %q cannot use {dn} (the DN is what it looks for)", name, filter)
	case !isUser && !hasUser && !hasDN:
		// Without either, every user would get every group the filter finds.
		return fmt.Errorf("ldap: %s %q must contain {dn} or {username}", name, filter)
	}
	if _, err := goldap.CompileFilter(expandFilter(filter, "user", "cn=user,dc=example")); err != nil {
		return fmt.Errorf("ldap: %s %q: %v", name, filter, err)
	}
	return nil
}

// expandFilter puts the filter-escaped username and DN into filter in one pass, so a username spelled "{dn}"
// is not expanded a second time.
func expandFilter(filter, username, dn string) string {
	return strings.NewReplacer(
		"{username}", goldap.EscapeFilter(username),
		"{dn}", goldap.EscapeFilter(dn),
	).Replace(filter)
}

// userAttrRE finds the attribute compared with {username} in an equality assertion, e.g. uid in "(uid={username})".
var userAttrRE = regexp.MustCompile(`\(([A-Za-z][A-Za-z0-9-]*)=\{username\}\)`)

// userAttribute is the attribute whose stored value is the user's name, or "" when the filter compares
// {username} in a way the stored value cannot be read back from (then the given username is used).
func userAttribute(filter string) string {
	if m := userAttrRE.FindStringSubmatch(filter); m != nil {
		return m[1]
	}
	return ""
}

// validUsername rejects what no directory's login name is, before anything is sent.
func validUsername(s string) bool {
	return s != "" && len(s) <= maxUsernameLen && utf8.ValidString(s) && strings.TrimSpace(s) != ""
}
