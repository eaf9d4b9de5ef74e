package server

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/internal/auth/ldap"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/imagepolicy"
)

// Config is everything an operator sets. Fill it with DefaultConfig, then LoadEnv and flags, then Validate.
type Config struct {
	// Listen is the TCP address of the HTTP API; port 0 picks a free port (see Server.Addr).
	Listen string
	// DataDir holds the database, keys, job logs, the git cache and job workspaces; created 0700.
	DataDir string
	// MaxConcurrentJobs bounds running jobs; 0 means the default: 4 × GOMAXPROCS for the local executor, 64 for the
	// Kubernetes one.
	MaxConcurrentJobs int
	// RootPassword is the password root is created with. Empty on first start: a random one is generated and
	// printed once. On later starts root keeps the password it has (changed through the API or not), unless
	// ResetRootPassword asks to set it to RootPassword.
	RootPassword string
	// ResetRootPassword resets root's password to RootPassword at start (audited, logged, and ending root's
	// sessions): how a lost root password is recovered.
	ResetRootPassword bool
	// DefaultTimeout ends jobs of tasks without a timeout of their own that run longer (reason "timeout"); 0 means
	// no limit.
	DefaultTimeout time.Duration
	// MaxLogSize caps each job's log in bytes: output past it is dropped (the job runs on) and the log says where it
	// was cut and how much was dropped; 0 means no cap.
	MaxLogSize int64
	// MaxQueuedPerOwner bounds the queued jobs of one owner, across every server sharing the store: a submission past
	// it answers 429 with Retry-After; 0 means no limit.
	MaxQueuedPerOwner int
	// TokenTTL is how long a session token is valid.
	TokenTTL time.Duration
	// LogRetention is how long job logs are kept after their last write; 0 keeps them forever.
	LogRetention time.Duration
	// AuditRetention is how long audit entries are kept; older ones are deleted by the server (never through the
	// API). 0, the default, keeps them forever.
	AuditRetention time.Duration
	// EventRetention is how long CloudEvents are kept (received ones once dispatched); 0 means the default, 7 days.
	EventRetention time.Duration
	// ReconcileInterval is how long after a resource request's (or promise's) configure workflow finished it runs
	// again, unless its promise's spec.workflows.config.reconciliationInterval says otherwise; 0 means 10h.
	ReconcileInterval time.Duration
	// AllowPrivilegedTasks lets event rules (Keptn tasks) ask for a privileged container; otherwise such rules are
	// refused when saved and their actions when an event fires them.
	AllowPrivilegedTasks bool
	// GitCacheTTL is how long a checked branch head is reused without checking again; 0 checks the branch head
	// for every job (cheap: a ref read or one HTTP request) and fetches only when it moved.
	GitCacheTTL time.Duration
	// MaxBodyBytes bounds request bodies; larger ones answer 413.
	MaxBodyBytes int64
	// BodyTimeout bounds how long reading one request's body may take, from its first byte of headers on; a body
	// still arriving after it answers 408 and the connection is closed. 0 means no limit.
	BodyTimeout time.Duration
	// MaxConns caps the HTTP connections open at once, and MaxConnsPerAddr those from one client IP address; a
	// connection past a cap is answered 503 and closed. 0 means no cap. Behind a reverse proxy every client shares
	// the proxy's address: raise MaxConnsPerAddr to what the proxy may hold open.
	MaxConns        int
	MaxConnsPerAddr int
	// Isolation of local jobs: "auto", "namespace", "launcher" or "none" (see executor/local), or "container"
	// (every job in its runner's image, with podman: executor/podman).
	Isolation string
	// LeaseTTL is how long another server waits before recovering the jobs of a server that stopped renewing
	// its claims on them (PostgreSQL store); renewed every third of it.
	LeaseTTL time.Duration
	// KeysDir holds jwt.key (session signing) and secret.key (encryption at rest); empty means DataDir. Servers
	// sharing a PostgreSQL store must share these keys: point them at one directory (a mounted secret).
	KeysDir string
	// Store is where state lives: "sqlite" (or empty), a SQLite file in DataDir; or a postgres:// URL of a
	// PostgreSQL database, which several servers may share.
	Store string
	// LDAP configures logins with provider active_directory; an empty URL leaves that provider off.
	LDAP ldap.Config

	// Executor runs jobs: "local" (or empty), processes on this machine; or "kubernetes", a batch/v1 Job per
	// attempt. The settings below it are the Kubernetes executor's; the local executor ignores them.
	Executor string
	// Kubeconfig is the kubeconfig file to reach the cluster with; empty: $KUBECONFIG, the in-cluster
	// configuration, then ~/.kube/config.
	Kubeconfig string
	// Namespace the Kubernetes Jobs run in; empty: the server's own namespace when it runs in the cluster, else
	// "default".
	Namespace string
	// JobImage is runplane's own image, whose init container checks out each job's repository.
	JobImage string
	// JobServiceAccount is the ServiceAccount jobs run as unless their task names one; empty: the namespace's
	// default.
	JobServiceAccount string
	// JobTTL keeps a finished Kubernetes Job and its pod this long for inspection (ttlSecondsAfterFinished); job
	// logs are kept by runplane regardless.
	JobTTL time.Duration
	// PodStartTimeout fails a job whose pod has not started this long after its Job was created (unschedulable,
	// image not pulled).
	PodStartTimeout time.Duration
	// KubeAPI serves promises, requests, destinations, state stores, Krateo's CompositionDefinitions and their
	// compositions as Kubernetes objects too (kubemirror):
	// the mirror watches the cluster of Kubeconfig, whichever executor runs jobs. InstallCRDs applies runplane's
	// CRDs first (server-side apply) and implies KubeAPI; without it the CRDs must be installed (the Helm chart's
	// crds/).
	KubeAPI, InstallCRDs bool

	// ImageAllowlist lists the images runners may name, as glob patterns (see package imagepolicy): a runner
	// naming another is refused when saved (400) and its jobs when submitted (403). Empty allows every image.
	ImageAllowlist []string

	// AllowedOrigins are origins (scheme://host[:port]) besides the server's own whose pages may make
	// state-changing requests authenticated by the session cookie, e.g. a web UI served elsewhere. Empty: only
	// the server's own pages, and clients that send no Origin (curl, the CLI).
	AllowedOrigins []string

	// TLSCertFile and TLSKeyFile, both or neither, make the API serve HTTPS (and HTTP/2) with that PEM certificate
	// chain and key, read again when the files change (a renewed certificate needs no restart).
	TLSCertFile, TLSKeyFile string
	// TrustedProxies are the CIDRs or addresses of reverse proxies whose X-Forwarded-For (the client's address, for
	// login throttling, the audit log and the access log) and X-Forwarded-Proto (https: Secure session cookies)
	// are believed. Empty: none.
	TrustedProxies []string
	// MaxTokenLifetime bounds API tokens' lifetime: tokens created without an expiry get it, a later one is
	// refused. 0: no bound.
	MaxTokenLifetime time.Duration
	// AdvertiseURL is the server's URL as jobs reach it: workflow steps call the metadata API there. Empty: the
	// listen address, an unspecified host (0.0.0.0, ::) as 127.0.0.1, which local jobs reach; a Kubernetes
	// executor needs the URL of the server's Service (the Helm chart sets it).
	AdvertiseURL string
	// Version and Commit describe the binary, for the metric runplane_build_info; the CLI fills them. Empty:
	// "dev", and the commit the go command stamped into the binary (if any).
	Version, Commit string
}

// DefaultConfig returns the defaults: 127.0.0.1:8080, ./runplane-data, 24h tokens, 30 days of logs, 1 MiB bodies
// read within 30s, 4096 connections (256 per client address),
// jobs ended after 1h unless their task says otherwise, 100 MiB logs, 1000 queued jobs per owner, the local
// executor (Kubernetes Jobs kept 5m after they finish, pods given 5m to start), any image.
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:8080",
		DataDir:           "./runplane-data",
		TokenTTL:          24 * time.Hour,
		LeaseTTL:          30 * time.Second,
		LogRetention:      720 * time.Hour,
		MaxBodyBytes:      1 << 20,
		BodyTimeout:       30 * time.Second,
		MaxConns:          4096,
		MaxConnsPerAddr:   256,
		Isolation:         local.IsolationAuto,
		DefaultTimeout:    time.Hour,
		MaxLogSize:        100 << 20,
		MaxQueuedPerOwner: 1000,

		Executor:        ExecutorLocal,
		JobTTL:          5 * time.Minute,
		PodStartTimeout: 5 * time.Minute,
	}
}

// Bounds Validate enforces.
const (
	minBodyBytes = 1 << 10
	maxBodyBytes = 1 << 30
	maxJobs      = 100_000
	minLogSize   = 1 << 10 // room for a job's first lines and the cut's own
)

// Validate checks c and names the first bad setting.
func (c Config) Validate() error {
	if c.Listen == "" {
		return errors.New("config: listen address is required")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("config: listen address %q: want host:port, e.g. 127.0.0.1:8080", c.Listen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("config: listen address %q: port must be a number from 0 to 65535", c.Listen)
	}
	_ = host // empty host means every interface, as net.Listen has it
	if strings.TrimSpace(c.DataDir) == "" {
		return errors.New("config: data dir is required")
	}
	if c.MaxConcurrentJobs < 0 || c.MaxConcurrentJobs > maxJobs {
		return fmt.Errorf("config: max concurrent jobs %d: want 0 (default) to %d", c.MaxConcurrentJobs, maxJobs)
	}
	if len(c.RootPassword) > 1024 {
		return errors.New("config: root password longer than 1024 bytes")
	}
	if c.ResetRootPassword && c.RootPassword == "" {
		return errors.New("config: resetting root's password needs the new one in RUNPLANE_ROOT_PASSWORD (or RUNPLANE_ROOT_PASSWORD_FILE)")
	}
	if c.TokenTTL < time.Minute {
		return fmt.Errorf("config: token TTL %v: want at least 1m", c.TokenTTL)
	}
	if c.LeaseTTL < 300*time.Millisecond {
		return fmt.Errorf("config: lease TTL %v: want at least 300ms", c.LeaseTTL)
	}
	if c.LogRetention < 0 {
		return fmt.Errorf("config: log retention %v must not be negative (0 keeps logs forever)", c.LogRetention)
	}
	if c.AuditRetention < 0 {
		return fmt.Errorf("config: audit retention %v must not be negative (0 keeps the audit log forever)", c.AuditRetention)
	}
	if c.GitCacheTTL < 0 {
		return fmt.Errorf("config: git cache TTL %v must not be negative", c.GitCacheTTL)
	}
	if c.DefaultTimeout < 0 {
		return fmt.Errorf("config: default timeout %v must not be negative (0 lets jobs run without a limit)", c.DefaultTimeout)
	}
	if c.MaxLogSize < 0 || (c.MaxLogSize > 0 && c.MaxLogSize < minLogSize) {
		return fmt.Errorf("config: max log size %d: want 0 (no cap) or at least %d bytes", c.MaxLogSize, minLogSize)
	}
	if c.MaxQueuedPerOwner < 0 {
		return fmt.Errorf("config: max queued jobs per owner %d must not be negative (0 is no limit)", c.MaxQueuedPerOwner)
	}
	if c.MaxBodyBytes < minBodyBytes || c.MaxBodyBytes > maxBodyBytes {
		return fmt.Errorf("config: max body bytes %d: want %d to %d", c.MaxBodyBytes, minBodyBytes, maxBodyBytes)
	}
	if c.BodyTimeout < 0 {
		return fmt.Errorf("config: body timeout %v must not be negative (0 is no limit)", c.BodyTimeout)
	}
	if c.MaxConns < 0 || c.MaxConnsPerAddr < 0 {
		return fmt.Errorf("config: max connections %d, per address %d: must not be negative (0 is no cap)", c.MaxConns, c.MaxConnsPerAddr)
	}
	switch c.Isolation {
	case local.IsolationAuto, local.IsolationNamespace, local.IsolationLauncher, local.IsolationNone, IsolationContainer:
	default:
		return fmt.Errorf("config: isolation %q: want auto, namespace, launcher, container or none", c.Isolation)
	}
	if err := validateStore(c.Store); err != nil {
		return err
	}
	if c.LDAP.URL != "" {
		if err := c.LDAP.Validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	if err := c.validateKubernetes(); err != nil {
		return err
	}
	if _, err := imagepolicy.Parse(c.ImageAllowlist); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := httpapi.ParseOrigins(c.AllowedOrigins); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := httpapi.ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.AdvertiseURL != "" {
		u, err := url.Parse(c.AdvertiseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("config: advertise URL %q: want http(s)://host[:port][/path]", c.AdvertiseURL)
		}
	}
	if c.MaxTokenLifetime < 0 {
		return fmt.Errorf("config: max token lifetime %v: want 0 (none) or more", c.MaxTokenLifetime)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("config: TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
	}
	return nil
}

// LoadEnv overrides c with the RUNPLANE_* variables lookup finds (os.LookupEnv in main). An empty variable counts
// as unset. A value that does not parse is an error naming the variable.
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		return v, ok && v != ""
	}
	if v, ok := get("RUNPLANE_LISTEN"); ok {
		c.Listen = v
	}
	if v, ok := get("RUNPLANE_DATA_DIR"); ok {
		c.DataDir = v
	}
	secrets := []struct {
		name string
		dst  *string
	}{
		{"RUNPLANE_ROOT_PASSWORD", &c.RootPassword},
		{"RUNPLANE_STORE", &c.Store},
		{"RUNPLANE_LDAP_BIND_PASSWORD", &c.LDAP.BindPassword},
	}
	for _, s := range secrets {
		v, ok, err := loadSecret(s.name, get)
		if err != nil {
			return err
		}
		if ok {
			*s.dst = v
		}
	}
	if v, ok := get("RUNPLANE_ADVERTISE_URL"); ok {
		c.AdvertiseURL = strings.TrimSpace(v)
	}
	if v, ok := get("RUNPLANE_KEYS_DIR"); ok {
		c.KeysDir = v
	}
	if v, ok := get("RUNPLANE_ISOLATION"); ok {
		c.Isolation = v
	}
	if err := c.loadKubernetesEnv(get); err != nil {
		return err
	}
	if v, ok := get("RUNPLANE_MAX_CONCURRENT_JOBS"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fmt.Errorf("RUNPLANE_MAX_CONCURRENT_JOBS=%q: want a non-negative integer", v)
		}
		c.MaxConcurrentJobs = n
	}
	counts := []struct {
		name string
		dst  *int
	}{
		{"RUNPLANE_MAX_CONNS", &c.MaxConns},
		{"RUNPLANE_MAX_CONNS_PER_ADDR", &c.MaxConnsPerAddr},
	}
	for _, n := range counts {
		if v, ok := get(n.name); ok {
			x, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || x < 0 {
				return fmt.Errorf("%s=%q: want a non-negative integer (0 is no cap)", n.name, v)
			}
			*n.dst = x
		}
	}
	if v, ok := get("RUNPLANE_MAX_QUEUED_PER_OWNER"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fmt.Errorf("RUNPLANE_MAX_QUEUED_PER_OWNER=%q: want a non-negative integer (0 is no limit)", v)
		}
		c.MaxQueuedPerOwner = n
	}
	if v, ok := get("RUNPLANE_MAX_LOG_SIZE"); ok {
		n, err := ParseSize(v)
		if err != nil {
			return fmt.Errorf("RUNPLANE_MAX_LOG_SIZE=%q: %w", v, err)
		}
		c.MaxLogSize = n
	}
	if v, ok := get("RUNPLANE_ALLOW_PRIVILEGED_TASKS"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("RUNPLANE_ALLOW_PRIVILEGED_TASKS=%q: want true or false", v)
		}
		c.AllowPrivilegedTasks = b
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"RUNPLANE_KUBE_API", &c.KubeAPI}, {"RUNPLANE_INSTALL_CRDS", &c.InstallCRDs}} {
		if v, ok := get(b.name); ok {
			x, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%s=%q: want true or false", b.name, v)
			}
			*b.dst = x
		}
	}
	if v, ok := get("RUNPLANE_MAX_BODY_BYTES"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("RUNPLANE_MAX_BODY_BYTES=%q: want a positive number of bytes", v)
		}
		c.MaxBodyBytes = n
	}
	if err := loadLDAPEnv(&c.LDAP, get); err != nil {
		return err
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"RUNPLANE_TOKEN_TTL", &c.TokenTTL},
		{"RUNPLANE_MAX_TOKEN_LIFETIME", &c.MaxTokenLifetime},
		{"RUNPLANE_DEFAULT_TIMEOUT", &c.DefaultTimeout},
		{"RUNPLANE_LEASE_TTL", &c.LeaseTTL},
		{"RUNPLANE_LOG_RETENTION", &c.LogRetention},
		{"RUNPLANE_AUDIT_RETENTION", &c.AuditRetention},
		{"RUNPLANE_EVENT_RETENTION", &c.EventRetention},
		{"RUNPLANE_RECONCILE_INTERVAL", &c.ReconcileInterval},
		{"RUNPLANE_GIT_CACHE_TTL", &c.GitCacheTTL},
		{"RUNPLANE_JOB_TTL", &c.JobTTL},
		{"RUNPLANE_POD_START_TIMEOUT", &c.PodStartTimeout},
		{"RUNPLANE_BODY_TIMEOUT", &c.BodyTimeout},
	}
	for _, d := range durations {
		v, ok := get(d.name)
		if !ok {
			continue
		}
		x, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || x < 0 {
			return fmt.Errorf("%s=%q: want a duration such as 90s, 30m or 24h", d.name, v)
		}
		*d.dst = x
	}
	return nil
}

// ParseSize reads a number of bytes, with an optional binary unit: 1048576, 512KiB, 100MiB, 2GiB (or Ki, Mi, Gi).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRight(s, "KMGiB")
	unit := int64(1)
	switch s[len(num):] {
	case "":
	case "Ki", "KiB":
		unit = 1 << 10
	case "Mi", "MiB":
		unit = 1 << 20
	case "Gi", "GiB":
		unit = 1 << 30
	default:
		return 0, fmt.Errorf("want a number of bytes such as 104857600 or 100MiB")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return 0, fmt.Errorf("want a number of bytes such as 104857600 or 100MiB")
	}
	return n * unit, nil
}

// StoreSQLite selects the embedded SQLite store.
const StoreSQLite = "sqlite"

// validateStore checks the store setting without ever repeating it: a URL may hold a password.
func validateStore(s string) error {
	if s == "" || s == StoreSQLite {
		return nil
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		if _, err := url.Parse(s); err != nil {
			return errors.New("config: store: the postgres:// URL does not parse")
		}
		return nil
	}
	return errors.New(`config: store: want "sqlite" or a postgres://user:password@host:5432/db URL`)
}
