//go:build linux

package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

// The launcher's inherited pipes: its config arrives on configFD, it reports how the job ended on statusFD.
const (
	configFD = 3
	statusFD = 4
)

// launchConfig is what the executor sends the launcher on configFD; secrets travel only this way.
type launchConfig struct {
	Command string   `json:"command"`
	Dir     string   `json:"dir"`
	Env     []string `json:"env"`
	// Containers, if set instead of Command, run one after another (containers.go).
	Containers []containerProc `json:"containers,omitempty"`
	Layout     *sandboxLayout  `json:"layout"`
	Root       jobRoot         `json:"root"`
	SetUID     bool            `json:"setuid"` // run the job as Root.UID (the launcher is root on the host)
}

// launcherCaps are the capabilities the launcher needs in its user namespace to build a job's sandbox.
var launcherCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SYS_CHROOT, unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER}

// RunLauncher is the launcher: started by the executor as PID 1 of new mount, IPC and PID namespaces (and a user
// namespace when the server is not root), it reads its config from fd 3, builds the job's sandbox (sandbox.go),
// forks `sh -c command` there in a new session as the job's user, forwards SIGTERM,
// SIGINT and SIGHUP to the job's process group, reaps every orphan, reports the job's wait status on fd 4 and
// returns the job's exit code (128+signal if a signal killed it). Its exit takes the whole namespace with it.
func RunLauncher() int {
	runtime.LockOSThread() // Pdeathsig of the job follows this thread
	status := os.NewFile(statusFD, "status")
	syscall.CloseOnExec(statusFD)
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "runplane launcher: %v\n", err)
		return 127
	}
	cfg, err := readLaunchConfig()
	if err != nil {
		return fail(err)
	}
	if err := buildLauncherRoot(cfg); err != nil {
		return fail(err)
	}
	// Capabilities the launcher holds as ambient ones (in a user namespace) must not pass to the job. The job is
	// forked from this thread, locked above, so clearing them here is enough.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("drop ambient capabilities: %w", err))
	}
	if err := restrictThread(); err != nil {
		return fail(err)
	}
	var cred *syscall.Credential
	if cfg.SetUID {
		cred = &syscall.Credential{Uid: uint32(cfg.Root.UID), Gid: uint32(cfg.Root.GID), Groups: []uint32{}}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if len(cfg.Containers) > 0 {
		return launchContainers(cfg, cred, sigs, status)
	}
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", cfg.Command}, &syscall.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, Chroot: cfg.Layout.Dir, Credential: cred},
	})
	if err != nil {
		return fail(fmt.Errorf("start sh: %w", err))
	}
	go pid1.Forward(sigs, pid, nil)
	ws, err := pid1.WaitFor(pid)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(status, "%d\n", uint32(ws))
	status.Close()
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// buildLauncherRoot makes the job's sandbox in the launcher's mount namespace; the launcher is PID 1 of the job's
// PID namespace, so a plain proc mount is the job's.
func buildLauncherRoot(cfg *launchConfig) error {
	if cfg.Layout == nil {
		return fmt.Errorf("no sandbox layout")
	}
	if err := privateMounts(); err != nil {
		return err
	}
	root := cfg.Root
	err := cfg.Layout.buildBase(func(r func(string) string) error {
		passwd, group := r("run/passwd"), r("run/group")
		p, g := userLines(root.UID, root.GID)
		for _, f := range []struct {
			path string
			base []byte
			line string
		}{{passwd, cfg.Layout.Passwd, p}, {group, cfg.Layout.Group, g}} {
			b := f.base[:len(f.base):len(f.base)]
			if len(b) > 0 && b[len(b)-1] != '\n' {
				b = append(b, '\n')
			}
			b = append(b, f.line...)
			if err := os.WriteFile(f.path, b, 0o444); err != nil {
				return err
			}
		}
		return cfg.Layout.bindUsers(passwd, group)
	})
	if err != nil {
		return err
	}
	if err := cfg.Layout.mountTmp(); err != nil {
		return err
	}
	if err := cfg.Layout.mountJob(root); err != nil {
		return err
	}
	return cfg.Layout.mountHostProc() // the launcher's PID namespace is the job's
}

func readLaunchConfig() (*launchConfig, error) {
	f := os.NewFile(configFD, "config")
	if f == nil {
		return nil, fmt.Errorf("no config pipe on fd %d", configFD)
	}
	defer f.Close()
	syscall.CloseOnExec(configFD)
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var cfg launchConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	return &cfg, nil
}

// launchContainers runs the containers of cfg one after another, as the executor's runContainers does, each in a
// new session, up to the first that fails or until a signal (passed on to the current one) asks the job to end.
// For each that ran it reports on status a line "c <index> <wait status> <start> <end>" (times in Unix
// nanoseconds), then the last one's wait status alone, as for a command; it returns the last one's exit code.
func launchContainers(cfg *launchConfig, cred *syscall.Credential, sigs <-chan os.Signal, status *os.File) int {
	var (
		mu       sync.Mutex
		cur      int
		stopping bool
	)
	go func() {
		for s := range sigs {
			mu.Lock()
			stopping = true
			if cur > 0 {
				if err := syscall.Kill(-cur, s.(syscall.Signal)); errors.Is(err, syscall.ESRCH) {
					_ = syscall.Kill(cur, s.(syscall.Signal))
				}
			}
			mu.Unlock()
		}
	}()
	var last syscall.WaitStatus
	for i, c := range cfg.Containers {
		mu.Lock()
		if stopping {
			mu.Unlock()
			break
		}
		_, _ = io.WriteString(os.Stdout, c.Header)
		start := time.Now()
		pid, err := syscall.ForkExec("/bin/sh", c.Argv, &syscall.ProcAttr{
			Dir:   c.Dir,
			Env:   c.Env,
			Files: []uintptr{0, 1, 2},
			Sys:   &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, Chroot: cfg.Layout.Dir, Credential: cred},
		})
		if err != nil {
			mu.Unlock()
			fmt.Fprintf(os.Stderr, "runplane launcher: container %s: start: %v\n", c.Name, err)
			last = syscall.WaitStatus(127 << 8)
			break
		}
		cur = pid
		mu.Unlock()
		ws, err := pid1.WaitFor(pid)
		end := time.Now()
		mu.Lock()
		cur = 0
		mu.Unlock()
		if err != nil {
			fmt.Fprintf(os.Stderr, "runplane launcher: %v\n", err)
			return 127
		}
		// What the container left running ends with it, as it would in a pod (kill(-1) from PID 1 of a PID
		// namespace reaches every other process in it).
		_ = syscall.Kill(-1, syscall.SIGKILL)
		fmt.Fprintf(status, "c %d %d %d %d\n", i, uint32(ws), start.UnixNano(), end.UnixNano())
		last = ws
		if !ws.Exited() || ws.ExitStatus() != 0 {
			break
		}
	}
	fmt.Fprintf(status, "%d\n", uint32(last))
	status.Close()
	if last.Signaled() {
		return 128 + int(last.Signal())
	}
	return last.ExitStatus()
}
