package ldap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := Config{URL: "ldaps://ldap.example.org", BaseDN: "dc=example,dc=org"}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string // "" means valid
	}{
		{"minimal ldaps", func(*Config) {}, ""},
		{"ldap with StartTLS", func(c *Config) { c.URL, c.StartTLS = "ldap://ldap.example.org:389", true }, ""},
		{"plain ldap allowed", func(c *Config) { c.URL, c.AllowPlain = "ldap://127.0.0.1:389/", true }, ""},
		{"service account", func(c *Config) { c.BindDN, c.BindPassword = "cn=svc,dc=example,dc=org", "pw" }, ""},
		{"Active Directory filter", func(c *Config) { c.UserFilter = "(sAMAccountName={username})" }, ""},
		{"AD nested groups filter", func(c *Config) { c.GroupFilter = "(member:1.2.840.113556.1.4.1941:={dn})" }, ""},
		{"group map", func(c *Config) {
			c.GroupMap = map[string]string{"cn=ops,ou=groups,dc=example,dc=org": "ops", "Admins": "admins"}
		}, ""},

		{"missing URL", func(c *Config) { c.URL = "" }, "URL is required"},
		{"bad scheme", func(c *Config) { c.URL = "http://ldap.example.org" }, "scheme must be ldaps:// or ldap://"},
		{"ldapi", func(c *Config) { c.URL = "ldapi:///var/run/slapd/ldapi" }, "scheme must be"},
		{"no host", func(c *Config) { c.URL = "ldaps://" }, "has no host"},
		{"path in URL", func(c *Config) { c.URL = "ldaps://ldap.example.org/dc=example,dc=org" }, "only scheme, host and port"},
		{"unparsable URL", func(c *Config) { c.URL = "ldaps://[::1" }, "URL"},
		{"plain ldap refused", func(c *Config) { c.URL = "ldap://ldap.example.org" },
			"use ldaps://, enable StartTLS, or set AllowPlain"},
		{"StartTLS on ldaps", func(c *Config) { c.StartTLS = true }, "StartTLS cannot be used with ldaps://"},
		{"missing CA file", func(c *Config) { c.CAFile = filepath.Join(dir, "missing.pem") }, "CAFile"},
		{"CA file without certificate", func(c *Config) { c.CAFile = notPEM }, "holds no PEM certificate"},
		{"missing BaseDN", func(c *Config) { c.BaseDN = "" }, "BaseDN is required"},
		{"bad BaseDN", func(c *Config) { c.BaseDN = "example" }, "BaseDN"},
		{"bad GroupBaseDN", func(c *Config) { c.GroupBaseDN = "groups" }, "GroupBaseDN"},
		{"BindDN without password", func(c *Config) { c.BindDN = "cn=svc,dc=example,dc=org" },
			"BindPassword is required with BindDN"},
		{"password without BindDN", func(c *Config) { c.BindPassword = "pw" }, "BindDN is empty"},
		{"bad BindDN", func(c *Config) { c.BindDN, c.BindPassword = "svc", "pw" }, "BindDN"},
		{"user filter without placeholder", func(c *Config) { c.UserFilter = "(uid=alice)" }, "must contain {username}"},
		{"user filter with dn", func(c *Config) { c.UserFilter = "(&(uid={username})(member={dn}))" }, "cannot use {dn}"},
		{"user filter that does not compile", func(c *Config) { c.UserFilter = "uid={username}" }, "UserFilter"},
		{"unbalanced user filter", func(c *Config) { c.UserFilter = "(&(uid={username})" }, "UserFilter"},
		{"group filter without placeholder", func(c *Config) { c.GroupFilter = "(objectClass=group)" },
			"must contain {dn} or {username}"},
		{"group filter that does not compile", func(c *Config) { c.GroupFilter = "(member={dn}" }, "GroupFilter"},
		{"empty group name", func(c *Config) { c.GroupMap = map[string]string{"ops": " "} }, "runplane group name is empty"},
		{"bad group DN key", func(c *Config) { c.GroupMap = map[string]string{"cn=ops,=x": "ops"} }, "GroupMap key"},
		{"empty group key", func(c *Config) { c.GroupMap = map[string]string{" ": "ops"} }, "GroupMap key"},
		{"keys naming one group, two names", func(c *Config) {
			c.GroupMap = map[string]string{"CN=Ops,DC=example,DC=org": "a", "cn=ops, dc=example, dc=org": "b"}
		}, "names the same directory group"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Validate() = nil, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := Config{}.Validate()
	for _, want := range []string{"URL is required", "BaseDN is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Config{}.Validate() = %v, want it to contain %q", err, want)
		}
	}
}

func TestUserAttribute(t *testing.T) {
	t.Parallel()
	tests := []struct{ filter, want string }{
		{DefaultUserFilter, "uid"},
		{"(sAMAccountName={username})", "sAMAccountName"},
		{"(&(objectClass=user)(sAMAccountName={username}))", "sAMAccountName"},
		{"(&(objectCategory=person)(userPrincipalName={username}))", "userPrincipalName"},
		{"(|(uid={username})(mail={username}))", "uid"},
		{"(mail={username}@example.org)", ""},
		{"(uid=*{username}*)", ""},
		{"(cn={username})", "cn"},
	}
	for _, tt := range tests {
		if got := userAttribute(tt.filter); got != tt.want {
			t.Errorf("userAttribute(%q) = %q, want %q", tt.filter, got, tt.want)
		}
	}
}

func TestExpandFilter(t *testing.T) {
	t.Parallel()
	tests := []struct{ filter, username, dn, want string }{
		{DefaultUserFilter, "alice", "", "(uid=alice)"},
		{DefaultUserFilter, "*", "", `(uid=\2a)`},
		{DefaultUserFilter, "alice)(uid=*", "", `(uid=alice\29\28uid=\2a)`},
		{DefaultUserFilter, `a\b`, "", `(uid=a\5cb)`},
		{DefaultUserFilter, "jürgen", "", `(uid=j\c3\bcrgen)`},
		// A username spelled like a placeholder stays text.
		{"(&(uid={username})(x={dn}))", "{dn}", "cn=a", "(&(uid={dn})(x=cn=a))"},
		{DefaultGroupFilter, "bob", "cn=Bob (ops),dc=x",
			`(|(member=cn=Bob \28ops\29,dc=x)(uniqueMember=cn=Bob \28ops\29,dc=x)(memberUid=bob))`},
	}
	for _, tt := range tests {
		if got := expandFilter(tt.filter, tt.username, tt.dn); got != tt.want {
			t.Errorf("expandFilter(%q, %q, %q) = %q, want %q", tt.filter, tt.username, tt.dn, got, tt.want)
		}
	}
}

func TestNormalizeGroupKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key      string
		wantNorm string
		wantDN   bool
	}{
		{"cn=ops,ou=groups,dc=example,dc=org", "cn=ops,ou=groups,dc=example,dc=org", true},
		{"CN=Ops, OU=Groups, DC=Example, DC=Org", "cn=ops,ou=groups,dc=example,dc=org", true},
		{" cn = Domain   Admins ,dc=example", "cn=domain admins,dc=example", true},
		{`cn=a\,b,dc=x`, `cn=a\,b,dc=x`, true},
		{`cn=a\2cb,dc=x`, `cn=a\,b,dc=x`, true},
		{"cn=b+uid=a,dc=x", "cn=b+uid=a,dc=x", true},
		{"uid=a+cn=b,dc=x", "cn=b+uid=a,dc=x", true},
		{"Operators", "operators", false},
		{"  Domain   Admins ", "domain admins", false},
	}
	for _, tt := range tests {
		norm, isDN, err := normalizeGroupKey(tt.key)
		if err != nil || norm != tt.wantNorm || isDN != tt.wantDN {
			t.Errorf("normalizeGroupKey(%q) = %q, %v, %v, want %q, %v, nil", tt.key, norm, isDN, err,
				tt.wantNorm, tt.wantDN)
		}
	}
}

func TestRunplaneGroups(t *testing.T) {
	t.Parallel()
	gm, err := newGroupMap(map[string]string{
		"cn=ops,ou=groups,dc=example,dc=org": "operators",
		"Admins":                             "admins",
		"Domain Admins":                      "admins",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dns  []string
		want []string
	}{
		{"none", nil, nil},
		{"by DN", []string{"CN=Ops,OU=Groups,DC=example,DC=org"}, []string{"operators"}},
		{"by CN anywhere", []string{"cn=admins,ou=elsewhere,dc=x"}, []string{"admins"}},
		{"CN in another RDN does not count", []string{"ou=admins,dc=x"}, nil},
		{"unmapped left out", []string{"cn=other,dc=x", "not a DN"}, nil},
		{"deduplicated and sorted", []string{
			"cn=Domain Admins,dc=x", "cn=ops,ou=groups,dc=example,dc=org", "CN=ADMINS,DC=y",
		}, []string{"admins", "operators"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, gm.runplaneGroups(tt.dns)); diff != "" {
			t.Errorf("runplaneGroups(%q) mismatch (-want +got):\n%s", tt.dns, diff)
		}
	}
}
