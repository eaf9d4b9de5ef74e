package podman

import (
	"context"
	"log/slog"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// Checkout writes the tree of a repository's branch into a new directory (gitsource.Cache does).
type Checkout interface {
	Checkout(ctx context.Context, repo executor.Repo, dst string) (commit string, err error)
}

// Images decides which images jobs may run (imagePolicy.Allowlist does); Check's error says why not.
type Images interface {
	Check(image string) error
}

// Defaults for Options.
const (
	// DefaultRuntime is the OCI runtime: runc works on hosts with hybrid cgroups, where crun refuses to run.
	DefaultRuntime = "/usr/sbin/runc"
	// DefaultCgroupManager works without systemd.
	DefaultCgroupManager = "cgroupfs"
	// DefaultNetwork gives jobs no network at all (only their own loopback).
	DefaultNetwork = "none"
	// DefaultUID runs every job (and owns its workspace), as the Kubernetes executor's pods do.
	DefaultUID = 65532
)

// DefaultUlimits stay under the hard limits of our VMs (nofile 20000): podman's own defaults exceed them and then
// every container fails to start.
var DefaultUlimits = []string{"nofile=1024:1024", "nproc=1024:1024"}

// Options configure an Executor. The zero value works for root on a host with podman and runc (jobs then have no
// repository unless Git is set).
type Options struct {
	// WorkDir holds a directory per attempt (the checkout and the secret files), removed when the attempt is
	// over; default a new directory under os.TempDir(). Keep it in the server's data dir: New removes the
	// directories there of containers that no longer exist. Secrets are written there: a tmpfs keeps them off disk.
	WorkDir string
	// Git checks out Spec.Repo. With nil, a Spec with a repository URL fails to start.
	Git Checkout
	// Images, if not nil, is checked at Start.
	Images Images
	// Podman is the podman binary; default "podman" from PATH.
	Podman string
	// Runtime is podman's --runtime; default DefaultRuntime when it exists, else podman's own default.
	Runtime string
	// CgroupManager is podman's --cgroup-manager; default DefaultCgroupManager.
	CgroupManager string
	// GlobalArgs are more global podman flags (before the command), e.g. --root and --runroot for a store of
	// runplane's own. Default: none, root's store.
	GlobalArgs []string
	// Ulimits are --ulimit values for every container; default DefaultUlimits. Note that nproc counts every
	// process of the job's uid on the host, so it also bounds how many jobs run at once.
	Ulimits []string
	// UID and GID run every job and own its workspace; default DefaultUID. Root cannot be asked for.
	UID, GID int
	// Network is podman's --network for the jobs of tasks that set no network (Spec.Network ""); default
	// DefaultNetwork. A task's network none, private or host is podman's none, bridge or host.
	Network string
	// Pull is podman's --pull policy; default "missing": an image is taken from podman's local store, else pulled.
	Pull string
	// SeccompProfile is the seccomp profile (containers' JSON format) jobs' profile is derived from: the same,
	// without the kernel keyring calls; default DefaultSeccompProfile, or podman's built-in one where that file
	// does not exist (which then leaves keyctl allowed).
	SeccompProfile string
	// AuthFile is podman's --authfile for pulls of runners without an image pull secret (Spec.PullSecret, which
	// takes its place); empty: podman's default.
	AuthFile string
	// SkipTLSVerify pulls with --tls-verify=false: plain HTTP and unchecked certificates, for every registry. It is
	// for tests against a registry on loopback; never set it for a real registry.
	SkipTLSVerify bool
	// Labels are added to every container (runplane.dev/managed-by and runplane.dev/job always are).
	Labels map[string]string
	// CallTimeout bounds every podman call but create (and stop, which adds its grace); default 1 minute.
	CallTimeout time.Duration
	// CreateTimeout bounds creating a container, which includes pulling its image; default 10 minutes.
	CreateTimeout time.Duration
	// KeepLimit bounds the bytes of the files kept for a job that asks (Spec.Keep); default
	// executor.DefaultKeepLimit. What is over it is not kept, and the job's warnings say so.
	KeepLimit int64
	// Metadata lets workflow steps' containers reach the metadata API (metadata.go). Zero: a step's container
	// (but one with the host's network) fails to start.
	Metadata Metadata
	// RetainFinished is how long a finished attempt stays known to Wait and Stop; default 2 minutes.
	RetainFinished time.Duration
	Logger         *slog.Logger
}
