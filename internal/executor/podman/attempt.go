package podman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// notStarted is the exit code of an attempt whose command never ran.
const notStarted = -1

// attempt is one container of this executor.
type attempt struct {
	name     string
	id       string // the container's id (for the kernel's OOM reports)
	dir      string // under WorkDir
	memLimit bool
	stopping atomic.Bool
	// abandoned: this process let go of the attempt without ending it (tests play a server that died).
	abandoned atomic.Bool
	client    atomic.Pointer[os.Process] // the podman client streaming the current container's output

	done   chan struct{}
	result executor.Result // set before done is closed

	stderrMu sync.Mutex
	stderr   bytes.Buffer // podman's own messages (the job's go to its output)

	// chain runs the containers of a multi-container attempt (chain.go); nil for a command's single container.
	chain *chain
	// curMu guards cur, the container that runs now (a chain's changes): Stop stops that one.
	curMu sync.Mutex
	cur   string
}

func newAttempt(name, dir string, memLimit bool) *attempt {
	return &attempt{name: name, dir: dir, memLimit: memLimit, done: make(chan struct{}), cur: name}
}

// current is the name of the container that runs now.
func (a *attempt) current() string {
	a.curMu.Lock()
	defer a.curMu.Unlock()
	return a.cur
}

// Write collects podman's stderr, at most 64 KiB of it.
func (a *attempt) Write(p []byte) (int, error) {
	a.stderrMu.Lock()
	defer a.stderrMu.Unlock()
	if room := 64<<10 - a.stderr.Len(); room > 0 {
		a.stderr.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (a *attempt) podmanSaid() string {
	a.stderrMu.Lock()
	defer a.stderrMu.Unlock()
	return podmanMessage(a.stderr.String())
}

// attach starts `podman start --attach` on a's container, writing its output to out, and follows it to its end.
// The podman client is not tied to any context: it lives as long as the container (or this process).
func (e *Executor) attach(a *attempt, out io.Writer) error {
	return e.follow(a, out, "start", "--attach", "--sig-proxy=false", a.current())
}

// follow runs a podman command that streams a's output into out until the container ends, then finishes a.
func (e *Executor) follow(a *attempt, out io.Writer, args ...string) error {
	if out == nil {
		out = io.Discard
	}
	cmd := e.command(context.Background(), nil, args...)
	cmd.Stdout, cmd.Stderr = out, a
	if a.chain != nil {
		// A chain's containers do not merge their stderr into their stdout (their images may have no shell to
		// do it): podman passes it on as its own, which then goes to the log too.
		cmd.Stderr = io.MultiWriter(out, a)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("podman %s: %w", args[0], err)
	}
	a.client.Store(cmd.Process)
	go func() {
		err := cmd.Wait()
		code := notStarted
		var ee *exec.ExitError
		if err == nil {
			code = 0
		} else if errors.As(err, &ee) && ee.Exited() {
			code = ee.ExitCode()
		}
		e.finish(a, code, args[0] == "start")
	}()
	return nil
}

// finish works out how a's container ended, publishes it and removes the container and a's directory.
// attached says code is the container's exit code as `podman start --attach` reported it (else it is unknown).
func (e *Executor) finish(a *attempt, code int, attached bool) {
	if a.abandoned.Load() {
		return
	}
	r := e.outcome(a, code, attached)
	if a.chain != nil && e.advance(a, &r) {
		return // the next container runs
	}
	e.publish(a, r)
}

// outcome is how the current container of a ended; code and attached as for finish.
func (e *Executor) outcome(a *attempt, code int, attached bool) executor.Result {
	ctx := context.Background()
	name := a.current()
	r := executor.Result{ExitCode: code}
	// podman start reports the container's exit code, except 125-127 for its own failures, and -1 when it did
	// not exit on its own: only then is inspecting the container worth its ~150 ms.
	if !attached || code < 0 || (code >= 125 && code <= 127) {
		st, err := e.inspect(ctx, name)
		if err == nil && st.State.Status == "running" {
			_, _ = e.run(ctx, 365*24*time.Hour, nil, "wait", name)
			st, err = e.inspect(ctx, name)
		}
		switch {
		case err != nil && noSuchContainer(err) && a.stopping.Load():
			r = executor.Result{ExitCode: notStarted, Reason: "stopped before it started"}
		case err != nil:
			r = executor.Result{ExitCode: notStarted, Reason: "podman: " + firstOf(a.podmanSaid(), err.Error())}
		case st.State.Error != "" || neverRan(st.State.Status):
			r = executor.Result{ExitCode: notStarted, Reason: "the job's container did not start: " + firstOf(st.State.Error, a.podmanSaid())}
		default:
			r.ExitCode = st.State.ExitCode
			if st.State.OOMKilled {
				r.Reason = executor.ReasonOOM
			}
		}
	}
	if r.Reason == "" {
		r.Reason = e.signalReason(a, r.ExitCode)
	}
	return r
}

// publish makes r the attempt's result (after keeping its files, if it asked), then removes what it leaves.
func (e *Executor) publish(a *attempt, r executor.Result) {
	if a.chain != nil {
		e.keep(a, &r)
		if a.chain.release != nil {
			a.chain.release()
		}
	}
	a.result = r
	e.cleanups.Add(1) // before done: a caller of Wait, then Close, waits for the removal
	close(a.done)
	e.log.Debug("job ended", "container", a.name, "exit", r.ExitCode, "reason", r.Reason)
	time.AfterFunc(e.opts.RetainFinished, func() {
		e.mu.Lock()
		delete(e.attempts, handleOf(a.name))
		e.mu.Unlock()
	})
	go func() {
		defer e.cleanups.Done()
		e.remove(a)
	}()
}

// signalReason says why the command died of a signal (catatonit, PID 1, exits 128+n when it does), as the local
// executor would: a SIGTERM or SIGKILL of Stop, or the kernel's OOM killer. Other exits say nothing.
func (e *Executor) signalReason(a *attempt, code int) string {
	switch {
	case code == 137 && a.memLimit && !a.stopping.Load() && e.oomKilled(a.id):
		return executor.ReasonOOM
	case code == 143 && a.stopping.Load():
		return "signal: terminated"
	case code == 137 && a.stopping.Load():
		return "signal: killed"
	}
	return ""
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return "unknown error"
}

// remove removes a's container and directory.
func (e *Executor) remove(a *attempt) {
	names := []string{a.name}
	if a.chain != nil {
		names = a.chain.names
	}
	if _, err := e.run(context.Background(), e.opts.CallTimeout, nil, append([]string{"rm", "--force", "--ignore"}, names...)...); err != nil {
		e.log.Warn("remove container", "container", a.name, "err", err)
	}
	if err := os.RemoveAll(a.dir); err != nil {
		e.log.Warn("remove attempt directory", "dir", a.dir, "err", err)
	}
}

func (e *Executor) lookup(h executor.Handle) *attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.attempts[h]
}

// Wait blocks until the attempt ends or ctx is done. Any number of callers may wait on one handle; finished
// attempts stay known for Options.RetainFinished. ErrNotFound for a handle this executor did not start or
// recover.
func (e *Executor) Wait(ctx context.Context, h executor.Handle) (executor.Result, error) {
	a := e.lookup(h)
	if a == nil {
		return executor.Result{}, fmt.Errorf("podman executor: wait %s: %w", h, executor.ErrNotFound)
	}
	return executor.WaitDone(ctx, a.done, &a.result)
}

// Stop sends SIGTERM to the job (catatonit, its PID 1, passes it on to the command), kills the whole container
// after grace (`podman stop -t`), and returns when the attempt has ended or ctx is done. Stopping a finished or
// unknown attempt is not an error.
func (e *Executor) Stop(ctx context.Context, h executor.Handle, grace time.Duration) error {
	a := e.lookup(h)
	if a == nil {
		return nil
	}
	a.stopping.Store(true)
	secs := strconv.FormatInt(int64(math.Ceil(max(grace, 0).Seconds())), 10)
	for {
		select {
		case <-a.done:
			return nil
		default:
		}
		a.curMu.Lock()
		a.stopping.Store(true) // with curMu: a chain starts no container after this one
		name := a.cur
		a.curMu.Unlock()
		_, err := e.run(ctx, grace+e.opts.CallTimeout, nil, "stop", "--time", secs, name)
		if err != nil && !noSuchContainer(err) && ctx.Err() == nil {
			select {
			case <-a.done:
				return nil
			default:
			}
			return fmt.Errorf("podman executor: stop %s: %w", h, err)
		}
		// podman stop does nothing to a container that does not run yet: Start returns while podman start is
		// still on its way. Such a container is removed (its podman start then fails); one that runs by now is
		// stopped again.
		t := time.NewTimer(time.Second)
		select {
		case <-a.done:
			t.Stop()
			return nil
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if st, err := e.inspect(ctx, name); err == nil && neverRan(st.State.Status) {
			_, _ = e.run(ctx, e.opts.CallTimeout, nil, "rm", "--force", "--time", "0", name)
		}
	}
}

// neverRan reports whether a container in podman state status has not been started.
func neverRan(status string) bool {
	return status == "created" || status == "configured" || status == "initialized"
}
