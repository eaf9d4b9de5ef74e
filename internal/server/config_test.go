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
		LogRetention: 720 * time.Hour, MaxBodyBytes: 1 << 20, Isolation: "auto", LeaseTTL: 30 * time.Second,
		DefaultTimeout: time.Hour, MaxLogSize: 100 << 20, MaxQueuedPerOwner: 1000,
		BodyTimeout: 30 * time.Second, MaxConns: 4096, MaxConnsPerAddr: 256,
		Executor: "local", JobTTL: 5 * time.Minute, PodStartTimeout: 5 * time.Minute}
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
		{"no default timeout", func(c *Config) { c.DefaultTimeout = 0 }, ""},
		{"negative default timeout", func(c *Config) { c.DefaultTimeout = -time.Second }, "default timeout -1s must not be negative"},
		{"no log cap", func(c *Config) { c.MaxLogSize = 0 }, ""},
		{"smallest log cap", func(c *Config) { c.MaxLogSize = 1024 }, ""},
		{"tiny log cap", func(c *Config) { c.MaxLogSize = 1023 }, "max log size 1023: want 0 (no cap) or at least 1024 bytes"},
		{"negative log cap", func(c *Config) { c.MaxLogSize = -1 }, "max log size -1"},
		{"no queue cap", func(c *Config) { c.MaxQueuedPerOwner = 0 }, ""},
		{"negative queue cap", func(c *Config) { c.MaxQueuedPerOwner = -5 }, "max queued jobs per owner -5 must not be negative"},
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
		{"executor kubernetes", func(c *Config) {
			c.Executor, c.Kubeconfig, c.Namespace = "kubernetes", "/etc/kube/config", "runplane-jobs"
			c.JobImage, c.JobServiceAccount = "ghcr.io/runplane/runplane:v1@sha256:"+strings.Repeat("a", 64), "runplane.jobs"
			c.JobTTL, c.PodStartTimeout = 0, time.Second
		}, ""},
		{"executor empty is local", func(c *Config) { c.Executor = "" }, ""},
		{"kubernetes settings ignored by local", func(c *Config) {
			c.Executor, c.Namespace, c.JobImage, c.JobServiceAccount = "local", "jobs", "runplane:dev", "sa"
		}, ""},
		{"unknown executor", func(c *Config) { c.Executor = "docker" }, `executor "docker": want local or kubernetes`},
		{"executor case", func(c *Config) { c.Executor = "Kubernetes" }, `want local or kubernetes`},
		{"namespace capitals", func(c *Config) { c.Namespace = "Jobs" }, `namespace "Jobs"`},
		{"namespace too long", func(c *Config) { c.Namespace = strings.Repeat("n", 64) }, "namespace"},
		{"namespace dots", func(c *Config) { c.Namespace = "a.b" }, "namespace"},
		{"job image spaces", func(c *Config) { c.JobImage = "runplane: v1" }, `job image "runplane: v1"`},
		{"job service account", func(c *Config) { c.JobServiceAccount = "Job_SA" }, `job service account "Job_SA"`},
		{"negative job ttl", func(c *Config) { c.JobTTL = -time.Second }, "job TTL -1s"},
		{"huge job ttl", func(c *Config) { c.JobTTL = 100 * 365 * 24 * time.Hour }, "job TTL"},
		{"zero pod start timeout", func(c *Config) { c.PodStartTimeout = 0 }, "pod start timeout 0s"},
		{"negative pod start timeout", func(c *Config) { c.PodStartTimeout = -time.Minute }, "pod start timeout"},
		{"image allowlist", func(c *Config) { c.ImageAllowlist = []string{"docker.io/library/*", "registry.corp/**"} }, ""},
		{"image allowlist empty pattern", func(c *Config) { c.ImageAllowlist = []string{"docker.io/library/*", ""} }, `image allowlist pattern 2 "": is empty`},
		{"image allowlist whitespace", func(c *Config) { c.ImageAllowlist = []string{"docker.io/ library/*"} }, "holds whitespace"},
		{"image allowlist absurd", func(c *Config) { c.ImageAllowlist = []string{strings.Repeat("x", 10000)} }, "longer than 512"},
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
			"RUNPLANE_DEFAULT_TIMEOUT": "0s", "RUNPLANE_MAX_LOG_SIZE": "512KiB", "RUNPLANE_MAX_QUEUED_PER_OWNER": "20",
			"RUNPLANE_BODY_TIMEOUT": "5s", "RUNPLANE_MAX_CONNS": "100", "RUNPLANE_MAX_CONNS_PER_ADDR": "0",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Listen: "0.0.0.0:9000", DataDir: "/var/lib/runplane", MaxConcurrentJobs: 8, RootPassword: "pw",
			TokenTTL: time.Hour, LogRetention: 0, GitCacheTTL: 30 * time.Second, MaxBodyBytes: 2048, Isolation: "none",
			LeaseTTL: 5 * time.Second, KeysDir: "/etc/runplane/keys", DefaultTimeout: 0, MaxLogSize: 512 << 10, MaxQueuedPerOwner: 20,
			BodyTimeout: 5 * time.Second, MaxConns: 100, MaxConnsPerAddr: 0,
			Executor: "local", JobTTL: 5 * time.Minute, PodStartTimeout: 5 * time.Minute}
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
	t.Run("kubernetes", func(t *testing.T) {
		t.Parallel()
		c := DefaultConfig()
		err := c.LoadEnv(env(map[string]string{
			"RUNPLANE_EXECUTOR":            "kubernetes",
			"RUNPLANE_KUBECONFIG":          "/etc/kube/config",
			"RUNPLANE_NAMESPACE":           "jobs",
			"RUNPLANE_JOB_IMAGE":           "ghcr.io/runplane/runplane:v1",
			"RUNPLANE_JOB_SERVICE_ACCOUNT": "runner",
			"RUNPLANE_JOB_TTL":             "1h",
			"RUNPLANE_POD_START_TIMEOUT":   "90s",
			"RUNPLANE_IMAGE_ALLOWLIST":     " docker.io/library/*, registry.corp/**,,",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultConfig()
		want.Executor, want.Kubeconfig, want.Namespace = "kubernetes", "/etc/kube/config", "jobs"
		want.JobImage, want.JobServiceAccount = "ghcr.io/runplane/runplane:v1", "runner"
		want.JobTTL, want.PodStartTimeout = time.Hour, 90*time.Second
		want.ImageAllowlist = []string{"docker.io/library/*", "registry.corp/**"}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("LoadEnv (-want +got):\n%s", diff)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate() after LoadEnv = %v", err)
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
		{"RUNPLANE_JOB_TTL", "-5m"},
		{"RUNPLANE_JOB_TTL", "forever"},
		{"RUNPLANE_POD_START_TIMEOUT", "5"},
		{"RUNPLANE_DEFAULT_TIMEOUT", "1 hour"},
		{"RUNPLANE_DEFAULT_TIMEOUT", "-1h"},
		{"RUNPLANE_MAX_LOG_SIZE", "100MB"},
		{"RUNPLANE_MAX_LOG_SIZE", "-1"},
		{"RUNPLANE_MAX_LOG_SIZE", "lots"},
		{"RUNPLANE_MAX_LOG_SIZE", "99999999999GiB"},
		{"RUNPLANE_MAX_QUEUED_PER_OWNER", "-1"},
		{"RUNPLANE_MAX_QUEUED_PER_OWNER", "many"},
		{"RUNPLANE_MAX_CONNS", "-1"},
		{"RUNPLANE_MAX_CONNS_PER_ADDR", "lots"},
		{"RUNPLANE_BODY_TIMEOUT", "30"},
		{"RUNPLANE_ROOT_PASSWORD_FILE", "/nonexistent/runplane-test"},
		{"RUNPLANE_STORE_FILE", "/nonexistent/runplane-test"},
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

func TestSplitList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{" , ,"}, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a, b ,c,"}, []string{"a", "b", "c"}},
		{[]string{"a,b", "c", " d , e"}, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		if got := SplitList(tt.in...); !cmp.Equal(got, tt.want) {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoadEnvSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{
		"RUNPLANE_ROOT_PASSWORD_FILE":      file("root", "root-pw\r\n"),
		"RUNPLANE_STORE_FILE":              file("store", "postgres://u:store-pw@db/runplane\n"),
		"RUNPLANE_LDAP_BIND_PASSWORD_FILE": file("bind", "bind-pw"),
	}
	c := DefaultConfig()
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.RootPassword != "root-pw" || c.Store != "postgres://u:store-pw@db/runplane" || c.LDAP.BindPassword != "bind-pw" {
		t.Errorf("LoadEnv from files: root %q, store %q, bind %q", c.RootPassword, c.Store, c.LDAP.BindPassword)
	}
	for _, name := range []string{"RUNPLANE_ROOT_PASSWORD", "RUNPLANE_STORE", "RUNPLANE_LDAP_BIND_PASSWORD"} {
		both := map[string]string{name: "x", name + "_FILE": file("both", "y")}
		c := DefaultConfig()
		err := c.LoadEnv(func(k string) (string, bool) { v, ok := both[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), name+" and "+name+"_FILE are both set") {
			t.Errorf("LoadEnv with %s and %s_FILE = %v, want an error naming both", name, name, err)
		}
	}
}

// TestLoadProcessEnvDropsSecrets: once read, the secrets are gone from the server's environment, so no process it
// starts inherits them; everything else stays.
func TestLoadProcessEnvDropsSecrets(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "root-pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantRoot string
	}{
		{"values", map[string]string{"RUNPLANE_ROOT_PASSWORD": "root-pw", "RUNPLANE_STORE": "postgres://u:store-pw@db/x",
			"RUNPLANE_LDAP_BIND_PASSWORD": "bind-pw"}, "root-pw"},
		{"root password from a file", map[string]string{"RUNPLANE_ROOT_PASSWORD_FILE": pwFile}, "from-file"},
		{"refused config", map[string]string{"RUNPLANE_ROOT_PASSWORD": "root-pw", "RUNPLANE_TOKEN_TTL": "soon"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range append(secretVars, "RUNPLANE_ROOT_PASSWORD_FILE", "RUNPLANE_STORE_FILE", "RUNPLANE_LDAP_BIND_PASSWORD_FILE", "RUNPLANE_TOKEN_TTL") {
				t.Setenv(name, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			t.Setenv("RUNPLANE_LISTEN", "127.0.0.1:0")
			c := DefaultConfig()
			err := c.LoadProcessEnv()
			if tt.wantRoot != "" && (err != nil || c.RootPassword != tt.wantRoot) {
				t.Errorf("LoadProcessEnv() = %v, root password %q; want nil, %q", err, c.RootPassword, tt.wantRoot)
			}
			for _, name := range secretVars {
				if v, ok := os.LookupEnv(name); ok {
					t.Errorf("after LoadProcessEnv, %s=%q is still in the environment", name, v)
				}
			}
			if got := os.Getenv("RUNPLANE_LISTEN"); got != "127.0.0.1:0" {
				t.Errorf("after LoadProcessEnv, RUNPLANE_LISTEN = %q, want it kept", got)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64 // -1: an error
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{" 512KiB ", 512 << 10},
		{"512Ki", 512 << 10},
		{"100MiB", 100 << 20},
		{"2Gi", 2 << 30},
		{"", -1},
		{"MiB", -1},
		{"100MB", -1},
		{"1.5GiB", -1},
		{"-1", -1},
		{"100 MiB", -1},
		{"9999999999GiB", -1},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.want < 0 {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
