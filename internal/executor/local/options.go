package local

import (
	"log/slog"
	"os"
	"time"

	"github.com/runplane/runplane/internal/gitsource"
)

// Isolation modes for Options.Isolation.
const (
	// IsolationAuto picks IsolationNamespace when the host allows it, else IsolationNone.
	IsolationAuto = "auto"
	// IsolationNamespace runs each job in its own mount and PID namespaces with /etc/secret private to it: set up
	// in-process as root, through the launcher otherwise (with a user namespace).
	IsolationNamespace = "namespace"
	// IsolationLauncher is IsolationNamespace always through the launcher, even as root (slower; the launcher is
	// PID 1 and forwards SIGTERM/SIGINT to the job's process group).
	IsolationLauncher = "launcher"
	// IsolationNone runs `sh -c` directly in its own process group; secrets go to $RUNPLANE_SECRET_DIR.
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
	// One Executor at a time may use it: New removes the workspaces an earlier process left there.
	WorkDir string
	// Git materialises Spec.Repo. With nil, a Spec with a repository URL fails to start.
	Git *gitsource.Cache
	// LauncherPath and LauncherArgs re-execute the launcher; default /proc/self/exe with [LauncherArg].
	LauncherPath string
	LauncherArgs []string
	// Isolation is one of the Isolation* constants; "" means IsolationAuto.
	Isolation string
	// WorkspaceOnDisk puts namespace jobs' workspaces in directories under WorkDir instead of on a tmpfs private
	// to each job (the default: a job then needs no disk metadata operations, and its files live in memory).
	WorkspaceOnDisk bool
	// WorkspaceSize caps each tmpfs workspace in bytes; zero leaves the kernel's default (half the RAM).
	WorkspaceSize int64
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
