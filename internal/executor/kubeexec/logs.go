package kubeexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// startLogsLocked starts copying the job container's log into the attempt's output, once.
func (e *Executor) startLogsLocked(a *attempt, pod string) {
	if a.logging {
		return
	}
	a.logging = true
	if a.secret {
		// The job's container has its secrets (env resolved, files copied by the checkout): the Secret is not
		// needed any more, so it does not outlive the start of the job.
		a.secret = false
		go e.deleteSecret(a.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancelLogs = cancel
	e.log.Debug("job container started", "job", a.name, "after", time.Since(a.started))
	go func() {
		defer a.logsEnded()
		defer cancel()
		e.streamLogs(ctx, a, pod)
		e.log.Debug("job log ended", "job", a.name, "after", time.Since(a.started))
	}()
}

// streamLogs follows the log of pod's job container into the attempt's output until it has all of it, the pod is
// gone or ctx ends. A broken stream is opened again; what was already copied is skipped.
//
// The stream's clean end means the container has ended, not that the log is whole: the container runtime may
// still be writing its end to the log file when the kubelet, seeing the container gone, ends the stream (a
// short job that writes a lot loses its last lines that way). So the stream is read again until it has the
// length runplane-pid1 reported in the termination message.
func (e *Executor) streamLogs(ctx context.Context, a *attempt, pod string) {
	var copied int64
	wait := 100 * time.Millisecond
	lags := 0
	for tries := 0; ; tries++ {
		err := e.followLog(ctx, a.out, pod, &copied)
		if errors.Is(err, errOutputGone) {
			return
		}
		if err == nil {
			want, ok := a.outputLength(ctx)
			if ok && copied >= want { // want is -1 when not known
				return
			}
			tries = 0 // the stream works; the log file lags
			err = fmt.Errorf("the log has %d of the %d bytes written", copied, want)
			if lags++; lags > 5 { // 3s: what is not there by now was lost on the node
				e.log.Warn("job log incomplete", "pod", pod, "bytes", copied, "want", want)
				return
			}
		}
		if ctx.Err() != nil || apierrors.IsNotFound(err) {
			if want := a.outputLengthNow(); copied < want {
				e.log.Warn("job log incomplete", "pod", pod, "bytes", copied, "want", want)
			}
			return
		}
		if tries == 10 {
			e.log.Warn("job log lost", "pod", pod, "err", err)
			return
		}
		e.log.Debug("job log interrupted; reading it again", "pod", pod, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// errOutputGone: the attempt's output takes no more (nobody reads it any more).
var errOutputGone = errors.New("the job's output is closed")

// followLog copies the log from its start, skipping the first *copied bytes, and counts what it writes.
func (e *Executor) followLog(ctx context.Context, out io.Writer, pod string, copied *int64) error {
	rc, err := e.client.PodLogs(e.ns, pod, &corev1.PodLogOptions{Container: containerJob, Follow: true}).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
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
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
