//go:build linux

package local

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// Multi-container jobs (Spec.Containers) run their containers one after another as host processes, the images
// ignored, in one workspace: the checkout (or an empty directory) is every container's default working
// directory, as a command job's. The three shared directories are made next to the workspace, in the attempt's
// "<workspace>.io" directory (private to the server and the job's user): in a sandbox it is bound at /runplane,
// so they are /runplane/input, output, metadata, and again /kratix/input, output, metadata through a link (and
// the input directory /keptn); without one the job finds them where they are on the host. RUNPLANE_INPUT_DIR, RUNPLANE_OUTPUT_DIR and RUNPLANE_METADATA_DIR name them in every mode.
//
// Each container is its own process, started as `sh -c 'exec "$0" "$@"' command... args...`: sh only looks
// the command up in the container's PATH (inside the sandbox, as execvp would) and replaces itself with it; no
// argument is parsed by a shell. In the in-process sandbox, a command found in the job's PATH that the kernel
// runs itself is started directly (sandboxLookPath): the same program, argv and env, one exec fewer. In the in-process sandbox each container's process runs in the job's sandbox
// and its thread's PID namespace, and what it leaves running is killed when it ends, before the next starts
// (pidns.go); in launcher isolation the launcher runs them all (launcher.go), each PID 1 of a namespace of its own.

// ioDirSuffix names the shared directories of workspace w: w + ioDirSuffix.
const ioDirSuffix = ".io"

// Names of the shared directories in an attempt's io directory.
const (
	ioInput    = "input"
	ioOutput   = executor.KeepOutput
	ioMetadata = executor.KeepMetadata
)

// containerProc is one container of a job, ready to start.
type containerProc struct {
	Name   string   `json:"name"`
	Header string   `json:"header"`
	Argv   []string `json:"argv"` // for /bin/sh
	Dir    string   `json:"dir"`
	Env    []string `json:"env"`
}

// execArgv is the argv of /bin/sh that execs command+args without a shell parsing them.
func execArgv(c api.Container) []string {
	return append(append([]string{"sh", "-c", `exec "$0" "$@"`}, c.Command...), c.Args...)
}

// checkContainers refuses containers the process modes cannot run: those that rely on their image's entrypoint,
// and those that need a pod (env valueFrom, envFrom, volumeMounts).
func checkContainers(cs []api.Container) error {
	if err := executor.CheckNeedsPod(cs, "the local executor"); err != nil {
		return err
	}
	for _, c := range cs {
		if len(c.Command) == 0 {
			return fmt.Errorf("container %s has no command, only an image (%s) whose entrypoint would run it: local processes "+
				"ignore images; run such jobs with --isolation container (podman) or the kubernetes executor: %w", c.Name, c.Image, executor.ErrNeedsImage)
		}
	}
	return nil
}

// makeIODir makes the attempt's shared directories next to its workspace (or under WorkDir when each job's
// workspace is a tmpfs of its own), owned by uid unless it is -1, and writes the input files.
func (e *Executor) makeIODir(a *attempt, spec executor.Spec, name string, uid int) error {
	dir := filepath.Join(cmp.Or(e.wsRoot, e.workDir), name+ioDirSuffix)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("shared directories: %w", err)
	}
	a.ioDir = dir
	if uid >= 0 {
		// A sandbox binds dir itself at /runplane (sandbox.go): the job's user must be able to enter it.
		if err := os.Chown(dir, uid, uid); err != nil {
			return fmt.Errorf("shared directories: %w", err)
		}
	}
	for _, d := range []string{ioInput, ioOutput, ioMetadata} {
		p := filepath.Join(dir, d)
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("shared directories: %w", err)
		}
		if uid >= 0 {
			if err := os.Chown(p, uid, uid); err != nil {
				return fmt.Errorf("shared directories: %w", err)
			}
		}
	}
	for n, b := range spec.InputFiles {
		p := filepath.Join(dir, ioInput, filepath.FromSlash(n))
		if err := executor.MakeParents(filepath.Join(dir, ioInput), n, uid, uid); err != nil {
			return fmt.Errorf("input file %s: %w", n, err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("input file %s: %w", n, err)
		}
		if uid >= 0 {
			if err := os.Chown(p, uid, uid); err != nil {
				return fmt.Errorf("input file %s: %w", n, err)
			}
		}
	}
	return nil
}

// containerProcs prepares the containers of spec; home is the job's HOME and default working directory.
func (e *Executor) containerProcs(a *attempt, spec executor.Spec, home string) []containerProc {
	dirs := executor.MountedDirs
	if e.sandbox == nil {
		dirs = executor.SharedDirs{Input: filepath.Join(a.ioDir, ioInput), Output: filepath.Join(a.ioDir, ioOutput),
			Metadata: filepath.Join(a.ioDir, ioMetadata)}
	}
	platform := []string{"PATH=" + JobPath, "HOME=" + home}
	if a.secretDir != "" {
		platform = append(platform, "RUNPLANE_SECRET_DIR="+a.secretDir)
	}
	out := make([]containerProc, len(spec.Containers))
	for i, c := range spec.Containers {
		out[i] = containerProc{
			Name:   c.Name,
			Header: executor.ContainerHeader(c),
			Argv:   execArgv(c),
			Dir:    cmp.Or(c.WorkingDir, home),
			Env:    executor.ContainerEnv(spec, c, dirs, platform...),
		}
	}
	return out
}

// runContainers runs the job's containers one after another on the calling thread, locked (in-process
// namespace and no isolation; the launcher runs its own), up to the first that fails or until Stop. It reports
// the start of the first on started, and whether it started (if not, the attempt is over and cleaned up).
func (e *Executor) runContainers(a *attempt, job jobProcess, started chan<- error) bool {
	// The caller may close its copy of the output once the first container started: the rest write to ours.
	out, release := executor.HoldOutput(job.output)
	defer release()
	if job.output != nil {
		job.output = out
	}
	for i, c := range job.containers {
		a.mu.Lock()
		if a.stopping {
			a.mu.Unlock()
			break
		}
		if job.output != nil {
			_, _ = io.WriteString(job.output, c.Header)
		}
		proc := process{argv: c.Argv, dir: c.Dir, env: c.Env}
		if a.mode == modeInProc {
			if path, ok := e.sandboxLookPath(c.Argv[3]); ok {
				// sh exports PWD, the working directory as getcwd names it: so does the container run directly.
				if pwd, ok := e.sandboxPwd(c.Dir); ok {
					proc.path, proc.argv, proc.env = path, c.Argv[3:], withPwd(c.Env, pwd)
				}
			}
		}
		cmd, _, err := e.command(a, job, proc)
		start := time.Now()
		if err == nil {
			err = a.startIn(cmd)
		}
		if err != nil {
			a.mu.Unlock()
			if i == 0 {
				started <- fmt.Errorf("container %s: start: %w", c.Name, err)
				return false
			}
			a.result.ExitCode, a.result.Reason = 127, fmt.Sprintf("container %s did not start: %v", c.Name, err)
			a.result.Containers[i].Reason = a.result.Reason
			a.spoiled = true // its sandbox may lack what resetJob takes off
			break
		}
		a.proc, a.pid = cmd.Process, cmd.Process.Pid
		a.mu.Unlock()
		if i == 0 {
			if a.mode == modeNone {
				if st, err := readProcStat(a.pid); err == nil {
					a.startTime = st.startTime
				}
			}
			a.handle = executor.Handle(handle{pid: a.pid, startTime: a.startTime, workspace: job.name}.String())
			started <- nil
		}
		ws := e.wait(a, cmd)
		end := time.Now()
		a.mu.Lock()
		a.proc = nil
		a.mu.Unlock()
		code, reason := e.outcome(a, ws)
		st := &a.result.Containers[i]
		st.ExitCode, st.StartTime, st.CompletionTime, st.Reason = &code, &start, &end, reason
		a.result.ExitCode, a.result.Reason = code, reason
		if code != 0 || reason != "" {
			break
		}
	}
	return true
}

// keep copies the attempt's output and metadata directories into Spec.Keep, if it asked; what could not be kept
// is said in the result's warnings.
func (e *Executor) keep(a *attempt) {
	if a.keep == "" || a.ioDir == "" {
		return
	}
	warnings, err := executor.KeepFiles(a.ioDir, a.keep, e.opts.KeepLimit)
	if err != nil {
		e.log.Warn("keep the job's files", "dir", a.keep, "err", err)
		warnings = append(warnings, "the job's output and metadata files were not kept: the server could not write them")
	}
	a.result.Warnings = append(a.result.Warnings, warnings...)
}

// containerReports applies the launcher's reports of how each container ran (launchContainers) to the result.
func (a *attempt) containerReports(lines []string) {
	for _, l := range lines {
		var i int
		var ws uint32
		var start, end int64
		if _, err := fmt.Sscanf(l, "c %d %d %d %d", &i, &ws, &start, &end); err != nil || i < 0 || i >= len(a.result.Containers) {
			continue
		}
		code, reason := exitOf(syscall.WaitStatus(ws))
		st, en := time.Unix(0, start), time.Unix(0, end)
		a.result.Containers[i] = api.ContainerStatus{Name: a.result.Containers[i].Name, ExitCode: &code,
			StartTime: &st, CompletionTime: &en, Reason: reason}
	}
}

// exitOf is the exit code and reason of a process that ended with ws.
func exitOf(ws syscall.WaitStatus) (int, string) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), "signal: " + ws.Signal().String()
	}
	return ws.ExitStatus(), ""
}

// sandboxLookPath finds a container's command as sh would in the job's PATH inside the sandbox (from the job's
// thread, which sees the sandbox's root at its directory), when it is a program the kernel runs itself (an ELF
// binary or a #! script): the container then runs it directly, not through sh, which costs a job a second exec
// — on a busy 2-vCPU machine about 4 ms of CPU, as much as the rest of a short job's. False when sh is to look:
// a path, a name not found, a file the kernel would refuse (sh runs a script without #! itself).
func (e *Executor) sandboxLookPath(name string) (string, bool) {
	if name == "" || strings.ContainsRune(name, '/') {
		return "", false
	}
	for _, dir := range filepath.SplitList(JobPath) {
		p := filepath.Join(dir, name)
		st, err := os.Stat(filepath.Join(e.sandbox.Dir, p))
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		return p, kernelRuns(filepath.Join(e.sandbox.Dir, p))
	}
	return "", false
}

// sandboxPwd is dir inside the sandbox without symbolic links, as getcwd names it there; false if that cannot be
// told from here.
func (e *Executor) sandboxPwd(dir string) (string, bool) {
	real, err := filepath.EvalSymlinks(filepath.Join(e.sandbox.Dir, dir))
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(e.sandbox.Dir, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.Join("/", rel), true
}

// withPwd is env with PWD=pwd in place of any PWD it has.
func withPwd(env []string, pwd string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PWD=") {
			out = append(out, kv)
		}
	}
	return append(out, "PWD="+pwd)
}

// kernelRuns reports whether the file at p starts as a program execve runs: ELF, or #!.
func kernelRuns(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	n, _ := io.ReadFull(f, b[:])
	return (n == 4 && string(b[:]) == "\x7fELF") || (n >= 2 && string(b[:2]) == "#!")
}
