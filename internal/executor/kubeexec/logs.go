package kubeexec

import (
	"context"
	"errors"
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
		e.streamLogs(ctx, a.out, pod)
		e.log.Debug("job log ended", "job", a.name, "after", time.Since(a.started))
	}()
}

// streamLogs follows the log of pod's job container until the container ends (the stream's clean end), the pod
// is gone or ctx ends. A broken stream is opened again; what was already copied is skipped.
func (e *Executor) streamLogs(ctx context.Context, out io.Writer, pod string) {
	var copied int64
	wait := 100 * time.Millisecond
	for tries := 0; ; tries++ {
		err := e.followLog(ctx, out, pod, &copied)
		if err == nil || ctx.Err() != nil || apierrors.IsNotFound(err) {
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
			return
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// followLog copies the log from its start, skipping the first *copied bytes, and counts what it writes.
func (e *Executor) followLog(ctx context.Context, out io.Writer, pod string, copied *int64) error {
	rc, err := e.client.CoreV1().Pods(e.ns).GetLogs(pod, &corev1.PodLogOptions{Container: containerJob, Follow: true}).Stream(ctx)
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
					return nil // nobody reads any more
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
