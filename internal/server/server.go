package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/audit"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/auth/ldap"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/kubesecret"
	"github.com/runplane/runplane/internal/platform/chart/composer"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kubemirror"
	"github.com/runplane/runplane/internal/platform/statestore"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/postgres"
	"github.com/runplane/runplane/internal/store/sqlite"
	"github.com/runplane/runplane/internal/trigger"
	"github.com/runplane/runplane/internal/trigger/cron"
	"github.com/runplane/runplane/internal/trigger/events"
	"github.com/runplane/runplane/internal/trigger/outbox"
	"github.com/runplane/runplane/internal/ui"
)

// LauncherArg is the hidden first argument that makes the runplane binary act as the local executor's job
// launcher; the CLI dispatches it to RunLauncher before anything else.
const LauncherArg = local.LauncherArg

// RunLauncher runs the job launcher (see executor/local) and returns its exit code.
func RunLauncher() int { return local.RunLauncher() }

// Files and directories in the data dir.
const (
	dbFile        = "runplane.db"
	jwtKeyFile    = "jwt.key"
	secretKeyFile = "secret.key"
	logsDir       = "logs"
	filesDir      = "files"
	gitDir        = "git"
	workDir       = "work"
	stateDir      = "statestores" // git work trees of state stores
)

// shutdownTimeout bounds how long Run waits for in-flight requests once its context ends.
const shutdownTimeout = 10 * time.Second

// Server is an open runplane server. Open it, Run it until its context ends, then Close it.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	logs     *joblog.Store
	files    *jobfiles.Store
	runs     *runs.Engine
	events   *events.Dispatcher
	promises *controller.Controller
	// compositions installs, upgrades and uninstalls Krateo compositions' releases, as jobs.
	compositions *composer.Composer
	kube         *kubemirror.Mirror // platform resources as Kubernetes objects (kubeapi.go); nil when off
	engine       *jobs.Engine
	outbox       *outbox.Outbox // events out: the outbox's Emitter and its delivery
	executor     runningExecutor
	audit        *audit.Log
	cron         *cron.Loop
	api          *httpapi.Handler
	http         *http.Server
	ln           net.Listener
	unlock       func() error  // releases the data dir's lock (lock.go)
	certs        *certReloader // the API's TLS certificate; nil serves plain HTTP
	stopping     atomic.Bool
	ran          atomic.Bool

	// kubeChanges is kube, for the notifying store (platformStore), which writers may use before it is set.
	kubeChanges atomic.Pointer[kubemirror.Mirror]

	closeOnce sync.Once
	closeErr  error

	meta *metadataSocket // the metadata API for step containers (metadatasock.go); nil for none
}

// Open prepares everything Run needs and binds the listener, so Addr is known when Open returns. On the first
// start it creates the data dir, the keys and the root user; a generated root password is written to out, once,
// as "root password: ...". log receives every component's logs (never a secret).
func Open(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if out == nil {
		out = io.Discard
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	if info, err := os.Stat(dir); err == nil && info.Mode().Perm()&0o077 != 0 {
		log.Warn("data dir is accessible to group or others; chmod 700 it", "dir", dir, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
	}
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.unlock, err = lockDataDir(dir); err != nil {
		return nil, err
	}
	if cfg.TLSCertFile != "" {
		if s.certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log.With("component", "http")); err != nil {
			return nil, err
		}
	}
	proxies, err := httpapi.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// Listen before anything is migrated, created or printed: a start on a busy port changes nothing.
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}

	keys := dir
	if cfg.KeysDir != "" {
		keys = cfg.KeysDir
	}
	jwtKey, err := auth.LoadOrCreateSigningKey(filepath.Join(keys, jwtKeyFile))
	if err != nil {
		return nil, err
	}
	encKey, err := secret.LoadOrCreateKey(filepath.Join(keys, secretKeyFile))
	if err != nil {
		return nil, err
	}
	cipher, err := secret.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	if s.store, err = openStore(ctx, cfg.Store, filepath.Join(dir, dbFile), cipher, log.With("component", "store")); err != nil {
		return nil, err
	}
	// What multi-container jobs keep of their files lives as long as their logs.
	if s.files, err = jobfiles.Open(filepath.Join(dir, filesDir)); err != nil {
		return nil, err
	}
	if s.logs, err = joblog.Open(filepath.Join(dir, logsDir), joblog.Options{MaxBytes: cfg.MaxLogSize, PruneAlso: s.files.Prune}); err != nil {
		return nil, err
	}
	git, err := gitsource.New(filepath.Join(dir, gitDir), gitsource.Options{TTL: cfg.GitCacheTTL, Logger: log.With("component", "git")})
	if err != nil {
		return nil, err
	}
	images, err := imagepolicy.Parse(cfg.ImageAllowlist)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ex, err := openExecutor(cfg, dir, git, images, log.With("component", "executor"))
	if err != nil {
		return nil, err
	}
	s.executor = ex
	maxJobs := cfg.MaxConcurrentJobs
	if maxJobs == 0 {
		maxJobs = ex.maxJobs
	}
	reg := prometheus.NewRegistry()
	if err := registerProcessMetrics(reg, cfg.Version, cfg.Commit); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s.engine = jobs.New(s.store, ex.ex, s.logs, jobs.Options{
		MaxConcurrent:     maxJobs,
		DefaultTimeout:    cfg.DefaultTimeout,
		MaxQueuedPerOwner: cfg.MaxQueuedPerOwner,
		Logger:            log.With("component", "jobs"),
		Files:             s.files,
		Registerer:        reg,
		// SQLite is this process's alone: jobs left running at start are recovered at once. PostgreSQL is shared
		// by replicas, whose jobs are recovered only when their leases run out.
		Exclusive: cfg.Store == "" || cfg.Store == StoreSQLite,
		LeaseTTL:  cfg.LeaseTTL,
		Images:    images,
		// Workflow steps are jobs: the run engine gives them their environment and advances when they end.
		StepEnv:  func(ctx context.Context, j store.Job) (jobs.Step, error) { return s.runs.StepEnv(ctx, j) },
		Finished: func(j store.Job) { s.runs.JobFinished(j); s.outbox.Wake() },
	})
	s.outbox = outbox.New(s.store, outbox.Options{
		Source:     s.eventSource(),
		Logger:     log.With("component", "events-out"),
		Registerer: reg,
	})
	steps := auth.NewStepTokens(jwtKey, nil)
	s.runs = runs.New(s.store, s.engine, runs.Options{
		Logger:      log.With("component", "runs"),
		MetadataURL: strings.TrimSuffix(s.advertiseURL(), "/") + "/api/v1/metadata",
		IssueToken: func(sc runs.StepScope, expires time.Time) (string, error) {
			return steps.Issue(auth.Step{Run: sc.Run, Step: sc.Step, Attempt: sc.Attempt, Job: sc.Job}, expires)
		},
	})
	authOpts := auth.Options{TokenTTL: cfg.TokenTTL, Logger: log.With("component", "auth")}
	if cfg.LDAP.URL != "" {
		if authOpts.Directory, err = ldap.New(cfg.LDAP, log.With("component", "ldap")); err != nil {
			return nil, err
		}
	}
	authn, err := auth.New(s.store, jwtKey, authOpts)
	if err != nil {
		return nil, err
	}
	s.audit = audit.New(s.store, audit.Options{Logger: log.With("component", "audit"), Registerer: reg})
	boot, err := auth.EnsureBuiltins(ctx, s.store, auth.RootPassword{Password: cfg.RootPassword, Reset: cfg.ResetRootPassword})
	if err != nil {
		return nil, err
	}
	switch {
	case boot.Generated != "":
		// Printed at once: if anything below fails, root exists and this is the only copy of its password.
		fmt.Fprintf(out, "root password: %s\n", boot.Generated)
		log.Info("created user root with a generated password, printed once to the console; set RUNPLANE_ROOT_PASSWORD to choose it")
	case boot.Reset:
		log.Warn("reset root's password to RUNPLANE_ROOT_PASSWORD, as --reset-root-password asked; root's sessions ended")
		s.recordRootReset(ctx)
	case boot.Ignored:
		log.Info("RUNPLANE_ROOT_PASSWORD is not root's password any more (it was changed since root was created) and is not applied; to reset root's password to it, start once with --reset-root-password")
	case cfg.ResetRootPassword:
		log.Info("root's password already is RUNPLANE_ROOT_PASSWORD; nothing to reset")
	}
	// One Firer starts what every trigger names (cron jobs, webhooks, event rules), through the same entry points
	// as the API, as the trigger's owner.
	firer := trigger.NewFirer(authn, s.engine, s.runs)
	// The dispatcher's answers (Keptn's .started/.finished) go out to the event sinks through the outbox.
	s.events = events.NewDispatcher(s.store, firer, events.Options{
		Retention: cfg.EventRetention, Images: images, AllowPrivileged: cfg.AllowPrivilegedTasks, Runs: s.runs,
		Emitter: outbox.Stored{Emitter: s.outbox}, Logger: log.With("component", "events"),
		Repos: eventRepos{st: s.store, git: git},
	})
	s.cron = cron.New(s.store, firer, cron.Options{
		Logger: log.With("component", "cron"),
		Audit:  s.audit,
		CancelJob: func(ctx context.Context, id string) error {
			_, err := s.engine.Cancel(ctx, id)
			return err
		},
		CancelRun: func(ctx context.Context, id string) error {
			_, err := s.runs.Cancel(ctx, id, "cron")
			return err
		},
	})
	// Promises and resource requests: their workflows run as ordinary runs, their output goes to state stores.
	writers, err := statestore.New(statestore.Options{Dir: filepath.Join(dir, stateDir), Logger: log.With("component", "statestore")})
	if err != nil {
		return nil, err
	}
	// The writers of platform resources (the REST API, the promise controller, the composer) tell the Kubernetes
	// mirror (when on) of each change (kubeapi.go).
	platform := s.platformStore()
	// With a cluster, GitStateStores' secretRefs and definitions' passwordRefs name Kubernetes Secrets, read by one
	// reader; in embedded mode they name runners' secrets.
	secrets, err := clusterSecrets(cfg)
	if err != nil {
		return nil, err
	}
	promiseOpts := controller.Options{
		ReconcileInterval: cfg.ReconcileInterval, Logger: log.With("component", "promises"), Access: ex.access,
		JobNamespace: ex.jobNamespace,
	}
	if secrets != nil {
		promiseOpts.Secrets = kubesecret.New(secrets.CoreV1())
	}
	s.promises = controller.New(platform, s.runs, s.files, writers, promiseOpts)
	charts := chartFetcherFor(secrets, s.store)
	if s.compositions, err = newComposer(cfg, platform, s.runs, charts, log); err != nil {
		return nil, err
	}
	if s.api, err = httpapi.New(httpapi.Options{
		Store:        platform,
		Engine:       s.engine,
		Logs:         s.logs,
		Files:        s.files,
		Runs:         s.runs,
		Cron:         s.cron,
		Firer:        firer,
		StepTokens:   steps,
		Auth:         authn,
		Audit:        s.audit,
		Logger:       log.With("component", "http"),
		Registerer:   reg,
		Gatherer:     reg,
		Ready:        s.ready,
		MaxBodyBytes: cfg.MaxBodyBytes,
		BodyTimeout:  cfg.BodyTimeout,
		Images:       images,
		// Validate checked them.
		AllowedOrigins:   cfg.AllowedOrigins,
		TrustedProxies:   proxies,
		MaxTokenLifetime: cfg.MaxTokenLifetime,
		Events:           s.events,
		PrivilegedTasks:  cfg.AllowPrivilegedTasks,
		Promises:         s.promises,
		Charts:           charts,
		// With a cluster, passwordRef and secretRef name Kubernetes Secrets, not runners' secrets.
		SecretsInCluster: secretsInCluster(cfg),
		Compositions:     s.compositions,
	}); err != nil {
		return nil, err
	}
	if s.kube, err = s.openKubeAPI(authn, log.With("component", "kubemirror")); err != nil {
		return nil, err
	}
	if ex.metadataDir != "" {
		if s.meta, err = openMetadataSocket(ex.metadataDir, s.api, log.With("component", "http")); err != nil {
			return nil, err
		}
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "runplane_http_connections_refused_total",
		Help: "Connections answered 503 and closed at once, by the cap they were past (total or address).",
	}, []string{"cap"})
	reg.MustRegister(refused)
	limited := limitConns(s.ln, cfg.MaxConns, cfg.MaxConnsPerAddr, refused)
	limited.silent = s.certs != nil
	s.ln = limited
	// The web UI serves its pages at / and hands /api/v1 and every other path to the API.
	web, err := ui.New(ui.Options{API: s.api, Logger: log.With("component", "ui")})
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           web,
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout or WriteTimeout: synchronous runs wait up to api.MaxSyncTimeout and log follows stream for
		// as long as a job runs. Bodies are bounded by MaxBodyBytes and BodyTimeout (httpapi) instead.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	if s.certs != nil {
		s.http.TLSConfig = s.certs.tlsConfig()
	} else if !loopback(s.ln.Addr()) && len(proxies) == 0 {
		log.Warn("serving plain HTTP on an address other machines can reach: passwords and tokens cross the network in clear; give --tls-cert and --tls-key, or put a TLS proxy in front (--trusted-proxies)", "addr", s.Addr())
	}
	log.Info("server open", append([]any{"data_dir", dir, "addr", s.Addr()}, ex.attr...)...)
	return s, nil
}

// openStore opens the store cfg names: SQLite in the data dir when it is empty or "sqlite", else PostgreSQL at the
// postgres:// URL it holds.
func openStore(ctx context.Context, dsn, sqlitePath string, cipher *secret.Cipher, log *slog.Logger) (store.Store, error) {
	if dsn == "" || dsn == StoreSQLite {
		return sqlite.Open(ctx, sqlitePath, sqlite.Options{Cipher: cipher, Logger: log})
	}
	st, err := postgres.Open(ctx, dsn, postgres.Options{Cipher: cipher, Logger: log})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// ready is the readiness check: the store answers, and the server is not shutting down.
func (s *Server) ready(ctx context.Context) error {
	if s.stopping.Load() {
		return errors.New("server: shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.store.CountJobs(ctx, api.JobRunning)
	return err
}

// Addr is the address the API listens on, such as 127.0.0.1:41234.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the API's base URL, such as http://127.0.0.1:41234 (https:// when it serves TLS).
func (s *Server) URL() string {
	if s.certs != nil {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// advertiseURL is the server's URL as jobs reach it: Config.AdvertiseURL, else the listen address with an
// unspecified host (every interface) as loopback.
func (s *Server) advertiseURL() string {
	if s.cfg.AdvertiseURL != "" {
		return s.cfg.AdvertiseURL
	}
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return s.URL()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.certs != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// eventSource is the source of the events the server sends out: the same on every replica, so that receivers
// deduplicate on (source, id) whichever replica sent one. Config.AdvertiseURL when set, else outbox.DefaultSource.
func (s *Server) eventSource() string {
	if s.cfg.AdvertiseURL != "" {
		return s.cfg.AdvertiseURL
	}
	return outbox.DefaultSource
}

// loopback tells whether addr can be reached only from this machine.
func loopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Run serves HTTP and runs the job engine and the retention of logs and audit entries until ctx ends or one of them fails. Then it shuts
// down in order:
//
//  1. HTTP stops accepting, readiness answers 503, and in-flight requests get up to 10s: log follows end at once
//     and synchronous runs still waiting answer as async ({"msg","id"}), since their jobs exist.
//  2. The engine stops dispatching. Jobs still running get the engine's shutdown grace (10s) to finish, then are
//     stopped and recorded failed (reason "interrupted"). Queued jobs stay queued and run after the next start.
//     A server killed without this shutdown leaves running jobs to crash recovery instead (reason "orphaned").
//
// Run returns nil after a shutdown caused by ctx; otherwise the first error. Call it once.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("server: Run called twice")
	}
	g, gctx := errgroup.WithContext(ctx)
	// The engine and retention outlive ctx until HTTP has drained, so requests in flight still see a live engine.
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	s.http.BaseContext = func(net.Listener) context.Context { return base }
	s.http.RegisterOnShutdown(cancelBase)

	if s.executor.run != nil {
		g.Go(func() error {
			if err := s.executor.run(bg); err != nil {
				return fmt.Errorf("server: executor: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		// Stopped while it was still recovering jobs at start: a clean stop, not a failure.
		if err := s.engine.Run(bg); err != nil && !(bg.Err() != nil && errors.Is(err, context.Canceled)) {
			return fmt.Errorf("server: job engine: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.logs.RunRetention(bg, s.cfg.LogRetention, retentionInterval(s.cfg.LogRetention), time.Now, s.log.With("component", "joblog")); err != nil {
			return fmt.Errorf("server: log retention: %w", err)
		}
		return nil
	})
	g.Go(func() error { return s.audit.Run(bg) })
	g.Go(func() error { return s.runs.Run(bg) })
	g.Go(func() error { return s.outbox.Run(bg) })
	g.Go(func() error { return s.cron.Run(bg) })
	g.Go(func() error { return s.events.Run(bg) })
	g.Go(func() error { return s.promises.Run(bg) })
	g.Go(func() error { return s.compositions.Run(bg) })
	if s.kube != nil {
		g.Go(func() error { return s.kube.Run(bg) })
	}
	g.Go(func() error {
		return audit.RunRetention(bg, s.store, s.cfg.AuditRetention, retentionInterval(s.cfg.AuditRetention), time.Now,
			s.log.With("component", "audit"))
	})
	g.Go(func() error {
		s.log.Info("serving", "url", s.URL())
		serve := s.http.Serve
		if s.certs != nil {
			serve = func(ln net.Listener) error { return s.http.ServeTLS(ln, "", "") }
		}
		if err := serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("server: serve: %w", err)
		}
		return nil
	})
	if s.meta != nil {
		g.Go(func() error { return s.meta.run(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		s.stopping.Store(true)
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(sctx); err != nil {
			s.log.Warn("requests still running after the shutdown timeout; closing their connections", "timeout", shutdownTimeout)
			_ = s.http.Close()
		}
		stopBg()
		return nil
	})
	err := g.Wait()
	s.log.Info("stopped")
	return err
}

// retentionInterval is how often old logs and audit entries are pruned: a quarter of the retention, between a minute and an hour.
func retentionInterval(keep time.Duration) time.Duration {
	return min(max(keep/4, time.Minute), time.Hour)
}

// Close releases the listener (if Run never served it), the store, the executor's workspaces and the data dir's
// lock. Call it after Run returned.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.ln != nil && !s.ran.Load() {
			errs = append(errs, s.ln.Close())
			if s.meta != nil {
				errs = append(errs, s.meta.ln.Close())
			}
		}
		if s.kube != nil {
			s.kube.Close() // a server closed without running leaves no goroutine of the mirror's queue
		}
		if s.store != nil {
			errs = append(errs, s.store.Close())
		}
		if s.executor.close != nil {
			errs = append(errs, s.executor.close())
		}
		if s.unlock != nil { // last: nothing of this server touches the data dir after
			errs = append(errs, s.unlock())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
