package podman

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// containerState is what this executor reads of `podman inspect`.
type containerState struct {
	ID    string `json:"Id"`
	State struct {
		Status     string
		ExitCode   int
		StartedAt  time.Time
		FinishedAt time.Time
		OOMKilled  bool
		Error      string
	}
	Config struct {
		Labels map[string]string
	}
	ImageName  string
	HostConfig struct {
		Memory int64
	}
}

// inspect returns the state of container name; an error for which noSuchContainer is true if there is none.
func (e *Executor) inspect(ctx context.Context, name string) (containerState, error) {
	out, err := e.run(ctx, e.opts.CallTimeout, nil, "container", "inspect", "--format", "json", name)
	if err != nil {
		return containerState{}, err
	}
	var st []containerState
	if err := json.Unmarshal(out, &st); err != nil || len(st) != 1 {
		return containerState{}, fmt.Errorf("podman inspect %s: unexpected output %.200q", name, out)
	}
	return st[0], nil
}

// Durable is true: a container outlives the server that started it (conmon supervises it), for the next server
// to Recover.
func (e *Executor) Durable() bool { return true }

// ReplaysOutput is true: Recover writes the attempt's whole log again, from its beginning.
func (e *Executor) ReplaysOutput() bool { return true }

// Recover re-attaches to the container of an attempt started by an earlier process: it writes the container's
// whole log to output (from the beginning, then following it) and makes Wait and Stop work on it. A container
// that is gone, that is not this executor's, or that was created but never started (the server died in between)
// is removed with its directory, and Recover returns ErrNotFound. For an attempt of this process it returns nil.
func (e *Executor) Recover(ctx context.Context, h executor.Handle, output io.Writer) error {
	if e.lookup(h) != nil {
		return nil
	}
	name, ok := nameOf(h)
	if !ok {
		return fmt.Errorf("podman executor: recover %q: %w", h, executor.ErrNotFound)
	}
	a := newAttempt(name, filepath.Join(e.workDir, name), false)
	st, err := e.inspect(ctx, name)
	if noSuchContainer(err) {
		if found, err := e.recoverChain(ctx, h, a, output); found || err != nil {
			return err
		}
	}
	switch {
	case noSuchContainer(err):
		e.remove(a)
		return fmt.Errorf("podman executor: recover %s: %w", h, executor.ErrNotFound)
	case err != nil:
		return fmt.Errorf("podman executor: recover %s: %w", h, err)
	case st.Config.Labels[LabelManagedBy] != managedBy:
		return fmt.Errorf("podman executor: recover %s: not a container of runplane: %w", h, executor.ErrNotFound)
	case neverRan(st.State.Status):
		e.remove(a)
		return fmt.Errorf("podman executor: recover %s: created but never started: %w", h, executor.ErrNotFound)
	}
	a.id, a.memLimit = st.ID, st.HostConfig.Memory > 0
	if err := e.follow(a, output, "logs", "--follow", name); err != nil {
		return fmt.Errorf("podman executor: recover %s: %w", h, err)
	}
	e.mu.Lock()
	e.attempts[h] = a
	e.mu.Unlock()
	e.log.Info("job re-attached", "handle", h, "status", st.State.Status)
	return nil
}

// Find returns the handle of the newest container labelled with jobID; ErrNotFound if there is none.
func (e *Executor) Find(ctx context.Context, jobID string) (executor.Handle, error) {
	out, err := e.run(ctx, e.opts.CallTimeout, nil, "ps", "--all", "--sort", "created",
		"--filter", "label="+LabelManagedBy+"="+managedBy, "--filter", "label="+LabelJob+"="+jobID, "--format", attemptFormat)
	if err != nil {
		return "", fmt.Errorf("podman executor: find %s: %w", jobID, err)
	}
	names := attemptNames(out)
	for i := len(names) - 1; i >= 0; i-- {
		if validName(names[i]) {
			return handleOf(names[i]), nil
		}
	}
	return "", fmt.Errorf("podman executor: find %s: %w", jobID, executor.ErrNotFound)
}
