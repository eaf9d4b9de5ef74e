package podman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// Labels on every container.
const (
	LabelManagedBy = "runplane.dev/managed-by"
	LabelJob       = "runplane.dev/job"
	managedBy      = "runplane"
)

// podmanPath is the PATH podman runs with (it finds conmon and its helpers there).
const podmanPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Executor runs job attempts as podman containers. It is safe for concurrent use.
type Executor struct {
	opts    Options
	log     *slog.Logger
	podman  string
	global  []string
	workDir string
	seccomp string // --security-opt value of jobs' seccomp profile; "" for podman's built-in one

	mu       sync.Mutex
	attempts map[executor.Handle]*attempt
	cleanups sync.WaitGroup
}

var (
	_ executor.Executor       = (*Executor)(nil)
	_ executor.Durable        = (*Executor)(nil)
	_ executor.Finder         = (*Executor)(nil)
	_ executor.OutputReplayer = (*Executor)(nil)
)

// New checks that podman runs, prepares WorkDir (removing the directories of containers that no longer exist)
// and returns an Executor. It must run as root: the job's workspace is chowned to its uid.
func New(opts Options) (*Executor, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("podman executor: needs root (rootless podman is not supported)")
	}
	if err := defaults(&opts); err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	if err := checkMetadata(opts.Metadata); err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	path, err := exec.LookPath(opts.Podman)
	if err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	workDir, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	e := &Executor{opts: opts, log: opts.Logger, podman: path, workDir: workDir, attempts: map[executor.Handle]*attempt{}}
	if opts.Runtime != "" {
		e.global = append(e.global, "--runtime", opts.Runtime)
	}
	e.global = append(e.global, "--cgroup-manager", opts.CgroupManager)
	e.global = append(e.global, opts.GlobalArgs...)
	if e.seccomp, err = seccompOption(opts.SeccompProfile, workDir); err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	if e.seccomp == "" {
		e.log.Warn("no seccomp profile to derive jobs' from: podman's built-in one lets jobs use the kernel keyrings", "profile", DefaultSeccompProfile)
	}
	if err := e.removeStale(context.Background()); err != nil {
		return nil, fmt.Errorf("podman executor: %w", err)
	}
	e.log.Info("podman executor ready", "podman", path, "workdir", workDir, "network", opts.Network)
	return e, nil
}

func defaults(o *Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "runplane-podman-")
		if err != nil {
			return err
		}
		o.WorkDir = dir
	}
	if o.Podman == "" {
		o.Podman = "podman"
	}
	if o.Runtime == "" {
		if _, err := os.Stat(DefaultRuntime); err == nil {
			o.Runtime = DefaultRuntime
		}
	}
	if o.CgroupManager == "" {
		o.CgroupManager = DefaultCgroupManager
	}
	if o.Ulimits == nil {
		o.Ulimits = DefaultUlimits
	}
	if o.UID == 0 {
		o.UID = DefaultUID
	}
	if o.GID == 0 {
		o.GID = DefaultUID
	}
	if o.UID < 0 || o.GID < 0 {
		return fmt.Errorf("uid %d, gid %d: want positive ids", o.UID, o.GID)
	}
	if o.Network == "" {
		o.Network = DefaultNetwork
	}
	if o.Pull == "" {
		o.Pull = "missing"
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = time.Minute
	}
	if o.CreateTimeout <= 0 {
		o.CreateTimeout = 10 * time.Minute
	}
	if o.RetainFinished <= 0 {
		o.RetainFinished = 2 * time.Minute
	}
	for k := range o.Labels {
		if k == LabelManagedBy || k == LabelJob {
			return fmt.Errorf("label %s is the executor's own", k)
		}
	}
	return nil
}

// Close waits for the removal of finished attempts' containers and directories. Running attempts go on.
func (e *Executor) Close() error {
	e.cleanups.Wait()
	return nil
}

// command returns a podman command with the global flags and a clean environment (env added to it).
func (e *Executor) command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.podman, append(append([]string(nil), e.global...), args...)...)
	cmd.Env = append([]string{"PATH=" + podmanPath}, env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// podmanError is a failed podman call: what podman said on stderr, without its "Error: " prefix.
type podmanError struct {
	verb   string
	stderr string
	err    error
}

func (p *podmanError) Error() string {
	if p.stderr == "" {
		return fmt.Sprintf("podman %s: %v", p.verb, p.err)
	}
	return fmt.Sprintf("podman %s: %s", p.verb, p.stderr)
}

func (p *podmanError) Unwrap() error { return p.err }

// noSuchContainer reports whether err is podman saying a container does not exist.
func noSuchContainer(err error) bool {
	var pe *podmanError
	return errors.As(err, &pe) && strings.Contains(pe.stderr, "no such container")
}

// run runs one podman command within timeout and returns its stdout.
func (e *Executor) run(ctx context.Context, timeout time.Duration, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := e.command(ctx, env, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return stdout.Bytes(), &podmanError{verb: args[0], stderr: podmanMessage(stderr.String()), err: err}
	}
	return stdout.Bytes(), nil
}

// podmanMessage is the gist of what podman wrote on stderr: its "Error: " lines (without the prefix) if it wrote
// any, else its last lines (podman logs its retries as warnings before the error), at most 1000 bytes.
func podmanMessage(s string) string {
	var lines, errs []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if e, ok := strings.CutPrefix(l, "Error: "); ok {
			errs = append(errs, e)
		} else if l != "" {
			lines = append(lines, l)
		}
	}
	if len(errs) > 0 {
		lines = errs
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	msg := strings.Join(lines, "; ")
	if len(msg) > 1000 {
		msg = msg[len(msg)-1000:]
	}
	return msg
}

// removeStale removes the attempt directories under WorkDir that belong to no container (their attempts ended
// while no server ran, or were removed by hand).
func (e *Executor) removeStale(ctx context.Context) error {
	entries, err := os.ReadDir(e.workDir)
	if err != nil {
		return err
	}
	out, err := e.run(ctx, e.opts.CallTimeout, nil, "ps", "-a", "--filter", "label="+LabelManagedBy+"="+managedBy, "--format", attemptFormat)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, n := range attemptNames(out) {
		live[n] = true
	}
	var errs []error
	for _, ent := range entries {
		if ent.IsDir() && validName(ent.Name()) && !live[ent.Name()] {
			errs = append(errs, os.RemoveAll(filepath.Join(e.workDir, ent.Name())))
		}
	}
	return errors.Join(errs...)
}

// attemptFormat is the `podman ps --format` that attemptNames reads: each container's name and its attempt's
// (a chain's containers, chain.go), or its name alone.
const attemptFormat = `{{.Names}} {{index .Labels "` + LabelAttempt + `"}}`

// attemptNames returns, for each line of `podman ps --format attemptFormat`, the attempt the container is of:
// the chain's it belongs to, else its own.
func attemptNames(out []byte) []string {
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 1:
			names = append(names, f[0])
		case 2:
			names = append(names, f[1])
		}
	}
	return names
}
