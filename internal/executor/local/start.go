//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource"
)

// Start prepares the workspace (checkout, secrets) and launches the job. It returns once the job's first
// process runs; an error means nothing runs and no workspace is left.
//
// The workspace is the checkout: the job's working directory and its HOME, a fresh directory under the
// workspace root (workspace.go), or a tmpfs of the job's own mounted inside its mount namespace at the same
// path for every job. In-process namespace jobs get a mount namespace of their own only when they need one:
// for secrets at /etc/secret, or for that tmpfs. Their PID namespace alone ties their processes' lives to the
// shell's and the server's.
func (e *Executor) Start(ctx context.Context, spec executor.Spec) (executor.Handle, error) {
	if err := spec.Validate(); err != nil {
		return "", fmt.Errorf("local executor: %w", err)
	}
	if err := checkContainers(spec.Containers); err != nil {
		return "", fmt.Errorf("local executor: %w", err)
	}
	if spec.Repo.URL != "" && e.opts.Git == nil {
		return "", errors.New("local executor: checkout: no git cache configured")
	}
	a := &attempt{mode: e.mode, done: make(chan struct{}), uid: -1, keep: spec.Keep}
	// Every attempt gets a unique name, even without a directory of that name: with it, the handle stays
	// unique when pids are reused.
	job := jobProcess{command: spec.Command, secrets: spec.Secrets, output: spec.Output, name: newWorkspaceName(spec.JobID)}
	if e.sandbox != nil {
		uid, err := e.takeUID(a)
		if err != nil {
			return "", fmt.Errorf("local executor: %w", err)
		}
		job.root = jobRoot{UID: uid, GID: uid, Secrets: spec.Secrets, WSSize: e.opts.WorkspaceSize}
		if e.users != nil {
			if err := e.users.add(uid); err != nil {
				a.release()
				return "", fmt.Errorf("local executor: %w", err)
			}
		}
	}
	if e.wsRoot == "" {
		job.prepare = func(dir string) error { // on the job's thread, in its sandbox, once its tmpfs is mounted
			return e.checkout(ctx, spec.Repo, dir, job.root.UID)
		}
	} else {
		if err := e.makeWorkspace(ctx, a, spec, job.name, job.root.UID); err != nil {
			a.release()
			return "", fmt.Errorf("local executor: %w", err)
		}
		job.root.Workspace = a.workspace
	}
	job.dir = a.workspace
	if e.sandbox != nil {
		job.dir = WorkspacePath
	}
	job.env = jobEnv(spec, job.dir, a.secretDir)
	if len(spec.Containers) > 0 {
		uid := job.root.UID
		if e.uids == nil {
			uid = -1
		}
		if err := e.makeIODir(a, spec, job.name, uid); err != nil {
			a.removeWorkspace()
			a.release()
			return "", fmt.Errorf("local executor: %w", err)
		}
		job.root.IO = a.ioDir
		job.containers = e.containerProcs(a, spec, job.dir)
		a.result.Containers = executor.ContainerStatuses(spec.Containers)
	}
	e.limit(a, job.name, spec.Limits)
	if spec.Network == api.NetworkNone || spec.Network == api.NetworkPrivate {
		a.result.Warnings = append(a.result.Warnings, NetworkWarning(spec.Network))
	}

	started := make(chan error, 1)
	if a.group != nil || a.mode == modeInProc {
		// A thread that is not the main thread, ended afterwards: what the job's start changed about it (its
		// mount namespace, its control group) goes with it.
		e.threads.run(func(th *thread) bool { return e.run(a, job, started, th) })
	} else {
		go e.run(a, job, started, &thread{})
	}
	if err := <-started; err != nil {
		a.removeWorkspace()
		a.release()
		if a.group != nil {
			_ = a.group.Remove()
		}
		return "", fmt.Errorf("local executor: %w", err)
	}
	h := a.handle
	e.mu.Lock()
	e.attempts[h] = a
	e.mu.Unlock()
	e.log.Debug("job started", "job", spec.JobID, "handle", h)
	return h, nil
}

// NetworkWarning is a job's warning when its task asks for network n (none or private), which the local executor
// does not give: its jobs share the host's network in every isolation mode (the container mode gives it).
func NetworkWarning(n string) string {
	return "network " + n + " not enforced: local jobs share the host's network (--isolation container gives it)"
}

// limit gives the attempt a control group that enforces l, if l limits anything; where that cannot be done, the
// job runs without and its warnings say why.
func (e *Executor) limit(a *attempt, name string, l executor.Limits) {
	if l.IsZero() {
		return
	}
	if e.opts.Cgroups == nil {
		a.result.Warnings = append(a.result.Warnings, "resource limits not enforced: no control groups on this host")
		return
	}
	if a.mode == modeLauncher && l.Pids > 0 {
		// The launcher is in the job's group from its start, and its own threads would count.
		a.result.Warnings = append(a.result.Warnings, "pids limit not enforced in launcher isolation")
		l.Pids = 0
	}
	g, err := e.opts.Cgroups.New(name, l)
	if err != nil {
		a.result.Warnings = append(a.result.Warnings, "resource limits not enforced: "+err.Error())
		e.log.Warn("resource limits not enforced", "err", err)
		return
	}
	a.group = g
}

// takeUID gives the attempt its user id: one of the pool's as root, else the user namespace's sandboxUID.
func (e *Executor) takeUID(a *attempt) (int, error) {
	if e.uids == nil {
		return sandboxUID, nil
	}
	uid, err := e.uids.get()
	if err != nil {
		return 0, err
	}
	a.uid, a.uids = uid, e.uids
	return uid, nil
}

// makeWorkspace makes <workspace root>/<name> with the checkout (owned by uid when the server hands out user ids)
// and, without namespaces, the secret directory next to it.
func (e *Executor) makeWorkspace(ctx context.Context, a *attempt, spec executor.Spec, name string, uid int) (err error) {
	ws := filepath.Join(e.wsRoot, name)
	if err := os.Mkdir(ws, 0o700); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	a.workspace = ws
	defer func() {
		if err != nil {
			a.removeWorkspace()
		}
	}()
	if e.uids == nil {
		uid = -1 // no sandbox, or a user namespace that maps the job's user to the server's, which owns the files
	}
	if err := e.checkout(ctx, spec.Repo, ws, uid); err != nil {
		return err
	}
	if e.mode != modeNone {
		return nil
	}
	a.secretDir = ws + secretDirSuffix
	if err := os.Mkdir(a.secretDir, 0o700); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := writeSecretFiles(a.secretDir, spec.Secrets, -1, -1); err != nil {
		return err
	}
	a.result.Warnings = []string{NoSandboxWarning}
	if len(spec.Secrets) > 0 {
		a.result.Warnings = append(a.result.Warnings, "secrets are in $RUNPLANE_SECRET_DIR, not "+SecretDir+": no mount namespace on this host")
	}
	return nil
}

// checkout fills dir with repo's branch, giving dir and everything in it to the job's user uid (its group has
// the same number) unless uid is -1.
func (e *Executor) checkout(ctx context.Context, repo executor.Repo, dir string, uid int) error {
	if repo.URL != "" {
		opts := gitsource.CheckoutOptions{Chown: uid >= 0, UID: uid, GID: uid}
		if _, err := e.opts.Git.CheckoutWith(ctx, repo, dir, opts); err != nil {
			return fmt.Errorf("checkout: %w", err)
		}
	} else if uid >= 0 {
		if err := os.Chown(dir, uid, uid); err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
	}
	return ctx.Err()
}

// jobEnv is the job's whole environment (CONTRACTS.md §1); nothing of the server's own is in it.
func jobEnv(spec executor.Spec, home, secretDir string) []string {
	env := append([]string{"PATH=" + JobPath, "HOME=" + home}, spec.Env()...)
	if secretDir != "" {
		env = append(env, "RUNPLANE_SECRET_DIR="+secretDir)
	}
	return env
}
