package podman

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// Paths inside a job's container, and of an attempt's directory under WorkDir.
const (
	workspaceDir = "/workspace"
	secretDir    = "/etc/secret"
	tmpDir       = "/tmp"
	wsName       = "workspace"
	secretName   = "secret"
	authName     = "auth.json" // the runner's pull secret while podman create runs
)

// Start checks out the runner's branch, writes the secrets, creates the attempt's container (pulling its image if
// it is missing) and starts it attached. It returns once podman runs the container; an error means nothing runs
// and nothing is left behind. A missing image fails here, with podman's reason.
func (e *Executor) Start(ctx context.Context, spec executor.Spec) (executor.Handle, error) {
	if err := validateSpec(spec); err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	if len(spec.Containers) > 0 {
		return e.startChain(ctx, spec)
	}
	if e.opts.Images != nil {
		if err := e.opts.Images.Check(spec.Image); err != nil {
			return "", fmt.Errorf("podman executor: %w", err)
		}
	}
	if spec.Repo.URL != "" && e.opts.Git == nil {
		return "", errors.New("podman executor: checkout: no git cache configured")
	}
	name := newName(spec.JobID)
	dir := filepath.Join(e.workDir, name)
	a := newAttempt(name, dir, spec.Limits.Memory > 0)
	started := false
	defer func() {
		if !started {
			e.remove(a)
		}
	}()
	t0 := time.Now()
	if err := e.prepare(ctx, spec, dir); err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	t1 := time.Now()
	fwd, err := e.forwardingOf(spec)
	if err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	// The job's environment goes to podman's own, which copies each variable into the container (createArgs
	// passes `--env NAME`), so no value appears in argv.
	env := spec.Env()
	if fwd != nil {
		env = fwd.env(env)
	}
	authFile, err := e.writeAuthFile(spec, dir)
	if err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	out, err := e.run(ctx, e.opts.CreateTimeout, env, e.createArgs(name, dir, spec, envNames(env), authFile, fwd)...)
	if authFile != e.opts.AuthFile {
		// The credentials served this pull; nothing needs them once the container exists.
		_ = os.Remove(authFile)
	}
	if err != nil {
		return "", fmt.Errorf("podman executor: image %s: %w", spec.Image, scrub(err, api.PullSecretValues(spec.PullSecret)))
	}
	a.id = strings.TrimSpace(string(out))
	t2 := time.Now()
	if err := e.attach(a, spec.Output); err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	started = true
	h := handleOf(name)
	e.mu.Lock()
	e.attempts[h] = a
	e.mu.Unlock()
	e.log.Debug("job started", "job", spec.JobID, "handle", h, "prepare", t1.Sub(t0), "create", t2.Sub(t1))
	return h, nil
}

// prepare makes the attempt's directory (private to root): the checkout in dir/workspace and the secret files in
// dir/secret, both owned by the job's uid.
func (e *Executor) prepare(ctx context.Context, spec executor.Spec, dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	ws := filepath.Join(dir, wsName)
	if err := os.Mkdir(ws, 0o700); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if spec.Repo.URL != "" {
		if _, err := e.opts.Git.Checkout(ctx, spec.Repo, ws); err != nil {
			return fmt.Errorf("checkout: %w", err)
		}
	}
	if err := chownTree(ws, e.opts.UID, e.opts.GID); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if len(spec.Secrets) > 0 {
		if err := writeSecrets(filepath.Join(dir, secretName), spec.Secrets, e.opts.UID, e.opts.GID); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// writeSecrets writes each secret as dir/<key>, mode 0400, owned by uid; dir ends up 0500.
func writeSecrets(dir string, secrets map[string]string, uid, gid int) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	for k, v := range secrets {
		p := filepath.Join(dir, k)
		if err := os.WriteFile(p, []byte(v), 0o400); err != nil {
			return fmt.Errorf("write secret %s: %w", k, err)
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("write secret %s: %w", k, err)
		}
	}
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return os.Chmod(dir, 0o500)
}

func validateSpec(spec executor.Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if len(spec.Containers) == 0 {
		if err := checkImage(spec.Image); err != nil {
			return err
		}
	}
	if err := executor.CheckNeedsPod(spec.Containers, "the podman executor"); err != nil {
		return err
	}
	for k := range spec.Secrets {
		if podmanReads(k) {
			return fmt.Errorf("secret %s: podman itself reads this environment variable, so the container mode cannot pass it to a job", k)
		}
	}
	return nil
}

func envNames(env []string) []string {
	names := make([]string, len(env))
	for i, kv := range env {
		names[i], _, _ = strings.Cut(kv, "=")
	}
	return names
}

// mergeStderr runs the command with its stderr on its stdout, so the log keeps their order (conmon reads the two
// from separate pipes).
const mergeStderr = `exec sh -c "$1" 2>&1`

// createArgs is the `podman create` command line of an attempt, under the forwarder of the metadata API when fwd
// is not nil. It is pure, and holds no secret and no input.
func (e *Executor) createArgs(name, dir string, spec executor.Spec, envNames []string, authFile string, fwd *forwarding) []string {
	args := e.hardenedArgs(name, dir, spec, authFile, workspaceDir)
	for _, n := range envNames {
		args = append(args, "--env", n)
	}
	argv := []string{"sh", "-c", mergeStderr, "sh", spec.Command}
	if fwd != nil {
		args = append(append(args, fwd.mounts...), "--entrypoint", fwd.entrypoint(nil))
	}
	return append(append(args, "--", spec.Image), argv...)
}

// hardenedArgs is what every `podman create` of an attempt says, up to its environment and what it runs: name,
// labels, hardening, network, limits, the workspace and secrets, the working directory workdir.
func (e *Executor) hardenedArgs(name, dir string, spec executor.Spec, authFile, workdir string) []string {
	args := []string{"create", "--name", name,
		"--label", LabelManagedBy + "=" + managedBy,
		"--label", LabelJob + "=" + spec.JobID,
	}
	labels := make([]string, 0, len(e.opts.Labels))
	for k, v := range e.opts.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	args = append(args,
		"--pull", e.opts.Pull,
		"--init",
		"--user", fmt.Sprintf("%d:%d", e.opts.UID, e.opts.GID),
		"--cap-drop", "ALL",
		"--security-opt", "no-new-privileges",
		"--read-only", "--read-only-tmpfs=false",
		"--tmpfs", tmpDir+":rw,nosuid,nodev,mode=1777",
		"--network", e.network(spec.Network),
		"--http-proxy=false",
		"--unsetenv", "TERM", "--unsetenv", "container",
		"--log-driver", "k8s-file",
		"--workdir", workdir,
		"--volume", filepath.Join(dir, wsName)+":"+workspaceDir+":rw",
		"--env", "HOME="+workspaceDir,
	)
	if e.seccomp != "" {
		args = append(args, "--security-opt", e.seccomp)
	}
	if authFile != "" {
		args = append(args, "--authfile", authFile)
	}
	if e.opts.SkipTLSVerify {
		args = append(args, "--tls-verify=false")
	}
	for _, u := range e.opts.Ulimits {
		args = append(args, "--ulimit", u)
	}
	if len(spec.Secrets) > 0 {
		args = append(args, "--volume", filepath.Join(dir, secretName)+":"+secretDir+":ro")
	}
	if l := spec.Limits; l.Memory > 0 {
		// No swap: the job's memory is what it may use.
		m := strconv.FormatInt(l.Memory, 10)
		args = append(args, "--memory", m, "--memory-swap", m)
	}
	if l := spec.Limits; l.CPU > 0 {
		args = append(args, "--cpus", strconv.FormatFloat(float64(l.CPU)/1000, 'f', 3, 64))
	}
	if l := spec.Limits; l.Pids > 0 {
		args = append(args, "--pids-limit", strconv.FormatInt(l.Pids, 10))
	}
	return args
}

// checkImage refuses an image podman would take for something else.
func checkImage(image string) error {
	if image == "" {
		return errors.New("no image: the runner names none")
	}
	if strings.HasPrefix(image, "-") || strings.ContainsAny(image, " \t\n\x00") {
		return fmt.Errorf("image %q: not an image reference", image)
	}
	return nil
}
