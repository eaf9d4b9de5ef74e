package kubeexec

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// notStarted is the exit code of an attempt whose command never ran (its checkout failed, its image could not be
// pulled, its pod was deleted first); the reason says why.
const notStarted = -1

// logDrain bounds how long the end of a job's log may trail its container's end.
const logDrain = 10 * time.Second

// unstartable are the reasons a waiting container gives when it will not start without someone changing
// something: its Job is failed at once rather than left pending.
var unstartable = map[string]bool{
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

func (e *Executor) podChanged(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if a := e.get(p.Labels[labelAttempt]); a != nil {
		e.observePod(a, p)
	}
}

// observePod moves an attempt on by what its pod says.
func (e *Executor) observePod(a *attempt, p *corev1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exit != nil {
		return
	}
	a.pod = p.Name
	if a.multi {
		a.statuses = containerStatuses(p, a.shown())
	}
	by := make(map[string]corev1.ContainerStatus, len(a.steps)+1)
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		by[cs.Name] = cs
	}
	if cs, ok := by[containerCheckout]; ok {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			e.failLocked(a, "checkout failed: "+message(t.Message, t.Reason))
			return
		} else if t != nil {
			a.checkedOut = true
		}
		if w := cs.State.Waiting; w != nil && unstartable[w.Reason] {
			e.failLocked(a, fmt.Sprintf("cannot start the checkout container (image %s): %s", e.opts.JobImage, message(w.Message, w.Reason)))
			return
		}
	}
	// The steps in their order, whatever the order of the statuses (the kubelet sorts a pod's regular containers'
	// by name). Containers started together may be seen ended out of order (a step's container ends a moment after
	// its marker let the next one run): the job ends only when every step before the one that ends it has.
	allBefore := true // every step before i has ended
	for i, s := range a.steps {
		cs, ok := by[s.Container]
		if !ok {
			allBefore = false
			continue
		}
		last := i == len(a.steps)-1
		if w := cs.State.Waiting; w != nil && unstartable[w.Reason] {
			what := "the job's container"
			switch {
			case a.steps[i].keep:
				what = "the container that keeps the output files"
			case a.multi:
				what = "container " + a.steps[i].Name
			}
			e.failLocked(a, fmt.Sprintf("cannot start %s (image %s): %s", what, cs.Image, message(w.Message, w.Reason)))
			return
		}
		if cs.State.Running == nil && cs.State.Terminated == nil {
			allBefore = false
			continue
		}
		e.startLogsLocked(a, p.Name)
		a.pending = ""
		a.stepStartedLocked(i)
		if a.nonce != "" {
			a.checkedOut = true // a one-container pod: no checkout container; its Secret was mounted by now
		}
		if last && a.secret && a.checkedOut {
			// The last container has its secrets (env resolved, files copied by the checkout): the Secret is
			// not needed any more, so it does not outlive the start of the job.
			a.secret = false
			go e.deleteSecret(a.name)
		}
		t := cs.State.Terminated
		if t == nil {
			allBefore = false
			continue
		}
		rep := pid1.ParseReport(t.Message)
		marked := false
		if a.nonce != "" {
			rep.Signal, marked = fastReport(t.ExitCode, t.Reason, t.Message)
		} else if rep.NotRun != "" {
			// It did not run its command (the checkout or an earlier step failed): that one says how the job ended.
			allBefore = false
			continue
		}
		a.stepEndedLocked(i, rep.OutputBytes, t.ExitCode != 0, marked)
		if t.ExitCode == 0 && !last || !allBefore {
			continue
		}
		e.log.Debug("job container ended", "job", a.name, "container", cs.Name, "after", time.Since(a.started), "exit_code", t.ExitCode)
		r := resultOf(t, rep, a.stopping)
		if rep.NotRun != "" {
			r = executor.Result{ExitCode: notStarted, Reason: "checkout failed: " + rep.NotRun} // the one container's
		}
		if r.Reason == "" && t.ExitCode != 0 && p.Status.Reason != "" {
			r.Reason = message(p.Status.Message, p.Status.Reason) // Evicted, DeadlineExceeded
		}
		if a.keep != "" && !a.steps[i].keep && t.ExitCode != 0 {
			// The pod ends here: the container that takes the files back never runs.
			a.warnings = append(a.warnings, warnNotKept+"container "+a.steps[i].Name+" failed, and the pod ended before the container that keeps them ran")
		}
		if a.steps[i].keep && t.ExitCode != 0 && r.Reason == "" {
			// The job's own containers all succeeded; only its files could not be taken back.
			why := message(t.Message, "")
			if why == "" {
				why = message("", t.Reason)
			}
			a.warnings = append(a.warnings, warnNotKept+why)
			r = executor.Result{}
		}
		a.endLocked(r, true)
		if !a.final {
			cancel := a.cancelLogs
			time.AfterFunc(logDrain, cancel)
		}
		if t.ExitCode != 0 && !last {
			// The containers after it, started with it, end by themselves once they see its marker; one whose
			// end left none (its container was killed whole: OOM) would leave them waiting.
			e.reapLater(a.name, p.Name)
		}
		return
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			a.pending = message(c.Message, c.Reason)
		}
	}
}

// resultOf reads the job container's end and runplane-pid1's report of it (rep, from the termination message),
// which names the signal that killed the command.
func resultOf(t *corev1.ContainerStateTerminated, rep pid1.Report, stopping bool) executor.Result {
	r := executor.Result{ExitCode: int(t.ExitCode)}
	switch {
	case rep.Signal != "":
		r.Reason = rep.Signal
	case t.Reason == "OOMKilled":
		r.Reason = "OOMKilled: the job went over its memory limit"
	case t.Reason == "StartError" || t.Reason == "ContainerCannotRun":
		r.Reason = "the job's container did not start: " + message(t.Message, t.Reason)
	case stopping && t.ExitCode == 137:
		r.Reason = "signal: killed"
	}
	return r
}

func (e *Executor) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a := e.get(p.Labels[labelAttempt])
	if a == nil {
		return
	}
	e.log.Debug("job pod deleted", "job", a.name, "pod", p.Name)
	e.observePod(a, p) // its last state may say how it ended
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		a.endLocked(executor.Result{ExitCode: notStarted, Reason: "stopped"}, false)
	} else {
		a.endLocked(executor.Result{ExitCode: notStarted, Reason: "the job's pod was deleted"}, false)
	}
}

func (e *Executor) jobChanged(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	if a := e.get(j.Name); a != nil {
		e.observeJob(a, j)
	}
}

// observeJob ends an attempt by its Job's conditions while it has no pod: a Job that failed before its pod was
// made (or whose pod is gone) says why; a complete one succeeded.
func (e *Executor) observeJob(a *attempt, j *batchv1.Job) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exit != nil || a.pod != "" {
		return
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			a.endLocked(executor.Result{ExitCode: notStarted, Reason: "Kubernetes Job failed: " + message(c.Message, c.Reason)}, false)
		case batchv1.JobComplete:
			a.endLocked(executor.Result{}, false)
		}
	}
}

func (e *Executor) jobDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	a := e.get(j.Name)
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pod != "" {
		return // the pod's own events say how it ends
	}
	reason := "the Kubernetes Job was deleted before its pod started"
	if a.stopping {
		reason = "stopped before it started"
	}
	a.endLocked(executor.Result{ExitCode: notStarted, Reason: reason}, false)
}

// startTimedOut fails an attempt whose job container has not started within StartTimeout. Why is the pod's
// scheduling condition when it has one; when the Job controller could not even create the pod (a service account
// or resources the API refuses), it is the Job's last warning event.
func (e *Executor) startTimedOut(a *attempt) {
	a.mu.Lock()
	noPod := a.pod == ""
	a.mu.Unlock()
	why := ""
	if noPod {
		why = e.lastWarning(a.name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exit != nil || a.logging && a.checkedOut {
		return
	}
	reason := fmt.Sprintf("the job's pod did not start within %s", e.opts.StartTimeout)
	switch {
	case a.pending != "":
		reason += ": " + a.pending
	case a.pod == "" && why != "":
		reason += ": " + why
	}
	e.failLocked(a, reason)
}

// lastWarning is the newest warning event about Job name ("reason: message"), or "" if there is none or the
// events cannot be read. It is read once, when a job has failed to start: events are not watched.
func (e *Executor) lastWarning(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := e.client.Events(e.ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.kind": "Job", "involvedObject.name": name, "type": corev1.EventTypeWarning}.String(),
	})
	if err != nil {
		e.log.Debug("read the Job's events", "job", name, "err", err)
		return ""
	}
	var last *corev1.Event
	for i := range list.Items {
		if ev := &list.Items[i]; last == nil || eventTime(ev).After(eventTime(last)) {
			last = ev
		}
	}
	if last == nil {
		return ""
	}
	return message(last.Message, last.Reason)
}

func eventTime(ev *corev1.Event) time.Time {
	if !ev.LastTimestamp.IsZero() {
		return ev.LastTimestamp.Time
	}
	return ev.EventTime.Time
}

// failLocked ends an attempt that cannot run and deletes its Job (and with it the pod and Secret).
func (e *Executor) failLocked(a *attempt, reason string) {
	e.log.Info("job cannot run", "job", a.name, "reason", reason)
	a.endLocked(executor.Result{ExitCode: notStarted, Reason: reason}, false)
	name := a.name
	go func() {
		err := e.client.Jobs(e.ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if err != nil && !apierrors.IsNotFound(err) {
			e.log.Warn("delete Job", "job", name, "err", err)
		}
	}()
}

// reapAfter is how long the containers after a failed step may take to end by themselves.
const reapAfter = 30 * time.Second

// reapLater deletes Job name if its pod still runs reapAfter from now: a step ended without marking its end,
// and the ones after it still wait for it.
func (e *Executor) reapLater(name, pod string) { e.reapAfter(name, pod, reapAfter) }

// reapAfter is reapLater after d.
func (e *Executor) reapAfter(name, pod string, d time.Duration) {
	time.AfterFunc(d, func() {
		p, err := e.pods.Pods(e.ns).Get(pod)
		if err != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
			return
		}
		e.log.Info("the containers after a failed one still wait: stopping the pod", "job", name, "pod", pod)
		err = e.client.Jobs(e.ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if err != nil && !apierrors.IsNotFound(err) {
			e.log.Warn("delete Job", "job", name, "err", err)
		}
	})
}

// message is "reason: message" without empty parts, on one line, at most 1 KiB.
func message(msg, reason string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	switch {
	case msg == "":
		msg = reason
	case reason != "" && !strings.HasPrefix(msg, reason):
		msg = reason + ": " + msg
	}
	if len(msg) > 1024 {
		msg = msg[:1024] + "…"
	}
	return msg
}
