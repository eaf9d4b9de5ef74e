package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/auth/ldap"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	want := Config{Listen: "127.0.0.1:8080", DataDir: "./runplane-data", TokenTTL: 24 * time.Hour,
		LogRetention: 720 * time.Hour, MaxBodyBytes: 1 << 20, Isolation: "auto", LeaseTTL: 30 * time.Second}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("DefaultConfig (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" means valid
	}{
		{"default", func(*Config) {}, ""},
		{"any interface", func(c *Config) { c.Listen = ":9090" }, ""},
		{"ipv6", func(c *Config) { c.Listen = "[::1]:0" }, ""},
		{"no listen", func(c *Config) { c.Listen = "" }, "listen address is required"},
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, "want host:port"},
		{"listen bad port", func(c *Config) { c.Listen = "localhost:http" }, "port must be a number"},
		{"listen port too big", func(c *Config) { c.Listen = "localhost:70000" }, "port must be a number"},
		{"no data dir", func(c *Config) { c.DataDir = " " }, "data dir is required"},
		{"negative jobs", func(c *Config) { c.MaxConcurrentJobs = -1 }, "max concurrent jobs"},
		{"short token ttl", func(c *Config) { c.TokenTTL = time.Second }, "token TTL"},
		{"short lease ttl", func(c *Config) { c.LeaseTTL = time.Millisecond }, "lease TTL"},
		{"negative retention", func(c *Config) { c.LogRetention = -time.Hour }, "log retention"},
		{"zero retention keeps forever", func(c *Config) { c.LogRetention = 0 }, ""},
		{"negative git ttl", func(c *Config) { c.GitCacheTTL = -time.Second }, "git cache TTL"},
		{"tiny body limit", func(c *Config) { c.MaxBodyBytes = 10 }, "max body bytes"},
		{"huge root password", func(c *Config) { c.RootPassword = strings.Repeat("p", 2000) }, "root password"},
		{"bad isolation", func(c *Config) { c.Isolation = "docker" }, "isolation"},
		{"isolation none", func(c *Config) { c.Isolation = "none" }, ""},
		{"store sqlite", func(c *Config) { c.Store = "sqlite" }, ""},
		{"store postgres", func(c *Config) { c.Store = "postgres://u:secret-pw@db:5432/runplane?sslmode=disable" }, ""},
		{"store postgresql", func(c *Config) { c.Store = "postgresql://db/runplane" }, ""},
		{"store mysql", func(c *Config) { c.Store = "mysql://u:secret-pw@db/runplane" }, `want "sqlite" or a postgres://`},
		{"store bad url", func(c *Config) { c.Store = "postgres://u:secret-pw@db:port/x" }, "does not parse"},
		{"ldap plain refused", func(c *Config) {
			c.LDAP.URL, c.LDAP.BaseDN = "ldap://dc.example.org", "dc=example,dc=org"
		}, "ldap"},
		{"ldap ldaps", func(c *Config) {
			c.LDAP.URL, c.LDAP.BaseDN = "ldaps://dc.example.org", "dc=example,dc=org"
		}, ""},
		{"ldap without base", func(c *Config) { c.LDAP.URL = "ldaps://dc.example.org" }, "ldap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if c.RootPassword != "" && err != nil && strings.Contains(err.Error(), c.RootPassword) {
				t.Errorf("Validate() error repeats the root password")
			}
			if err != nil && strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("Validate() error repeats the store password: %v", err)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	t.Run("all set", func(t *testing.T) {
		t.Parallel()
		c := DefaultConfig()
		err := c.LoadEnv(env(map[string]string{
			"RUNPLANE_LISTEN": "0.0.0.0:9000", "RUNPLANE_DATA_DIR": "/var/lib/runplane",
			"RUNPLANE_MAX_CONCURRENT_JOBS": "8", "RUNPLANE_ROOT_PASSWORD": "pw",
			"RUNPLANE_TOKEN_TTL": "1h", "RUNPLANE_LOG_RETENTION": "0s", "RUNPLANE_GIT_CACHE_TTL": "30s",
			"RUNPLANE_MAX_BODY_BYTES": "2048", "RUNPLANE_ISOLATION": "none",
			"RUNPLANE_LEASE_TTL": "5s", "RUNPLANE_KEYS_DIR": "/etc/runplane/keys",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Listen: "0.0.0.0:9000", DataDir: "/var/lib/runplane", MaxConcurrentJobs: 8, RootPassword: "pw",
			TokenTTL: time.Hour, LogRetention: 0, GitCacheTTL: 30 * time.Second, MaxBodyBytes: 2048, Isolation: "none",
			LeaseTTL: 5 * time.Second, KeysDir: "/etc/runplane/keys"}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("LoadEnv (-want +got):\n%s", diff)
		}
	})
	t.Run("store and ldap", func(t *testing.T) {
		t.Parallel()
		pwFile := filepath.Join(t.TempDir(), "bind-pw")
		if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig()
		err := c.LoadEnv(env(map[string]string{
			"RUNPLANE_STORE":                   "postgres://db/runplane",
			"RUNPLANE_LDAP_URL":                "ldap://dc:389",
			"RUNPLANE_LDAP_START_TLS":          "true",
			"RUNPLANE_LDAP_CA_FILE":            "/etc/ca.pem",
			"RUNPLANE_LDAP_SERVER_NAME":        "dc.example.org",
			"RUNPLANE_LDAP_ALLOW_PLAIN":        "false",
			"RUNPLANE_LDAP_BIND_DN":            "cn=svc",
			"RUNPLANE_LDAP_BIND_PASSWORD_FILE": pwFile,
			"RUNPLANE_LDAP_BASE_DN":            "dc=example,dc=org",
			"RUNPLANE_LDAP_USER_FILTER":        "(sAMAccountName={username})",
			"RUNPLANE_LDAP_GROUP_BASE_DN":      "ou=groups,dc=example,dc=org",
			"RUNPLANE_LDAP_GROUP_FILTER":       "(member={dn})",
			"RUNPLANE_LDAP_GROUP_MAP":          `{"cn=ops,ou=groups,dc=example,dc=org": "operators"}`,
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultConfig()
		want.Store = "postgres://db/runplane"
		want.LDAP = ldap.Config{URL: "ldap://dc:389", StartTLS: true, CAFile: "/etc/ca.pem", ServerName: "dc.example.org",
			BindDN: "cn=svc", BindPassword: "from-file", BaseDN: "dc=example,dc=org", UserFilter: "(sAMAccountName={username})",
			GroupBaseDN: "ou=groups,dc=example,dc=org", GroupFilter: "(member={dn})",
			GroupMap: map[string]string{"cn=ops,ou=groups,dc=example,dc=org": "operators"}}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("LoadEnv (-want +got):\n%s", diff)
		}
	})
	t.Run("unset and empty keep defaults", func(t *testing.T) {
		t.Parallel()
		c := DefaultConfig()
		if err := c.LoadEnv(env(map[string]string{"RUNPLANE_LISTEN": "", "RUNPLANE_TOKEN_TTL": ""})); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(DefaultConfig(), c); diff != "" {
			t.Errorf("LoadEnv (-want +got):\n%s", diff)
		}
	})
	bad := []struct{ name, value string }{
		{"RUNPLANE_MAX_CONCURRENT_JOBS", "many"},
		{"RUNPLANE_MAX_CONCURRENT_JOBS", "-1"},
		{"RUNPLANE_MAX_BODY_BYTES", "1MB"},
		{"RUNPLANE_MAX_BODY_BYTES", "0"},
		{"RUNPLANE_TOKEN_TTL", "tomorrow"},
		{"RUNPLANE_TOKEN_TTL", "30"},
		{"RUNPLANE_LOG_RETENTION", "-1h"},
		{"RUNPLANE_GIT_CACHE_TTL", "1 minute"},
		{"RUNPLANE_LEASE_TTL", "soon"},
		{"RUNPLANE_LDAP_START_TLS", "sometimes"},
		{"RUNPLANE_LDAP_ALLOW_PLAIN", "2"},
		{"RUNPLANE_LDAP_GROUP_MAP", "cn=ops=operators"},
		{"RUNPLANE_LDAP_BIND_PASSWORD_FILE", "/nonexistent/runplane-test"},
	}
	for _, b := range bad {
		t.Run(b.name+"="+b.value, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			err := c.LoadEnv(env(map[string]string{b.name: b.value}))
			if err == nil || !strings.Contains(err.Error(), b.name) {
				t.Errorf("LoadEnv(%s=%q) = %v, want an error naming the variable", b.name, b.value, err)
			}
		})
	}
}
