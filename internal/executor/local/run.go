//go:build linux

package local

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/cgroup"
)

// attempt is one running or finished job known to this process.
type attempt struct {
	handle    executor.Handle
	mode      mode
	workspace string // the workspace directory on disk; "" for a tmpfs workspace
	secretDir string // IsolationNone only: the job's private secret directory, a sibling of the workspace
	ioDir     string // a multi-container job's shared directories (input, output, metadata); "" for none
	keep      string // Spec.Keep
	// mu guards proc and pid, which change from one container of a job to the next, and stopping.
	mu       sync.Mutex
	proc     *os.Process // the job's shell (or its current container's process), or the launcher; signalled through its pidfd
	pid      int
	stopping bool   // Stop was called: no more containers start
	spoiled  bool   // the in-process sandbox's thread cannot serve another job
	pidns    *pidNS // its thread's PID namespace, where the job runs (pidns.go); nil for none
	// ownPidNS: the job's shell is PID 1 of a PID namespace of its own (an in-process sandbox on a kernel that
	// cannot mount a proc for its thread's: pidns.go).
	ownPidNS bool
	// terminated: Stop found the shell (PID 1 of its namespace, where SIGTERM without a handler is dropped) with
	// SIGTERM's default action and killed it in SIGTERM's stead; the result says "signal: terminated".
	terminated atomic.Bool
	// ownSecrets: the job's sandbox has its own /etc/secret mount (it has secrets), which resetJob takes off.
	ownSecrets bool
	startTime  uint64
	status     *os.File // launcher mode: the job's wait status arrives here
	uid        int      // the job's user id from uids, -1 if none
	uids       *uidPool
	group      *cgroup.Group // the job's control group, enforcing its limits; nil for none

	done   chan struct{} // closed when result is final
	result executor.Result
}

// jobProcess is what run starts.
type jobProcess struct {
	command string
	dir     string
	env     []string
	// containers, when set instead of command, run one after another (containers.go).
	containers []containerProc
	secrets    map[string]string
	output     io.Writer
	root       jobRoot                // its sandbox, in the namespace modes
	prepare    func(dir string) error // if set, fills the job's tmpfs workspace dir, on its thread, in its sandbox
	name       string                 // the attempt's unique name: its workspace's under the workspace root, if it has one there
}

// run starts the job and waits for it on an OS thread locked to it, reporting the start on started.
//
// The job's Pdeathsig (in a thread's PID namespace, its init's: pidns.go) follows the thread that forks it, not the
// process: the thread stays locked to run until the job's first process is reaped, since a goroutine that exits
// while locked ends its thread (and with it, any job forked there). In-process sandboxes are made in the thread's
// own mount namespace, so that thread is never unlocked: it ends with its sandbox, or, emptied, serves the next
// job (threads.go). Any other goes back to the runtime.
//
// th is what the preparation of the thread gave it (threads.go): for an in-process sandbox, a copy of the
// template with a /tmp of its own, restrictThread, and the thread's PID namespace.
//
// It reports whether the thread can run another job: an in-process sandbox's thread whose job ended and whose
// sandbox was emptied again (sandboxLayout.resetJob) can, which spares making and preparing a new one.
func (e *Executor) run(a *attempt, job jobProcess, started chan<- error, th *thread) (reusable bool) {
	runtime.LockOSThread()
	if a.mode == modeInProc {
		if err := th.err; err != nil {
			started <- err
			return false
		}
		a.pidns = th.pidns
		a.ownSecrets = e.sandbox.Secrets && len(job.root.Secrets) > 0
		a.ownPidNS = !e.sandbox.ProcNS
		if err := e.enterSandbox(job); err != nil {
			started <- err
			return false
		}
	} else {
		defer runtime.UnlockOSThread()
	}
	if len(job.containers) > 0 && a.mode != modeLauncher {
		if !e.runContainers(a, job, started) {
			return false
		}
		return e.finishRun(a)
	}
	cmd, cfg, err := e.command(a, job, process{argv: []string{"sh", "-c", job.command}, dir: job.dir, env: job.env})
	if err != nil {
		started <- err
		return false
	}
	err = a.startIn(cmd)
	if cfg != nil {
		cfg.close(err == nil)
	}
	if err != nil {
		if a.status != nil {
			a.status.Close()
		}
		started <- fmt.Errorf("start sh: %w", err)
		return false
	}
	a.proc, a.pid = cmd.Process, cmd.Process.Pid
	if a.mode == modeNone {
		// Recover needs the start time to kill what is left of the job's process group. With namespaces
		// nothing is left (the job dies with its shell and with the server), and the handle says so with 0.
		if st, err := readProcStat(a.pid); err == nil { // not reaped yet, so still there
			a.startTime = st.startTime
		}
	}
	a.handle = executor.Handle(handle{pid: a.pid, startTime: a.startTime, workspace: job.name}.String())
	started <- nil

	ws := e.wait(a, cmd)
	a.result.ExitCode, a.result.Reason = e.outcome(a, ws)
	return e.finishRun(a)
}

// finishRun ends an attempt whose processes have all ended: its control group, its kept files, its secrets;
// then it publishes the result and removes the workspace. It reports whether the thread can run another job.
func (e *Executor) finishRun(a *attempt) (reusable bool) {
	if a.group != nil {
		if a.group.OOMKilled() {
			a.result.Reason = executor.ReasonOOM
		}
		a.group.Kill()
		if err := a.group.Remove(); err != nil {
			e.log.Warn("remove the job's control group", "group", a.group.Name(), "err", err)
		}
	}
	a.removeSecretDir() // before anyone learns the job ended
	e.keep(a)
	close(a.done)
	if err := a.removeWorkspace(); err != nil {
		e.log.Warn("remove workspace", "dir", a.workspace, "err", err)
	}
	a.release()
	time.AfterFunc(e.opts.RetainFinished, func() {
		e.mu.Lock()
		delete(e.attempts, a.handle)
		e.mu.Unlock()
	})
	if a.mode != modeInProc || a.spoiled {
		return false
	}
	if err := e.sandbox.resetJob(a.ioDir != "", a.ownSecrets); err != nil {
		e.log.Warn("empty a sandbox for the next job", "err", err)
		return false
	}
	return true
}

// prepareThread readies the calling thread, locked for good, for an in-process sandbox, ahead of knowing its
// job: a copy of the template's mount namespace with a /tmp of its own, the jobs' IPC namespace, no_new_privs
// and the seccomp filter (none of which stops what the thread does next: it is root), and a PID namespace for
// its jobs (pidns.go) with its /proc.
func (e *Executor) prepareThread() *thread {
	if err := e.template.enter(); err != nil {
		return &thread{err: err}
	}
	if err := e.sandbox.mountTmp(); err != nil {
		return &thread{err: err}
	}
	if err := restrictThread(); err != nil {
		return &thread{err: err}
	}
	if !e.sandbox.ProcNS {
		return &thread{} // each job a PID namespace of its own
	}
	ns, err := e.sandbox.startInit()
	if err == nil {
		err = e.sandbox.mountProc(ns.init)
	}
	return &thread{err: err, pidns: ns}
}

// enterSandbox finishes the job's root on its prepared thread: its workspace (checkout included) and secrets.
func (e *Executor) enterSandbox(job jobProcess) error {
	if err := e.sandbox.mountJob(job.root); err != nil {
		return err
	}
	if job.prepare != nil {
		return job.prepare(filepath.Join(e.sandbox.Dir, WorkspacePath[1:]))
	}
	return nil
}

// startIn starts cmd inside the attempt's control group, if it has one, from its first instruction: cloned into
// it on cgroup v2, forked by a thread that is inside it on cgroup v1 (the caller's, locked).
func (a *attempt) startIn(cmd *exec.Cmd) error {
	if a.group == nil {
		return cmd.Start()
	}
	if fd, err := a.group.FD(); err == nil {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	switch err := a.group.EnterThread(); {
	case errors.Is(err, cgroup.ErrNoThreadEntry):
		return cmd.Start()
	case err != nil:
		return err
	}
	err := cmd.Start()
	if lerr := a.group.LeaveThread(); err == nil && lerr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return lerr
	}
	return err
}

// spoil ends the in-process sandbox's thread with the job, and with it the thread's PID namespace and whatever
// of the job may still run in it; the job's user id is never handed out again.
func (a *attempt) spoil() {
	a.spoiled = true
	a.uids = nil
}

// release gives the attempt's user id back; its processes are gone and its files removed.
func (a *attempt) release() {
	if a.uids != nil && a.uid >= 0 {
		a.uids.put(a.uid)
		a.uid = -1
	}
}

// secretDirSuffix names the secret directory of workspace w (IsolationNone): w + secretDirSuffix.
const secretDirSuffix = ".secret"

func (a *attempt) removeSecretDir() {
	if a.secretDir != "" {
		_ = os.RemoveAll(a.secretDir)
	}
}

// removeWorkspace removes a disk workspace (a tmpfs one goes with the job's mount namespace).
func (a *attempt) removeWorkspace() error {
	a.removeSecretDir()
	if a.ioDir != "" {
		_ = os.RemoveAll(a.ioDir)
	}
	if a.workspace == "" {
		return nil
	}
	return os.RemoveAll(a.workspace)
}

// launchPipes carries the launcher's config (written once it started) and returns its status.
type launchPipes struct {
	cfgR, cfgW, statW *os.File
	cfg               []byte
}

func (p *launchPipes) close(started bool) {
	p.cfgR.Close()
	p.statW.Close()
	if started {
		_, _ = p.cfgW.Write(p.cfg) // the launcher reads it all before anything else
	}
	p.cfgW.Close()
}

// devNull is every job's stdin (and output when it has none), opened once: exec.Cmd opens it for each process.
var devNull = sync.OnceValue(func() *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil // exec.Cmd then opens it itself, and fails the same way
	}
	return f
})

// process is one process of a job to start: argv[0] is run by /bin/sh (sh -c command, or a container's argv
// through execArgv).
type process struct {
	argv []string
	dir  string
	env  []string
	path string // the program to run; "" is /bin/sh
}

func (e *Executor) command(a *attempt, job jobProcess, p process) (*exec.Cmd, *launchPipes, error) {
	cmd := &exec.Cmd{Path: cmp.Or(p.path, "/bin/sh"), Args: p.argv, Env: p.env, Dir: p.dir}
	if null := devNull(); null != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	}
	if job.output != nil {
		cmd.Stdout, cmd.Stderr = job.output, job.output
		cmd.WaitDelay = 2 * time.Second // a process that escaped the job must not hold Wait forever
	}
	attr := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	cmd.SysProcAttr = attr
	switch a.mode {
	case modeInProc:
		if a.ownPidNS {
			attr.Cloneflags = syscall.CLONE_NEWPID
		} else {
			// In its thread's PID namespace (pidns.go), it dies with the namespace's init, which dies with the
			// thread. Not Pdeathsig of its own: its parent is outside its namespace, and the child code of package
			// syscall takes the parent pid it then sees, 0, for the parent's death, and kills itself.
			attr.Pdeathsig = 0
		}
		attr.Chroot = e.sandbox.Dir
		attr.Credential = &syscall.Credential{Uid: uint32(job.root.UID), Gid: uint32(job.root.GID), Groups: []uint32{}}
	case modeLauncher:
		cfg, err := json.Marshal(launchConfig{Command: job.command, Dir: job.dir, Env: job.env, Containers: job.containers,
			Layout: e.sandbox, Root: job.root, SetUID: !e.userns})
		if err != nil {
			return nil, nil, err
		}
		p := &launchPipes{cfg: cfg}
		if p.cfgR, p.cfgW, err = os.Pipe(); err != nil {
			return nil, nil, err
		}
		statR, statW, err := os.Pipe()
		if err != nil {
			p.cfgR.Close()
			p.cfgW.Close()
			return nil, nil, err
		}
		p.statW, a.status = statW, statR
		cmd.Dir = "/" // the job's is inside its sandbox
		cmd.Path = e.opts.LauncherPath
		cmd.Args = append([]string{e.opts.LauncherPath}, e.opts.LauncherArgs...)
		cmd.Env = []string{} // the launcher gets nothing through its environment
		cmd.ExtraFiles = []*os.File{p.cfgR, p.statW}
		attr.Setsid, attr.Setpgid = false, true
		attr.Cloneflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC
		if e.userns {
			attr.Cloneflags |= syscall.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: sandboxUID, HostID: os.Getuid(), Size: 1}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: sandboxUID, HostID: os.Getgid(), Size: 1}}
			// The launcher is not root in its user namespace (so the job is not either), so it keeps across exec
			// only the capabilities it needs to build the sandbox, as ambient ones; it drops them before the job.
			attr.AmbientCaps = launcherCaps
		}
		return cmd, p, nil
	}
	return cmd, nil, nil
}

// wait waits for the job's first process and returns the job's wait status. What that process left running is
// killed when it ends, before it is reaped (so that nothing holds its output open); in-process sandboxes then
// wait until all of it is gone (pidns.go), and spoil their thread if it is not.
func (e *Executor) wait(a *attempt, cmd *exec.Cmd) syscall.WaitStatus {
	shared := a.mode == modeInProc && !a.ownPidNS
	quiet := false // nothing of the job but its shell was left when it ended
	if a.mode == modeNone || shared {
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, a.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				break
			}
		}
		if a.mode == modeNone {
			// Without a PID namespace, kill what the shell left in its process group while its pid still
			// names the group.
			_ = syscall.Kill(-a.pid, syscall.SIGKILL)
		} else if quiet = a.pidns.quiet(a.pid); quiet {
			// nothing to kill
		} else if _, err := e.sandbox.killJob(); err != nil {
			e.log.Warn("kill what the job left running", "handle", a.handle, "err", err)
			a.spoil()
		}
	}
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			e.log.Warn("wait for job", "handle", a.handle, "err", err)
		}
	}
	if shared && !a.spoiled && !quiet {
		if err := e.sandbox.endJob(a.pidns); err != nil {
			e.log.Warn("end what the job left running", "handle", a.handle, "err", err)
			a.spoil()
		}
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if a.status != nil {
		b, _ := io.ReadAll(a.status)
		a.status.Close()
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		a.containerReports(lines[:len(lines)-1])
		if v, err := strconv.ParseUint(lines[len(lines)-1], 10, 32); err == nil {
			return syscall.WaitStatus(v)
		}
		if ws.Exited() { // the launcher ended without reporting: it failed before the job ran
			a.result.Reason = "launcher failed"
		}
	}
	return ws
}

// outcome turns a wait status into the Result's exit code and reason.
func (e *Executor) outcome(a *attempt, ws syscall.WaitStatus) (int, string) {
	if a.terminated.Load() {
		return 128 + int(syscall.SIGTERM), "signal: " + syscall.SIGTERM.String()
	}
	if !ws.Signaled() {
		return ws.ExitStatus(), a.result.Reason
	}
	return 128 + int(ws.Signal()), "signal: " + ws.Signal().String()
}
