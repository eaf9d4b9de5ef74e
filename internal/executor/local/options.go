package local

import (
	"log/slog"
	"os"
	"time"

	"github.com/runplane/runplane/internal/executor/cgroup"
	"github.com/runplane/runplane/internal/gitsource"
)

// Isolation modes for Options.Isolation.
const (
	// IsolationAuto picks IsolationNamespace when the host allows it, else IsolationNone.
	IsolationAuto = "auto"
	// IsolationNamespace runs each job in a sandbox (sandbox.go): a root of its own with the host's /usr and /etc
	// read-only, its own PID, mount and IPC namespaces, and as root, a user id of its own without capabilities.
	// As root it is set up in-process; otherwise through the launcher, in a user namespace.
	IsolationNamespace = "namespace"
	// IsolationLauncher is IsolationNamespace always through the launcher, even as root (slower; the launcher is
	// PID 1 and forwards SIGTERM/SIGINT to the job's process group).
	IsolationLauncher = "launcher"
	// IsolationNone runs `sh -c` directly in its own process group, as the server's user, with the host's view:
	// no security boundary. Secrets go to $RUNPLANE_SECRET_DIR.
	IsolationNone = "none"
)

// SecretDir is where jobs find their secret files when namespaces are available.
const SecretDir = "/etc/secret"

// JobPath is the PATH every job gets.
const JobPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options configure an Executor. The zero value works when the server runs as root (jobs then have no repository
// unless Git is set).
type Options struct {
	// WorkDir holds the per-job workspaces (removed after each job); default a new directory under os.TempDir().
	// Unless it is a tmpfs, workspaces go to a tmpfs instead where there is one: a private directory under
	// /dev/shm named after WorkDir. One Executor at a time may use a WorkDir: New removes the workspaces an
	// earlier process left there (and under /dev/shm, those of WorkDirs that no longer exist).
	WorkDir string
	// Git materialises Spec.Repo. With nil, a Spec with a repository URL fails to start.
	Git *gitsource.Cache
	// LauncherPath and LauncherArgs re-execute the launcher; default /proc/self/exe with [LauncherArg].
	LauncherPath string
	LauncherArgs []string
	// Isolation is one of the Isolation* constants; "" means IsolationAuto.
	Isolation string
	// WorkspaceOnDisk puts workspaces in directories under WorkDir even where a tmpfs is available (the default
	// keeps them in memory: a job then needs no disk metadata operations).
	WorkspaceOnDisk bool
	// WorkspaceSize, if positive, gives each in-process namespace job a tmpfs workspace of its own capped at this
	// many bytes, mounted in its own mount namespace (slower); zero shares a tmpfs among all jobs (no cap per job).
	WorkspaceSize int64
	// UIDBase and UIDCount are the user ids sandboxed jobs run as when the server is root, one per running job
	// (uid.go); 0 means DefaultUIDBase and DefaultUIDCount. No other process on the host may use them.
	UIDBase, UIDCount uint32
	// ReadOnlyPaths are the host directories a sandboxed job sees, read-only; nil means DefaultReadOnlyPaths.
	ReadOnlyPaths []string
	// Cgroups enforces Spec.Limits (cgroup v1 or v2); with nil, or for a limit the host cannot enforce, the job
	// runs without it and its warnings say so.
	Cgroups *cgroup.Manager
	// KeepLimit bounds the bytes of the files kept for a job that asks (Spec.Keep); default
	// executor.DefaultKeepLimit. What is over it is not kept, and the job's warnings say so.
	KeepLimit int64
	// RetainFinished is how long a finished attempt stays known to Wait and Stop; default 2 minutes. Callers
	// are expected to Wait right after Start.
	RetainFinished time.Duration
	Logger         *slog.Logger
}

// LauncherArg as os.Args[1] makes a binary that calls MaybeRunLauncher act as the job launcher.
const LauncherArg = "__runplane-launch"

// MaybeRunLauncher runs the launcher and exits if os.Args[1] is LauncherArg; otherwise it returns at once.
// Call it first thing in main and in TestMain of any test binary that runs jobs through the local executor.
func MaybeRunLauncher() {
	if len(os.Args) > 1 && os.Args[1] == LauncherArg {
		os.Exit(RunLauncher())
	}
}
