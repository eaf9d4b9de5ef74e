package podman

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// recoverChain re-attaches to attempt a's chain, if h names one (found is false if not): it writes the output
// of the containers that ran, each under its header (replaying the whole log), then follows the one that runs,
// or starts the next that has not, or, if the chain is over, publishes its result. No container runs twice:
// which have run, podman says.
func (e *Executor) recoverChain(ctx context.Context, h executor.Handle, a *attempt, output io.Writer) (found bool, err error) {
	out, err := e.run(ctx, e.opts.CallTimeout, nil, "ps", "--all", "--filter", "label="+LabelAttempt+"="+a.name, "--format", "{{.Names}}")
	if err != nil {
		return false, fmt.Errorf("podman executor: recover %s: %w", h, err)
	}
	names := strings.Fields(string(out))
	if len(names) == 0 {
		return false, nil
	}
	out, err = e.run(ctx, e.opts.CallTimeout, nil, append([]string{"container", "inspect", "--format", "json"}, names...)...)
	var sts []containerState
	if err == nil {
		err = json.Unmarshal(out, &sts)
	}
	if err != nil {
		return true, fmt.Errorf("podman executor: recover %s: %w", h, err)
	}
	index := func(st containerState) int {
		i, err := strconv.Atoi(st.Config.Labels[labelIndex])
		if err != nil {
			return -1
		}
		return i
	}
	slices.SortFunc(sts, func(x, y containerState) int { return index(x) - index(y) })
	c := &chain{out: output}
	for i, st := range sts {
		if index(st) != i || st.Config.Labels[LabelManagedBy] != managedBy {
			// Not a whole chain of ours (one was removed by hand?): nothing to pick up.
			a.chain = &chain{names: names}
			e.remove(a)
			return true, fmt.Errorf("podman executor: recover %s: an incomplete chain of containers: %w", h, executor.ErrNotFound)
		}
		name := chainName(a.name, i)
		c.names = append(c.names, name)
		c.ids = append(c.ids, st.ID)
		cont := api.Container{Name: st.Config.Labels[labelContainer], Image: st.Config.Labels[labelImage]}
		c.headers = append(c.headers, executor.ContainerHeader(cont))
		c.statuses = append(c.statuses, api.ContainerStatus{Name: cont.Name})
		c.keep = st.Config.Labels[labelKeep]
		a.memLimit = a.memLimit || st.HostConfig.Memory > 0
	}
	a.chain = c
	register := func() {
		e.mu.Lock()
		e.attempts[h] = a
		e.mu.Unlock()
	}
	for i, st := range sts {
		c.i = i
		a.cur, a.id = c.names[i], c.ids[i]
		switch {
		case neverRan(st.State.Status):
			e.writeHeader(a)
			if err := e.attach(a, output); err != nil {
				return true, fmt.Errorf("podman executor: recover %s: %w", h, err)
			}
			register()
			e.log.Info("job re-attached: its next container started", "handle", h, "container", c.statuses[i].Name)
			return true, nil
		case st.State.Status == "running" || st.State.Status == "paused" || st.State.Status == "stopping":
			e.writeHeader(a)
			c.started = st.State.StartedAt
			if err := e.follow(a, output, "logs", "--follow", a.cur); err != nil {
				return true, fmt.Errorf("podman executor: recover %s: %w", h, err)
			}
			register()
			e.log.Info("job re-attached", "handle", h, "container", c.statuses[i].Name)
			return true, nil
		}
		// It ended: its log again, and how it ended.
		e.writeHeader(a)
		var logs bytes.Buffer
		if err := e.runTo(ctx, &logs, "logs", a.cur); err != nil {
			e.log.Warn("replay the log of a container", "container", a.cur, "err", err)
		}
		if output != nil {
			_, _ = output.Write(logs.Bytes())
		}
		code, start, end := st.State.ExitCode, st.State.StartedAt, st.State.FinishedAt
		c.statuses[i].ExitCode, c.statuses[i].StartTime, c.statuses[i].CompletionTime = &code, timeOrNil(start), timeOrNil(end)
		if st.State.OOMKilled {
			c.statuses[i].Reason = executor.ReasonOOM
		}
		if code != 0 || i == len(sts)-1 {
			register()
			e.publish(a, executor.Result{ExitCode: code, Reason: c.statuses[i].Reason, Containers: c.statuses})
			return true, nil
		}
	}
	return true, nil // not reached: the last container ends the loop
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// runTo runs a podman command within CallTimeout with its stdout and stderr into w (`podman logs` writes a
// container's stderr on its own).
func (e *Executor) runTo(ctx context.Context, w io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.CallTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := e.command(ctx, nil, args...)
	cmd.Stdout, cmd.Stderr = w, io.MultiWriter(w, &stderr)
	if err := cmd.Run(); err != nil {
		return &podmanError{verb: args[0], stderr: podmanMessage(stderr.String()), err: err}
	}
	return nil
}
