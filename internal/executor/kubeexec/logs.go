package kubeexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/runplane/runplane/internal/inpod"
)

// startLogsLocked starts copying the logs of the attempt's steps into its output, once: the first step's
// container has started.
func (e *Executor) startLogsLocked(a *attempt, pod string) {
	if a.logging {
		return
	}
	a.logging = true
	ctx, cancel := context.WithCancel(context.Background())
	a.cancelLogs = cancel
	e.log.Debug("job container started", "job", a.name, "after", time.Since(a.started))
	go func() {
		defer a.logsEnded()
		defer cancel()
		e.streamSteps(ctx, a, pod)
		e.log.Debug("job log ended", "job", a.name, "after", time.Since(a.started))
	}()
}

// streamSteps copies the log of each step's container in turn, each under its header in a multi-container job,
// as each starts, until one never does (an earlier one failed) or ctx ends.
func (e *Executor) streamSteps(ctx context.Context, a *attempt, pod string) {
	lw := &lineEnd{w: a.out, nl: true}
	for i, s := range a.steps {
		if !a.waitStarted(ctx, i) {
			return
		}
		if s.keep {
			e.keepFiles(ctx, a, pod, i)
			return
		}
		if a.multi {
			h := header(s)
			if !lw.nl {
				h = "\n" + h
			}
			if _, err := lw.Write([]byte(h)); err != nil {
				return
			}
		}
		if !e.streamLogs(ctx, a, pod, i, lw) || a.stepFailed(i) {
			// The containers after a failed one started with it, but did not run: they have no log to show.
			return
		}
	}
}

// keepFiles reads the keep container's log (step i), the archive of the files the job's containers left, into
// the attempt's Keep directory; what fails is a warning of the result, and leaves no files.
func (e *Executor) keepFiles(ctx context.Context, a *attempt, pod string, i int) {
	if a.keep == "" {
		return // Recover: a warning says the files are not kept
	}
	names := make([]string, len(keptDirs))
	for j, d := range keptDirs {
		names[j] = d[0]
	}
	pr, pw := io.Pipe()
	extracted := make(chan error, 1)
	go func() {
		err := os.MkdirAll(a.keep, 0o755)
		if err == nil {
			err = inpod.ExtractKeep(pr, a.keep, names, e.opts.MaxKeep)
		}
		pr.CloseWithError(err) // the stream's writes fail from here on
		extracted <- err
	}()
	complete := e.streamLogs(ctx, a, pod, i, pw)
	if complete {
		pw.Close()
	} else {
		pw.CloseWithError(errors.New("the log of the files ended early"))
	}
	err := <-extracted
	if err == nil && !complete {
		err = errors.New("the log of the files ended early")
	}
	a.mu.Lock()
	failed := a.exit != nil && len(a.warnings) > 0 // the keep container said why already
	a.mu.Unlock()
	if err != nil {
		for _, d := range names {
			os.RemoveAll(filepath.Join(a.keep, d))
		}
		if !failed {
			a.warn(warnNotKept + err.Error())
		}
	}
}

// lineEnd is a writer that remembers whether what went through it ended a line.
type lineEnd struct {
	w  io.Writer
	nl bool
}

func (l *lineEnd) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.nl = p[n-1] == '\n'
	}
	return n, err
}

// streamLogs follows the log of step i's container into out until it has all of it, the pod is gone or ctx
// ends; it reports whether the next step's log may follow. A broken stream is opened again; what was already
// copied is skipped.
//
// The stream's clean end means the container has ended, not that the log is whole: the container runtime may
// still be writing its end to the log file when the kubelet, seeing the container gone, ends the stream (a
// short job that writes a lot loses its last lines that way). So the stream is read again until it has the
// length runplane-pid1 reported in the termination message, or, in a one-container pod, its end marker.
func (e *Executor) streamLogs(ctx context.Context, a *attempt, pod string, i int, out io.Writer) bool {
	container := a.steps[i].Container
	var end *endFilter
	if a.nonce != "" {
		end = newEndFilter(out, a.nonce)
		out = end
		defer end.flush() // what may have been the start of a marker, when there was none
	}
	var copied int64
	// whole reports whether the log is all copied, once the container has ended.
	whole := func() bool {
		if end != nil {
			return end.marked.Load() || !a.endMarked(i) // killed before its marker: none will come
		}
		return copied >= a.outputLengthNow(i) // -1 when not known
	}
	wait := 100 * time.Millisecond
	lags := 0
	for tries := 0; ; tries++ {
		err := e.followLog(ctx, out, a, pod, i, &copied, end)
		if errors.Is(err, errOutputGone) {
			return false
		}
		if err == nil {
			_, ok := a.outputLength(ctx, i)
			if ok && whole() {
				return true
			}
			tries = 0 // the stream works; the log file lags
			err = fmt.Errorf("the log has %d bytes and not yet its end", copied)
			if lags++; lags > 5 { // 3s: what is not there by now was lost on the node
				e.log.Warn("job log incomplete", "pod", pod, "container", container, "bytes", copied, "want", a.outputLengthNow(i))
				return true
			}
		}
		if ctx.Err() != nil || apierrors.IsNotFound(err) {
			if ended(a.st[i].ended) && !whole() {
				e.log.Warn("job log incomplete", "pod", pod, "container", container, "bytes", copied, "want", a.outputLengthNow(i))
			}
			return false
		}
		if tries == 10 {
			e.log.Warn("job log lost", "pod", pod, "container", container, "err", err)
			return false
		}
		e.log.Debug("job log interrupted; reading it again", "pod", pod, "container", container, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// errOutputGone: the attempt's output takes no more (nobody reads it any more).
var errOutputGone = errors.New("the job's output is closed")

// followLog copies the log from its start, skipping the first *copied bytes, and counts what it writes. It returns
// nil at the stream's end, or as soon as the step's container has ended and all the output runplane-pid1 counted
// is copied, or end (not nil in a one-container pod) has had the end marker: the kubelet ends a follow only when
// it next checks the container, up to a second after it ended, and the attempt would end that much later.
func (e *Executor) followLog(ctx context.Context, out io.Writer, a *attempt, pod string, i int, copied *int64, end *endFilter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := e.client.PodLogs(e.ns, pod, &corev1.PodLogOptions{Container: a.steps[i].Container, Follow: true}).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	var have atomic.Int64
	have.Store(*copied)
	var whole atomic.Bool
	complete := func() bool {
		if end != nil && end.marked.Load() {
			whole.Store(true)
			return true
		}
		if n := a.outputLengthNow(i); n >= 0 && have.Load() >= n {
			whole.Store(true)
			return true
		}
		return false
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-a.st[i].ended:
			if complete() {
				cancel() // the reader below may be waiting for more
			}
		case <-stop:
		}
	}()
	buf := make([]byte, 32<<10)
	var pos int64
	for {
		n, err := rc.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if skip := *copied - pos; skip > 0 {
				chunk = chunk[min(skip, int64(n)):]
			}
			pos += int64(n)
			if len(chunk) > 0 {
				if _, werr := out.Write(chunk); werr != nil {
					return errOutputGone
				}
				*copied += int64(len(chunk))
				have.Store(*copied)
				if end != nil && end.marked.Load() {
					e.endAtMarker(a, i, pod, end.status.Load())
					return nil
				}
			}
		}
		if errors.Is(err, io.EOF) || whole.Load() || ended(a.st[i].ended) && complete() {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func ended(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
