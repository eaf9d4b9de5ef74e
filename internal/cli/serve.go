package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
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
	tokenTTL                   time.Duration
	logFormat, logLevel        string
}

func (a *app) serveCommand() *cobra.Command {
	def := server.DefaultConfig()
	sf := serveFlags{
		listen: def.Listen, dataDir: def.DataDir, isolation: def.Isolation,
		maxConcurrentJobs: def.MaxConcurrentJobs, logRetention: def.LogRetention, gitCacheTTL: def.GitCacheTTL, tokenTTL: def.TokenTTL,
		logFormat: "text", logLevel: "info",
	}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the runplane server (embedded mode: SQLite and local processes)",
		Long: "Start the server. Settings come from flags, then RUNPLANE_* environment variables, then defaults.\n\n" +
			"The root user's password is read only from RUNPLANE_ROOT_PASSWORD (never a flag, which would show\n" +
			"in the process list); when it is unset on first start a random one is generated and printed once.\n" +
			"The server stops gracefully on SIGINT or SIGTERM.",
		Example: "  RUNPLANE_ROOT_PASSWORD=change-me runplane serve --listen 127.0.0.1:8080 --data-dir ./runplane-data",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := sf.config(cmd)
			if err != nil {
				return err
			}
			logger, err := newLogger(a.stderr, sf.logFormat, sf.logLevel)
			if err != nil {
				return usage(cmd, "%v", err)
			}
			return a.serve(cmd.Context(), cfg, logger)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.listen, "listen", sf.listen, "address to listen on (env RUNPLANE_LISTEN)")
	f.StringVar(&sf.store, "store", sf.store, `where state lives: "sqlite" (a file in the data dir) or a postgres://user:password@host/db URL (env RUNPLANE_STORE)`)
	f.StringVar(&sf.dataDir, "data-dir", sf.dataDir, "directory for the database, keys, job logs and git cache (env RUNPLANE_DATA_DIR)")
	f.IntVar(&sf.maxConcurrentJobs, "max-concurrent-jobs", sf.maxConcurrentJobs, "jobs running at once, more wait queued; 0: 4 × GOMAXPROCS (env RUNPLANE_MAX_CONCURRENT_JOBS)")
	f.DurationVar(&sf.logRetention, "log-retention", sf.logRetention, "how long job logs are kept after their last write; 0 keeps them (env RUNPLANE_LOG_RETENTION)")
	f.DurationVar(&sf.gitCacheTTL, "git-cache-ttl", sf.gitCacheTTL, "how long a fetched repository is reused before fetching again; 0 fetches for every job (env RUNPLANE_GIT_CACHE_TTL)")
	f.DurationVar(&sf.tokenTTL, "token-ttl", sf.tokenTTL, "how long a login session token is valid (env RUNPLANE_TOKEN_TTL)")
	f.StringVar(&sf.isolation, "isolation", sf.isolation, "isolation of local jobs: auto, namespace, launcher or none (env RUNPLANE_ISOLATION)")
	f.StringVar(&sf.logFormat, "log-format", sf.logFormat, "log format on stderr: text or json (env RUNPLANE_LOG_FORMAT)")
	f.StringVar(&sf.logLevel, "log-level", sf.logLevel, "minimum log level: debug, info, warn or error (env RUNPLANE_LOG_LEVEL)")
	return cmd
}

// config builds the server configuration: defaults, then RUNPLANE_* env, then the flags given.
func (sf *serveFlags) config(cmd *cobra.Command) (server.Config, error) {
	cfg := server.DefaultConfig()
	if err := cfg.LoadEnv(os.LookupEnv); err != nil {
		return cfg, err
	}
	f := cmd.Flags()
	if f.Changed("listen") {
		cfg.Listen = sf.listen
	}
	if f.Changed("data-dir") {
		cfg.DataDir = sf.dataDir
	}
	if f.Changed("max-concurrent-jobs") {
		cfg.MaxConcurrentJobs = sf.maxConcurrentJobs
	}
	if f.Changed("log-retention") {
		cfg.LogRetention = sf.logRetention
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
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
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
