package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/cgroup"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/platform/controller"
)

// IsolationContainer runs every local job in its runner's image with podman (executor/podman).
const IsolationContainer = "container"

// Executors cfg.Executor may name.
const (
	ExecutorLocal      = "local"
	ExecutorKubernetes = "kubernetes"
)

// runningExecutor is the executor the engine uses, what it needs run alongside (nil for none), and how to
// describe it in the log. The executor is a named field, not embedded: the engine finds its optional interfaces
// (executor.Durable, …) on it, which a struct embedding it would hide.
type runningExecutor struct {
	ex      executor.Executor
	run     func(ctx context.Context) error
	attr    []any
	maxJobs int          // jobs running at once unless configured; 0: the engine's default, for this machine's CPUs
	close   func() error // releases what the executor holds once no job runs; nil for nothing
	// metadataDir is where the server serves the metadata API on a Unix socket for the executor; "" for nowhere.
	metadataDir string
	// access grants promise pipelines their rbac (Kubernetes); nil where pipelines have no identity to give.
	access controller.Access
	// jobNamespace is the one namespace every job runs in (Kubernetes); "" where jobs run on this machine.
	jobNamespace string
}

// openCgroups opens the control groups that enforce local jobs' resource limits, named after the data dir so
// that servers on one host keep out of each other's groups; nil, logged once, where the host has none to give.
func openCgroups(dataDir string, log *slog.Logger) *cgroup.Manager {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	m, err := cgroup.Open(cgroup.Options{Name: hex.EncodeToString(sum[:6]), Logger: log})
	if err != nil {
		log.Warn("tasks' resource limits will not be enforced", "err", err)
		return nil
	}
	return m
}

// podmanTweak, set only by this package's sequential tests (no other test's server runs meanwhile), edits the
// container mode's executor options: a registry on loopback needs podman.Options.SkipTLSVerify.
var podmanTweak func(*podman.Options)

// kubeMaxJobs is how many Kubernetes Jobs a server runs at once by default: they run on the cluster, not on the
// server's CPUs, and a cluster without room keeps pods pending until --pod-start-timeout fails them, so more wait
// queued in runplane.
const kubeMaxJobs = 64

// openExecutor makes the executor cfg names. Images checks the runner images jobs start with (nil: any).
func openExecutor(cfg Config, dir string, git *gitsource.Cache, images *imagepolicy.Allowlist, log *slog.Logger) (runningExecutor, error) {
	switch cfg.Executor {
	case "", ExecutorLocal:
		if cfg.Isolation == IsolationContainer {
			opts := podman.Options{
				WorkDir: filepath.Join(dir, workDir),
				Git:     git,
				Images:  images, // nil or empty: any image
				Logger:  log,
			}
			opts.Metadata = podman.Metadata{SocketDir: filepath.Join(dir, metadataDir), Forwarder: metadataForwarder(log)}
			if podmanTweak != nil {
				podmanTweak(&opts)
			}
			ex, err := podman.New(opts)
			if err != nil {
				return runningExecutor{}, fmt.Errorf("server: %w", err)
			}
			return runningExecutor{ex: ex, close: ex.Close, metadataDir: opts.Metadata.SocketDir,
				attr: []any{"executor", ExecutorLocal, "isolation", IsolationContainer}}, nil
		}
		cg := openCgroups(dir, log)
		ex, err := local.New(local.Options{
			WorkDir:   filepath.Join(dir, workDir),
			Git:       git,
			Isolation: cfg.Isolation,
			Cgroups:   cg,
			Logger:    log,
		})
		if err != nil {
			if cg != nil {
				cg.Close()
			}
			return runningExecutor{}, err
		}
		closeAll := func() error {
			err := ex.Close()
			if cg != nil {
				err = errors.Join(err, cg.Close())
			}
			return err
		}
		return runningExecutor{ex: ex, close: closeAll, attr: []any{"executor", ExecutorLocal, "isolation", ex.Isolation()}}, nil
	case ExecutorKubernetes:
		if cfg.JobImage == "" {
			return runningExecutor{}, errors.New("server: the kubernetes executor needs --job-image (RUNPLANE_JOB_IMAGE): runplane's own image, which checks out each job's repository")
		}
		client, ns, err := kubeexec.Connect(cfg.Kubeconfig)
		if err != nil {
			return runningExecutor{}, fmt.Errorf("server: %w", err)
		}
		if cfg.Namespace != "" {
			ns = cfg.Namespace
		}
		opts := kubeexec.Options{
			Client:         client,
			Namespace:      ns,
			JobImage:       cfg.JobImage,
			ServiceAccount: cfg.JobServiceAccount,
			TTL:            cfg.JobTTL,
			StartTimeout:   cfg.PodStartTimeout,
			Heads:          git,
			Images:         images, // nil or empty: any image
			Logger:         log,
		}
		ex, err := kubeexec.New(opts)
		if err != nil {
			return runningExecutor{}, fmt.Errorf("server: %w", err)
		}
		return runningExecutor{ex: ex, run: ex.Run, maxJobs: kubeMaxJobs, access: kubeexec.NewAccess(client, ex.Namespace()),
			jobNamespace: ex.Namespace(), attr: []any{"executor", ExecutorKubernetes, "namespace", ex.Namespace()}}, nil
	}
	return runningExecutor{}, fmt.Errorf("server: unknown executor %q", cfg.Executor)
}
