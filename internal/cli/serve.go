package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/internal/server"
)

// serveFlags are the server settings `runplane serve` takes as flags; each overrides its RUNPLANE_* variable.
type serveFlags struct {
	listen, dataDir, isolation string
	store                      string
	maxConcurrentJobs          int
	logRetention, gitCacheTTL  time.Duration
	auditRetention             time.Duration
	tokenTTL, maxTokenLifetime time.Duration
	defaultTimeout             time.Duration
	maxLogSize                 string
	maxQueuedPerOwner          int
	bodyTimeout                time.Duration
	maxConns, maxConnsPerAddr  int
	logFormat, logLevel        string
	resetRootPassword          bool
	kubeAPI, installCRDs       bool
	// The Kubernetes executor's settings.
	executor, kubeconfig, namespace string
	jobImage, jobServiceAccount     string
	jobTTL, podStartTimeout         time.Duration
	imageAllowlist                  []string
	allowedOrigins                  []string
	tlsCert, tlsKey                 string
	trustedProxies                  []string
	advertiseURL                    string
}

// newServeFlags returns the flags' defaults: server.DefaultConfig's.
func newServeFlags() *serveFlags {
	def := server.DefaultConfig()
	return &serveFlags{
		listen: def.Listen, dataDir: def.DataDir, isolation: def.Isolation,
		maxConcurrentJobs: def.MaxConcurrentJobs, logRetention: def.LogRetention, gitCacheTTL: def.GitCacheTTL, tokenTTL: def.TokenTTL,
		defaultTimeout: def.DefaultTimeout, maxLogSize: "100MiB", maxQueuedPerOwner: def.MaxQueuedPerOwner,
		bodyTimeout: def.BodyTimeout, maxConns: def.MaxConns, maxConnsPerAddr: def.MaxConnsPerAddr,
		logFormat: "text", logLevel: "info",
		executor: def.Executor, jobTTL: def.JobTTL, podStartTimeout: def.PodStartTimeout,
	}
}

func (a *app) serveCommand() *cobra.Command {
	sf := newServeFlags()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the runplane server (by default embedded: SQLite and local processes)",
		Long: "Start the server. Settings come from flags, then RUNPLANE_* environment variables, then defaults.\n\n" +
			"The root user's password is read only from RUNPLANE_ROOT_PASSWORD or the file RUNPLANE_ROOT_PASSWORD_FILE\n" +
			"names (never a flag, which would show in the process list); when neither is set on first start a random\n" +
			"one is generated and printed once. It sets the password root is created with: a password changed later\n" +
			"through the API survives restarts, and --reset-root-password sets it back to RUNPLANE_ROOT_PASSWORD. RUNPLANE_STORE and RUNPLANE_LDAP_BIND_PASSWORD may come from a _FILE\n" +
			"too; the server removes these secrets from its environment once read, so nothing it starts inherits them.\n" +
			"The server stops gracefully on SIGINT or SIGTERM.\n\n" +
			"With --executor kubernetes every job attempt runs as a Kubernetes Job (batch/v1) in the runner's image,\n" +
			"in --namespace, reached through --kubeconfig; --job-image is runplane's own image, which checks out the\n" +
			"job's repository. The other --job-* and --pod-* flags tune those Jobs; the local executor ignores them.\n" +
			"--image-allowlist limits the images runners may name to glob patterns (* within a path component, **\n" +
			"across '/', ? one character) matched against the image as written and in full (busybox is\n" +
			"docker.io/library/busybox:latest); a pattern without a tag allows any tag. A runner naming another\n" +
			"image is refused when saved (400), and its jobs when submitted (403).",
		Example: "  RUNPLANE_ROOT_PASSWORD=change-me runplane serve --listen 127.0.0.1:8080 --data-dir ./runplane-data\n" +
			"  runplane serve --executor kubernetes --namespace runplane-jobs --job-image ghcr.io/runplane/runplane:v1 \\\n" +
			"    --store postgres://runplane@db/runplane --image-allowlist 'docker.io/library/*,registry.corp/**'",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := sf.config(cmd)
			if err != nil {
				return err
			}
			b := readBuildInfo()
			cfg.Version, cfg.Commit = b.Version, b.Commit
			logger, err := newLogger(a.stderr, sf.logFormat, sf.logLevel)
			if err != nil {
				return usage(cmd, "%v", err)
			}
			return a.serve(cmd.Context(), cfg, logger)
		},
	}
	sf.register(cmd)
	return cmd
}

// register defines the flags on cmd.
func (sf *serveFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&sf.listen, "listen", sf.listen, "address to listen on (env RUNPLANE_LISTEN)")
	f.StringVar(&sf.store, "store", sf.store, `where state lives: "sqlite" (a file in the data dir) or a postgres://user:password@host/db URL (env RUNPLANE_STORE)`)
	f.StringVar(&sf.dataDir, "data-dir", sf.dataDir, "directory for the database, keys, job logs and git cache (env RUNPLANE_DATA_DIR)")
	f.IntVar(&sf.maxConcurrentJobs, "max-concurrent-jobs", sf.maxConcurrentJobs, "jobs running at once, more wait queued; 0: 4 × GOMAXPROCS, 64 with --executor kubernetes (env RUNPLANE_MAX_CONCURRENT_JOBS)")
	f.DurationVar(&sf.logRetention, "log-retention", sf.logRetention, "how long job logs are kept after their last write; 0 keeps them (env RUNPLANE_LOG_RETENTION)")
	f.DurationVar(&sf.auditRetention, "audit-retention", 0, "how long audit log entries are kept; older ones are deleted; 0 keeps them forever (env RUNPLANE_AUDIT_RETENTION)")
	f.DurationVar(&sf.gitCacheTTL, "git-cache-ttl", sf.gitCacheTTL, "how long a fetched repository is reused before fetching again; 0 fetches for every job (env RUNPLANE_GIT_CACHE_TTL)")
	f.DurationVar(&sf.defaultTimeout, "default-timeout", sf.defaultTimeout, "jobs of tasks without a timeout of their own end after this long (reason timeout); 0: no limit (env RUNPLANE_DEFAULT_TIMEOUT)")
	f.StringVar(&sf.maxLogSize, "max-log-size", sf.maxLogSize, "a job's log is cut past this many bytes (e.g. 104857600, 100MiB, 1GiB), the job runs on; 0: no cap (env RUNPLANE_MAX_LOG_SIZE)")
	f.IntVar(&sf.maxQueuedPerOwner, "max-queued-per-owner", sf.maxQueuedPerOwner, "queued jobs one user may have at once, across replicas; more answer 429; 0: no limit (env RUNPLANE_MAX_QUEUED_PER_OWNER)")
	f.DurationVar(&sf.bodyTimeout, "body-timeout", sf.bodyTimeout, "a request body still arriving this long after its headers answers 408; 0: no limit (env RUNPLANE_BODY_TIMEOUT)")
	f.IntVar(&sf.maxConns, "max-conns", sf.maxConns, "HTTP connections open at once; more are answered 503 and closed; 0: no cap (env RUNPLANE_MAX_CONNS)")
	f.IntVar(&sf.maxConnsPerAddr, "max-conns-per-addr", sf.maxConnsPerAddr, "HTTP connections open at once from one client IP address (raise it behind a reverse proxy); 0: no cap (env RUNPLANE_MAX_CONNS_PER_ADDR)")
	f.DurationVar(&sf.tokenTTL, "token-ttl", sf.tokenTTL, "how long a login session token is valid (env RUNPLANE_TOKEN_TTL)")
	f.DurationVar(&sf.maxTokenLifetime, "max-token-lifetime", 0, "the longest an API token may live: tokens created without an expiry get it, a later one is refused; 0: no bound (env RUNPLANE_MAX_TOKEN_LIFETIME)")
	f.StringVar(&sf.isolation, "isolation", sf.isolation, "isolation of local jobs: auto, namespace, launcher, container (podman, the runner's image) or none (env RUNPLANE_ISOLATION)")
	f.BoolVar(&sf.resetRootPassword, "reset-root-password", false, "set root's password to RUNPLANE_ROOT_PASSWORD (or _FILE) at this start, ending root's sessions (audited); without it, RUNPLANE_ROOT_PASSWORD only sets the password root is created with")
	f.StringVar(&sf.logFormat, "log-format", sf.logFormat, "log format on stderr: text or json (env RUNPLANE_LOG_FORMAT)")
	f.StringVar(&sf.logLevel, "log-level", sf.logLevel, "minimum log level: debug, info, warn or error (env RUNPLANE_LOG_LEVEL)")
	f.StringVar(&sf.executor, "executor", sf.executor, "what runs jobs: local (processes on this machine) or kubernetes (a Kubernetes Job per attempt) (env RUNPLANE_EXECUTOR)")
	f.StringVar(&sf.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster jobs run in; default: $KUBECONFIG, the in-cluster config, then ~/.kube/config (env RUNPLANE_KUBECONFIG)")
	f.StringVar(&sf.namespace, "namespace", "", "namespace Kubernetes jobs run in; default: the server's own namespace in a cluster, else \"default\" (env RUNPLANE_NAMESPACE)")
	f.StringVar(&sf.jobImage, "job-image", "", "runplane's own image, run by each Kubernetes job's init container to check out the repository (env RUNPLANE_JOB_IMAGE)")
	f.StringVar(&sf.jobServiceAccount, "job-service-account", "", "ServiceAccount Kubernetes jobs run as unless their task names one; default: the namespace's default (env RUNPLANE_JOB_SERVICE_ACCOUNT)")
	f.DurationVar(&sf.jobTTL, "job-ttl", sf.jobTTL, "how long finished Kubernetes Jobs and their pods are kept for inspection (ttlSecondsAfterFinished; logs are kept regardless) (env RUNPLANE_JOB_TTL)")
	f.DurationVar(&sf.podStartTimeout, "pod-start-timeout", sf.podStartTimeout, "a Kubernetes job whose pod has not started this long after creation (unschedulable, image not pulled) fails (env RUNPLANE_POD_START_TIMEOUT)")
	f.BoolVar(&sf.kubeAPI, "kube-api", false, "serve promises, resource requests, destinations and state stores as Kubernetes objects too (Kratix's CRDs, kubectl), in the cluster of --kubeconfig (env RUNPLANE_KUBE_API)")
	f.BoolVar(&sf.installCRDs, "install-crds", false, "apply runplane's CRDs to the cluster at start (server-side apply) and serve them, as --kube-api (env RUNPLANE_INSTALL_CRDS)")
	f.StringArrayVar(&sf.allowedOrigins, "allowed-origin", nil, "origins (scheme://host[:port]) besides the server's own whose pages may make state-changing requests with the session cookie; repeatable and comma-separated (env RUNPLANE_ALLOWED_ORIGINS, comma-separated)")
	f.StringVar(&sf.tlsCert, "tls-cert", "", "PEM certificate chain: serve HTTPS (and HTTP/2); read again when the file changes (env RUNPLANE_TLS_CERT)")
	f.StringVar(&sf.tlsKey, "tls-key", "", "PEM private key of --tls-cert (env RUNPLANE_TLS_KEY)")
	f.StringVar(&sf.advertiseURL, "advertise-url", "", "the server's URL as jobs reach it (workflow steps call the metadata API there); default: the listen address, 0.0.0.0 as 127.0.0.1 (env RUNPLANE_ADVERTISE_URL)")
	f.StringArrayVar(&sf.trustedProxies, "trusted-proxies", nil, "CIDRs or addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; repeatable and comma-separated (env RUNPLANE_TRUSTED_PROXIES)")
	f.StringArrayVar(&sf.imageAllowlist, "image-allowlist", nil, "images runners may name, as glob patterns such as docker.io/library/* or registry.corp/**; repeatable and comma-separated; default: any image (env RUNPLANE_IMAGE_ALLOWLIST, comma-separated)")
}

// config builds the server configuration: defaults, then RUNPLANE_* env, then the flags given.
func (sf *serveFlags) config(cmd *cobra.Command) (server.Config, error) {
	cfg := server.DefaultConfig()
	if err := cfg.LoadProcessEnv(); err != nil {
		return cfg, err
	}
	f := cmd.Flags()
	if f.Changed("listen") {
		cfg.Listen = sf.listen
	}
	if f.Changed("data-dir") {
		cfg.DataDir = sf.dataDir
	}
	if f.Changed("reset-root-password") {
		cfg.ResetRootPassword = sf.resetRootPassword
	}
	if f.Changed("max-concurrent-jobs") {
		cfg.MaxConcurrentJobs = sf.maxConcurrentJobs
	}
	if f.Changed("log-retention") {
		cfg.LogRetention = sf.logRetention
	}
	if f.Changed("audit-retention") {
		cfg.AuditRetention = sf.auditRetention
	}
	if f.Changed("git-cache-ttl") {
		cfg.GitCacheTTL = sf.gitCacheTTL
	}
	if f.Changed("isolation") {
		cfg.Isolation = sf.isolation
	}
	if f.Changed("store") {
		cfg.Store = sf.store
	}
	if f.Changed("token-ttl") {
		cfg.TokenTTL = sf.tokenTTL
	}
	if f.Changed("default-timeout") {
		cfg.DefaultTimeout = sf.defaultTimeout
	}
	if f.Changed("max-log-size") {
		n, err := server.ParseSize(sf.maxLogSize)
		if err != nil {
			return cfg, usage(cmd, "--max-log-size %q: %v", sf.maxLogSize, err)
		}
		cfg.MaxLogSize = n
	}
	if f.Changed("max-queued-per-owner") {
		cfg.MaxQueuedPerOwner = sf.maxQueuedPerOwner
	}
	if f.Changed("body-timeout") {
		cfg.BodyTimeout = sf.bodyTimeout
	}
	if f.Changed("max-conns") {
		cfg.MaxConns = sf.maxConns
	}
	if f.Changed("max-conns-per-addr") {
		cfg.MaxConnsPerAddr = sf.maxConnsPerAddr
	}
	sf.applyKubernetes(f.Changed, &cfg)
	if !f.Changed("log-format") {
		if v, ok := lookupEnv("RUNPLANE_LOG_FORMAT"); ok {
			sf.logFormat = v
		}
	}
	if !f.Changed("log-level") {
		if v, ok := lookupEnv("RUNPLANE_LOG_LEVEL"); ok {
			sf.logLevel = v
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyKubernetes overrides cfg with the executor flags given (changed says which).
func (sf *serveFlags) applyKubernetes(changed func(flag string) bool, cfg *server.Config) {
	strs := []struct {
		flag     string
		from, to *string
	}{
		{"executor", &sf.executor, &cfg.Executor},
		{"kubeconfig", &sf.kubeconfig, &cfg.Kubeconfig},
		{"namespace", &sf.namespace, &cfg.Namespace},
		{"job-image", &sf.jobImage, &cfg.JobImage},
		{"job-service-account", &sf.jobServiceAccount, &cfg.JobServiceAccount},
	}
	for _, s := range strs {
		if changed(s.flag) {
			*s.to = strings.TrimSpace(*s.from)
		}
	}
	if changed("job-ttl") {
		cfg.JobTTL = sf.jobTTL
	}
	if changed("kube-api") {
		cfg.KubeAPI = sf.kubeAPI
	}
	if changed("install-crds") {
		cfg.InstallCRDs = sf.installCRDs
	}
	if changed("pod-start-timeout") {
		cfg.PodStartTimeout = sf.podStartTimeout
	}
	if changed("max-token-lifetime") {
		cfg.MaxTokenLifetime = sf.maxTokenLifetime
	}
	if changed("tls-cert") {
		cfg.TLSCertFile = sf.tlsCert
	}
	if changed("tls-key") {
		cfg.TLSKeyFile = sf.tlsKey
	}
	if changed("advertise-url") {
		cfg.AdvertiseURL = sf.advertiseURL
	}
	if changed("trusted-proxies") {
		cfg.TrustedProxies = server.SplitList(sf.trustedProxies...)
	}
	if changed("allowed-origin") {
		cfg.AllowedOrigins = server.SplitList(sf.allowedOrigins...)
	}
	if changed("image-allowlist") {
		// The flags replace the variable's list; --image-allowlist "" clears it.
		cfg.ImageAllowlist = server.SplitList(sf.imageAllowlist...)
	}
}

// newLogger returns a slog logger writing to w in the given format from the given level up.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		opts.ReplaceAttr = durationWithUnit
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// durationWithUnit writes a time.Duration as the text handler does ("1.5s") instead of a bare count of
// nanoseconds, so that every duration in the log says its unit.
func durationWithUnit(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// serve runs the server until ctx ends, then shuts it down gracefully.
func (a *app) serve(ctx context.Context, cfg server.Config, logger *slog.Logger) error {
	srv, err := server.Open(ctx, cfg, logger, a.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "runplane listening on http://%s\n", srv.Addr())
	runErr := srv.Run(ctx)
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return errors.Join(runErr, srv.Close())
}
