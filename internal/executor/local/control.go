//go:build linux

package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

func (e *Executor) lookup(h executor.Handle) *attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.attempts[h]
}

// Wait blocks until the attempt ends or ctx is done. Any number of callers may wait on one handle; finished
// attempts stay known for Options.RetainFinished.
func (e *Executor) Wait(ctx context.Context, h executor.Handle) (executor.Result, error) {
	a := e.lookup(h)
	if a == nil {
		return executor.Result{}, fmt.Errorf("local executor: wait %s: %w", h, executor.ErrNotFound)
	}
	return executor.WaitDone(ctx, a.done, &a.result)
}

// Stop sends SIGTERM to the job's process group, SIGKILLs the whole job after grace, and returns when the job
// has ended (or ctx is done). Stopping a finished or unknown attempt is not an error.
func (e *Executor) Stop(ctx context.Context, h executor.Handle, grace time.Duration) error {
	a := e.lookup(h)
	if a == nil {
		return nil
	}
	select {
	case <-a.done:
		return nil
	default:
	}
	a.terminate()
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-a.done:
			return nil
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.kill()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// terminate asks the job to end: its current process (of a multi-container job, its current container's; no more
// start).
func (a *attempt) terminate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopping = true
	if a.proc == nil { // between two containers
		return
	}
	switch a.mode {
	case modeLauncher:
		_ = a.proc.Signal(syscall.SIGTERM) // the launcher forwards it to the job's group
	case modeInProc:
		if !a.ownPidNS {
			_ = syscall.Kill(-a.pid, syscall.SIGTERM)
			return
		}
		// The shell is PID 1 of its namespace: the kernel drops a SIGTERM it has no handler for. Do what the
		// signal would have done to any other process: end it now, and report it as terminated even if it
		// manages to exit on its own first (its children dying of the same SIGTERM, say).
		dflt := sigtermIsDefault(a.pid)
		if dflt {
			a.terminated.Store(true)
		}
		_ = syscall.Kill(-a.pid, syscall.SIGTERM)
		if dflt {
			_ = a.proc.Signal(syscall.SIGKILL)
		}
	default:
		_ = syscall.Kill(-a.pid, syscall.SIGTERM)
	}
}

// kill ends the job and every process in it.
func (a *attempt) kill() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopping = true
	if a.proc == nil {
		return
	}
	if a.mode == modeLauncher || a.ownPidNS {
		// PID 1 of the job's namespace: when it dies the kernel kills every other process in it.
		_ = a.proc.Signal(syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(-a.pid, syscall.SIGKILL) // the shell's process group; what left it dies with the shell (wait)
	_ = a.proc.Signal(syscall.SIGKILL)
}

// Recover cannot re-attach to a job of an earlier process (its processes died with that process, through
// Pdeathsig and the PID namespace); it kills whatever may remain, removes the workspace and returns
// executor.ErrNotFound. For an attempt of this process it returns nil.
func (e *Executor) Recover(ctx context.Context, h executor.Handle, output io.Writer) error {
	if e.lookup(h) != nil {
		return nil
	}
	hd, ok := parseHandle(h)
	if !ok {
		return fmt.Errorf("local executor: recover %q: %w", h, executor.ErrNotFound)
	}
	if hd.startTime != 0 { // 0: a namespace job, gone with its shell
		if n := killLeftovers(hd.pid, hd.startTime); n > 0 {
			e.log.Warn("killed leftover processes of an earlier attempt", "handle", h, "processes", n)
		}
	}
	if hd.workspace == "" {
		return fmt.Errorf("local executor: recover %s: %w", h, executor.ErrNotFound)
	}
	roots := []string{e.workDir}
	if e.wsRoot != "" && e.wsRoot != e.workDir {
		roots = append(roots, e.wsRoot)
	}
	for _, root := range roots {
		ws := filepath.Join(root, hd.workspace)
		for _, dir := range []string{ws + secretDirSuffix, ws + ioDirSuffix, ws} {
			if err := os.RemoveAll(dir); err != nil {
				e.log.Warn("remove stale workspace", "handle", h, "err", err)
			}
		}
	}
	return fmt.Errorf("local executor: recover %s: %w", h, executor.ErrNotFound)
}
