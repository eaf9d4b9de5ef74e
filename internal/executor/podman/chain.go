package podman

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// A multi-container attempt (Spec.Containers) is a chain of podman containers, all created by Start (so every
// image is pulled, and every container's configuration, environment included, is in podman before anything
// runs), then started one after another, attached, each once the one before exited 0. They share the attempt's
// directory: the workspace at /workspace (the default working directory), the secrets, and the input, output and
// metadata directories (dir/input, ...), each mounted at /runplane/... and /kratix/.... Container i is named
// <attempt>-<i> and labelled with the attempt, its index, its name and image in the job, and the job's Keep
// directory, so that Recover can pick the chain up where it is from podman alone.

// Labels of a chain's containers.
const (
	LabelAttempt   = "runplane.dev/attempt"
	labelIndex     = "runplane.dev/index"
	labelContainer = "runplane.dev/container"
	labelImage     = "runplane.dev/image"
	labelKeep      = "runplane.dev/keep"
)

// Directories of an attempt's directory shared by a chain's containers.
const (
	inputName    = "input"
	outputName   = executor.KeepOutput
	metadataName = executor.KeepMetadata
)

// chainMounts are where each shared directory is mounted, twice (the input directory a third time, at Keptn's
// /keptn).
var chainMounts = []struct{ dir, path string }{
	{inputName, api.InputDir}, {outputName, api.OutputDir}, {metadataName, api.MetadataDir},
	{inputName, api.KratixInputDir}, {outputName, api.KratixOutputDir}, {metadataName, api.KratixMetadataDir},
	{inputName, api.KeptnDir},
}

// chain is the state of a multi-container attempt. Only the goroutine that follows the current container
// touches it (Start and Recover before that goroutine exists).
type chain struct {
	names    []string // the podman containers, in order
	ids      []string
	headers  []string
	statuses []api.ContainerStatus
	i        int       // the current container
	started  time.Time // when the current container was started
	out      io.Writer
	keep     string
	release  func() // lets go of out once the attempt ended; nil for a recovered chain
}

func chainName(attempt string, i int) string { return attempt + "-" + strconv.Itoa(i) }

// startChain is Start for a spec with containers.
func (e *Executor) startChain(ctx context.Context, spec executor.Spec) (executor.Handle, error) {
	images := make([]string, len(spec.Containers))
	for i, c := range spec.Containers {
		images[i] = c.Image
		if images[i] == "" {
			images[i] = spec.Image
		}
		if err := checkImage(images[i]); err != nil {
			return "", fmt.Errorf("podman executor: container %s: %w", c.Name, err)
		}
		if e.opts.Images != nil {
			if err := e.opts.Images.Check(images[i]); err != nil {
				return "", fmt.Errorf("podman executor: container %s: %w", c.Name, err)
			}
		}
		for _, v := range c.Env {
			if podmanReads(v.Name) {
				return "", fmt.Errorf("podman executor: container %s: env %s: podman itself reads this environment variable, so the container mode cannot pass it to a job", c.Name, v.Name)
			}
		}
	}
	if spec.Repo.URL != "" && e.opts.Git == nil {
		return "", errors.New("podman executor: checkout: no git cache configured")
	}
	name := newName(spec.JobID)
	dir := filepath.Join(e.workDir, name)
	a := newAttempt(name, dir, spec.Limits.Memory > 0)
	// The caller may close its copy of the output once Start returned: the later containers write to ours,
	// released when the attempt ends (publish).
	out, release := executor.HoldOutput(spec.Output)
	a.chain = &chain{statuses: executor.ContainerStatuses(spec.Containers), out: out, keep: spec.Keep, release: release}
	for i := range spec.Containers {
		a.chain.names = append(a.chain.names, chainName(name, i))
	}
	started := false
	defer func() {
		if !started {
			release()
			e.remove(a)
		}
	}()
	if err := e.prepare(ctx, spec, dir); err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	if err := e.prepareShared(spec, dir); err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	authFile, err := e.writeAuthFile(spec, dir)
	if err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	defer func() {
		if authFile != e.opts.AuthFile {
			_ = os.Remove(authFile)
		}
	}()
	fwd, err := e.forwardingOf(spec)
	if err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	for i, c := range spec.Containers {
		env := containerEnv(spec, c)
		var argv []string
		if fwd != nil {
			env = fwd.env(env)
			if argv, err = e.forwardedArgv(ctx, c, images[i], authFile); err != nil {
				return "", fmt.Errorf("podman executor: container %s: image %s: %w", c.Name, images[i], scrub(err, api.PullSecretValues(spec.PullSecret)))
			}
		}
		out, err := e.run(ctx, e.opts.CreateTimeout, env, e.chainArgs(a.chain.names[i], name, dir, spec, i, c, images[i], envNames(env), authFile, fwd, argv)...)
		if err != nil {
			return "", fmt.Errorf("podman executor: container %s: image %s: %w", c.Name, images[i], scrub(err, api.PullSecretValues(spec.PullSecret)))
		}
		a.chain.ids = append(a.chain.ids, strings.TrimSpace(string(out)))
		a.chain.headers = append(a.chain.headers, executor.ContainerHeader(c))
	}
	a.cur, a.id = a.chain.names[0], a.chain.ids[0]
	e.writeHeader(a)
	if err := e.attach(a, a.chain.out); err != nil {
		return "", fmt.Errorf("podman executor: %w", err)
	}
	started = true
	h := handleOf(name)
	e.mu.Lock()
	e.attempts[h] = a
	e.mu.Unlock()
	e.log.Debug("job started", "job", spec.JobID, "handle", h, "containers", len(spec.Containers))
	return h, nil
}

// containerEnv is what podman passes into container c by name: the container's environment but HOME, which
// the command line sets (podman itself reads HOME).
func containerEnv(spec executor.Spec, c api.Container) []string {
	env := executor.ContainerEnv(spec, c, executor.MountedDirs)
	out := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	return out
}

// prepareShared makes the shared directories in the attempt's directory, owned by the job's uid, and writes
// the input files.
func (e *Executor) prepareShared(spec executor.Spec, dir string) error {
	for _, d := range []string{inputName, outputName, metadataName} {
		p := filepath.Join(dir, d)
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("shared directories: %w", err)
		}
		if err := os.Lchown(p, e.opts.UID, e.opts.GID); err != nil {
			return fmt.Errorf("shared directories: %w", err)
		}
	}
	for n, b := range spec.InputFiles {
		p := filepath.Join(dir, inputName, filepath.FromSlash(n))
		if err := executor.MakeParents(filepath.Join(dir, inputName), n, e.opts.UID, e.opts.GID); err != nil {
			return fmt.Errorf("input file %s: %w", n, err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("input file %s: %w", n, err)
		}
		if err := os.Lchown(p, e.opts.UID, e.opts.GID); err != nil {
			return fmt.Errorf("input file %s: %w", n, err)
		}
	}
	return nil
}

// chainArgs is the `podman create` command line of container i (c) of a chain: with fwd, it runs argv (what c
// runs, forwardedArgv) under the forwarder of the metadata API. Like createArgs, it holds no secret and no input.
func (e *Executor) chainArgs(cname, attempt, dir string, spec executor.Spec, i int, c api.Container, image string, envNames []string, authFile string, fwd *forwarding, argv []string) []string {
	args := e.hardenedArgs(cname, dir, spec, authFile, cmpOr(c.WorkingDir, workspaceDir))
	args = append(args,
		"--label", LabelAttempt+"="+attempt,
		"--label", labelIndex+"="+strconv.Itoa(i),
		"--label", labelContainer+"="+c.Name,
		"--label", labelImage+"="+c.Image,
	)
	if spec.Keep != "" {
		args = append(args, "--label", labelKeep+"="+spec.Keep)
	}
	for _, m := range chainMounts {
		args = append(args, "--volume", filepath.Join(dir, m.dir)+":"+m.path+":rw")
	}
	for _, n := range envNames {
		args = append(args, "--env", n)
	}
	if fwd != nil {
		args = append(append(args, fwd.mounts...), "--entrypoint", fwd.entrypoint(argv))
		return append(args, "--", image)
	}
	if len(c.Command) > 0 {
		ep, _ := json.Marshal(c.Command) // a JSON array: podman takes it as the whole entrypoint, not one word
		args = append(args, "--entrypoint", string(ep))
	}
	return append(append(args, "--", image), c.Args...)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeHeader writes the current container's header line to the chain's output.
func (e *Executor) writeHeader(a *attempt) {
	if a.chain.out != nil {
		_, _ = io.WriteString(a.chain.out, a.chain.headers[a.chain.i])
	}
	a.chain.started = time.Now()
}

// advance records how the current container of a's chain ended (r), and starts the next if it exited 0 and
// the attempt is not being stopped. It reports whether it did; if not, r is the attempt's result, with every
// container's status.
func (e *Executor) advance(a *attempt, r *executor.Result) bool {
	c := a.chain
	end := time.Now()
	st := &c.statuses[c.i]
	if r.ExitCode != notStarted {
		code, start := r.ExitCode, c.started
		st.ExitCode, st.StartTime, st.CompletionTime = &code, &start, &end
	}
	st.Reason = r.Reason
	next := r.ExitCode == 0 && r.Reason == "" && c.i+1 < len(c.names)
	if next {
		a.curMu.Lock()
		if next = !a.stopping.Load(); next {
			c.i++
			a.cur, a.id = c.names[c.i], c.ids[c.i]
		}
		a.curMu.Unlock()
	}
	if next {
		e.writeHeader(a)
		if err := e.attach(a, c.out); err == nil {
			return true
		} else {
			r.ExitCode, r.Reason = notStarted, fmt.Sprintf("container %s did not start: %v", c.statuses[c.i].Name, err)
			c.statuses[c.i].Reason = r.Reason
		}
	}
	r.Containers = c.statuses
	return false
}

// keep copies the attempt's output and metadata into the chain's Keep directory, if it has one.
func (e *Executor) keep(a *attempt, r *executor.Result) {
	if a.chain.keep == "" {
		return
	}
	warnings, err := executor.KeepFiles(a.dir, a.chain.keep, e.opts.KeepLimit)
	if err != nil {
		e.log.Warn("keep the job's files", "dir", a.chain.keep, "err", err)
		warnings = append(warnings, "the job's output and metadata files were not kept: the server could not write them")
	}
	r.Warnings = append(r.Warnings, warnings...)
}
