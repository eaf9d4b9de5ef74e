//go:build linux

package local

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runplane/runplane/internal/executor"
)

// rootDirName is the directory under WorkDir where each sandboxed job mounts its root (sandbox.go), inside its
// own mount namespace: on the host it stays an empty directory.
const rootDirName = "root"

// usersDirName is the directory under WorkDir with the passwd and group files of job users (template.go).
const usersDirName = "users"

// mode is how this Executor actually isolates jobs.
type mode int

const (
	modeNone     mode = iota
	modeInProc        // namespaces set up on a locked thread of this process
	modeLauncher      // namespaces set up by the re-executed launcher
)

// Executor runs jobs as local processes. It is safe for concurrent use.
type Executor struct {
	opts    Options
	log     *slog.Logger
	mode    mode
	userns  bool // launcher needs a user namespace (not root)
	workDir string
	// wsRoot is where each job's workspace directory is made: a tmpfs shared by all jobs (workspace.go) or
	// WorkDir. Empty when every job mounts a tmpfs of its own at /workspace in its sandbox instead.
	wsRoot string
	why    string // why auto chose no sandbox
	// sandbox is the layout of every job's root; nil with IsolationNone.
	sandbox *sandboxLayout
	// uids hands out the job user ids when the server is root; nil otherwise (jobs then run as sandboxUID in a
	// user namespace that maps it to the server's user).
	uids *uidPool
	// template and users serve in-process sandboxes (template.go); nil in the other modes.
	template *template
	users    *userFiles
	threads  *threads // where jobs with a sandbox or control group of their own run

	mu       sync.Mutex
	attempts map[executor.Handle]*attempt
}

var _ executor.Executor = (*Executor)(nil)

// New checks the host, prepares WorkDir (removing stale workspaces) and returns an Executor.
func New(opts Options) (*Executor, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.WorkDir == "" {
		dir, err := os.MkdirTemp("", "runplane-work-")
		if err != nil {
			return nil, fmt.Errorf("local executor: %w", err)
		}
		opts.WorkDir = dir
	}
	if opts.LauncherPath == "" {
		opts.LauncherPath = "/proc/self/exe"
		if opts.LauncherArgs == nil {
			opts.LauncherArgs = []string{LauncherArg}
		}
	}
	if opts.RetainFinished <= 0 {
		opts.RetainFinished = 2 * time.Minute
	}
	workDir, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	if err := removeStaleWorkspaces(workDir); err != nil {
		return nil, fmt.Errorf("local executor: remove stale workspaces: %w", err)
	}
	e := &Executor{opts: opts, log: log, workDir: workDir, attempts: map[executor.Handle]*attempt{}}
	if err := e.pickMode(opts.Isolation); err != nil {
		return nil, err
	}
	if e.mode != modeNone {
		if err := e.prepareSandbox(); err != nil {
			return nil, fmt.Errorf("local executor: %w", err)
		}
	}
	if err := e.pickWorkspaces(); err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	if e.mode == modeInProc {
		e.threads = newThreads(e.prepareThread)
	} else {
		e.threads = newThreads(nil)
	}
	log.Info("local executor ready", "isolation", e.Isolation(), "workdir", workDir, "workspaces", cmp.Or(e.wsRoot, "tmpfs per job"))
	if e.mode == modeNone {
		log.Warn(NoSandboxWarning, "why", cmp.Or(e.why, "isolation none was asked for"))
	}
	return e, nil
}

// NoSandboxWarning is what the server logs at start, and every job's warnings say, when jobs run without a sandbox.
const NoSandboxWarning = "isolation none: jobs run as the server's user and see the host as it does; this is NOT a security boundary: " +
	"a task's author can read the server's data dir, keys and environment (use isolation namespace, which needs root or unprivileged user namespaces)"

// sandboxUID is the user id jobs run as in the launcher's user namespace when the server is not root (the
// Kubernetes executor's default too): the namespace maps it to the server's own user.
const sandboxUID = 65532

// prepareSandbox works out the layout of the jobs' roots and where their user ids come from.
func (e *Executor) prepareSandbox() error {
	dir := filepath.Join(e.workDir, rootDirName)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	l, err := newSandboxLayout(dir, e.opts.ReadOnlyPaths)
	if err != nil {
		return err
	}
	e.sandbox = l
	if !e.userns {
		e.uids = newUIDPool(cmp.Or(e.opts.UIDBase, DefaultUIDBase), cmp.Or(e.opts.UIDCount, DefaultUIDCount))
	}
	if e.mode != modeInProc {
		return nil
	}
	l.ProcNS = probeProcNS(dir)
	if e.users, err = newUserFiles(filepath.Join(e.workDir, usersDirName), l); err != nil {
		return err
	}
	e.template, err = newTemplate(l, e.users)
	return err
}

// pickWorkspaces decides where workspaces go: on a tmpfs where there is one (workspace.go), else under
// WorkDir, except for in-process namespace jobs, which then mount a tmpfs each.
func (e *Executor) pickWorkspaces() error {
	e.wsRoot = e.workDir
	if e.opts.WorkspaceOnDisk {
		return nil
	}
	if e.mode != modeInProc || e.opts.WorkspaceSize == 0 { // a size cap needs a tmpfs per job
		root, err := sharedWorkspaceRoot(shmBase, e.workDir)
		if err != nil {
			e.log.Warn("no shared tmpfs for workspaces", "err", err)
		}
		if root != "" {
			e.wsRoot = root
			return nil
		}
	}
	if e.mode == modeInProc {
		e.wsRoot = "" // a tmpfs per job, mounted in its sandbox
	}
	return nil
}

// Isolation reports the isolation in effect: IsolationNamespace, IsolationLauncher or IsolationNone.
func (e *Executor) Isolation() string {
	switch e.mode {
	case modeInProc:
		return IsolationNamespace
	case modeLauncher:
		return IsolationLauncher
	}
	return IsolationNone
}

func (e *Executor) pickMode(iso string) error {
	root := os.Geteuid() == 0
	switch iso {
	case "", IsolationAuto:
		switch {
		case root && probeInProc() == nil:
			e.mode = modeInProc
		case !root && userNamespacesAllowed() && dirExists(SecretDir):
			e.mode, e.userns = modeLauncher, true
		default:
			e.mode = modeNone
			e.why = e.noSandboxReason(root)
		}
	case IsolationNamespace:
		if root {
			if err := probeInProc(); err != nil {
				return fmt.Errorf("local executor: namespace isolation unavailable: %w", err)
			}
			e.mode = modeInProc
			return nil
		}
		if err := e.launcherUsable(); err != nil {
			return err
		}
		e.mode, e.userns = modeLauncher, true
	case IsolationLauncher:
		if !root {
			if err := e.launcherUsable(); err != nil {
				return err
			}
		} else if err := os.MkdirAll(SecretDir, 0o755); err != nil {
			return fmt.Errorf("local executor: %w", err)
		}
		e.mode, e.userns = modeLauncher, !root
	case IsolationNone:
		e.mode = modeNone
	default:
		return fmt.Errorf("local executor: unknown isolation %q (want auto, namespace, launcher or none)", iso)
	}
	return nil
}

// noSandboxReason says why auto found no sandbox to give.
func (e *Executor) noSandboxReason(root bool) string {
	if root {
		if err := probeInProc(); err != nil {
			return "namespaces unavailable: " + err.Error()
		}
	}
	if err := e.launcherUsable(); err != nil {
		return err.Error()
	}
	return ""
}

func (e *Executor) launcherUsable() error {
	if !userNamespacesAllowed() {
		return errors.New("local executor: namespace isolation unavailable: not root and no unprivileged user namespaces")
	}
	if !dirExists(SecretDir) {
		return fmt.Errorf("local executor: namespace isolation unavailable: %s does not exist and only root can create it (once: sudo mkdir %s)", SecretDir, SecretDir)
	}
	return nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func userNamespacesAllowed() bool {
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err != nil || len(b) == 0 || b[0] == '0' {
		return false
	}
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && len(b) > 0 && b[0] == '0' {
		return false
	}
	return true
}

// probeInProc checks, on a throwaway thread, that this process can make private mount and IPC namespaces with a
// tmpfs at SecretDir (creating the directory on the host if needed: it is the mount point of every job's secrets).
func probeInProc() error {
	if err := os.MkdirAll(SecretDir, 0o755); err != nil {
		return err
	}
	return onThrowawayThread(func() error {
		if err := enterJobMountNS(); err != nil {
			return err
		}
		return mountSecretsAt(SecretDir, nil, -1, -1)
	})
}

// probeProcNS reports whether this kernel mounts a proc for another PID namespace (Linux 6.18's pidns= option),
// trying at dir in a throwaway mount namespace.
func probeProcNS(dir string) bool {
	return onThrowawayThread(func() error {
		if err := enterJobMountNS(); err != nil {
			return err
		}
		return unix.Mount("proc", dir, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "pidns=/proc/thread-self/ns/pid")
	}) == nil
}

// onThrowawayThread runs fn on an OS thread of its own that exits afterwards, with whatever namespaces fn gave it.
func onThrowawayThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespaces
		errc <- fn()
	}()
	return <-errc
}

// removeStaleWorkspaces removes what an earlier Executor left in dir, and only that: names it makes.
func removeStaleWorkspaces(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), secretDirSuffix)
		if e.IsDir() && (name == rootDirName || name == usersDirName || name == "job" || (strings.Contains(name, ".") && validWorkspace(name))) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// Close removes the shared workspace root this Executor made under /dev/shm, once no job of it runs; WorkDir
// and its contents are the caller's. Jobs still running keep their workspaces, and Close leaves the root to the
// next Executor of this WorkDir, which empties it. Call Close when no more jobs will be started.
func (e *Executor) Close() error {
	if e.wsRoot == "" || e.wsRoot == e.workDir {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.attempts {
		select {
		case <-a.done:
		default:
			return nil
		}
	}
	if err := os.RemoveAll(e.wsRoot); err != nil {
		return fmt.Errorf("local executor: remove workspaces: %w", err)
	}
	return nil
}
