package kubeexec

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// stepsDir is where the job's containers that start together leave their done-markers (pid1.Step), an emptyDir
// of their own: the tools stay read-only to the job.
const stepsDir = "/run/runplane/steps"

// awaitCheckout is a command job's container command, `sh -c awaitCheckout runplane COMMAND`: it waits for the
// checkout beside it to mark its end, then runs COMMAND (passed as $1, never spliced into the script) under
// runplane-pid1, which the checkout has copied by then. A failed checkout ends it without running anything; its
// report says so, and the executor fails the job with the checkout's own reason. The trap ends the wait when the
// pod is stopped (sh, PID 1, would ignore SIGTERM); exec drops it.
const awaitCheckout = `trap 'exit 143' TERM INT; until [ -e ` + toolsDir + `/` + inpod.ReadyFile + ` ]; do ` +
	`if [ -e ` + toolsDir + `/` + inpod.FailedFile + ` ]; then echo "not run: the checkout failed" >/dev/termination-log 2>/dev/null; exit 1; fi; ` +
	`sleep 0.1 2>/dev/null || sleep 1; done; ` +
	`exec ` + toolsDir + `/` + pid1.Name + ` -- sh -c "$1"`

// podShape splits a pod's containers into init containers and regular ones. The kubelet starts a pod's
// containers one after another when they are init containers, each start waiting for its next relist (a second,
// without evented PLEG), and all its regular containers in one pass; so as many as can start together do, and
// order themselves (Tekton's technique):
//
//   - a command job: the checkout and the job's container, together; the job's container waits for the checkout's
//     ready marker (awaitCheckout).
//   - a job of containers: the checkout first, as an init container: it copies runplane-pid1, which the others
//     need to wait. Then every container up to the last one without a command (it runs its image's entrypoint,
//     which cannot wait) as init containers, as before; the ones after it start together, each one's
//     runplane-pid1 waiting for the previous one's done-marker, and not running its command if that one failed.
//     The keep container (last in run, if any) waits for the last marker in Go.
//
// stepVolume says the pod needs the steps volume, where the markers go.
func podShape(checkout corev1.Container, run []corev1.Container, spec executor.Spec) (init, regular []corev1.Container, stepVolume bool) {
	if len(spec.Containers) == 0 {
		checkout.Env = append(checkout.Env, corev1.EnvVar{Name: inpod.EnvReadyDir, Value: toolsDir})
		return nil, []corev1.Container{checkout, run[0]}, false
	}
	jobs := run
	var keep *corev1.Container
	if len(run) > len(spec.Containers) {
		jobs, keep = run[:len(run)-1], &run[len(run)-1]
	}
	from := 0 // the first of the job's containers that starts with the others
	for i, c := range spec.Containers {
		if len(c.Command) == 0 {
			from = i + 1
		}
	}
	if from == len(jobs) {
		// The last runs its image's entrypoint: all run one after another, as init containers but the last
		// (keep, when there is one).
		if keep != nil {
			return append([]corev1.Container{checkout}, jobs...), []corev1.Container{*keep}, false
		}
		return append([]corev1.Container{checkout}, jobs[:len(jobs)-1]...), jobs[len(jobs)-1:], false
	}
	init = append([]corev1.Container{checkout}, jobs[:from]...)
	together := jobs[from:]
	if len(together) == 1 && keep == nil {
		return init, together, false
	}
	mount := corev1.VolumeMount{Name: "steps", MountPath: stepsDir}
	marker := func(i int) string { return stepsDir + "/" + strconv.Itoa(i) + ".done" }
	for i := range together {
		c := together[i].DeepCopy()
		n := from + i
		args := []string{toolsDir + "/" + pid1.Name, "--done=" + marker(n)}
		if i > 0 {
			args = append(args, "--after="+marker(n-1))
			// Started together, their requests would add up when the pod is scheduled, though they run one at a
			// time: the first asks for the declared requests, the others for none (their limits stay).
			c.Resources = zeroRequests(c.Resources)
		}
		c.Command = append(args, c.Command[1:]...) // c.Command is runplane-pid1 -- COMMAND...
		c.VolumeMounts = append(c.VolumeMounts, mount)
		regular = append(regular, *c)
	}
	if keep != nil {
		k := keep.DeepCopy()
		k.Env = append(k.Env, corev1.EnvVar{Name: inpod.EnvKeepAfter, Value: marker(len(jobs) - 1)})
		mount.ReadOnly = true
		k.VolumeMounts = append(k.VolumeMounts, mount)
		regular = append(regular, *k)
	}
	return init, regular, true
}

// zeroRequests is r with an explicit zero request for every resource it requests or limits (a limit without a
// request would make the request the limit).
func zeroRequests(r corev1.ResourceRequirements) corev1.ResourceRequirements {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return r
	}
	out := corev1.ResourceRequirements{Limits: r.Limits, Requests: corev1.ResourceList{}}
	for n := range r.Requests {
		out.Requests[n] = resource.Quantity{Format: resource.DecimalSI}
	}
	for n := range r.Limits {
		out.Requests[n] = resource.Quantity{Format: resource.DecimalSI}
	}
	return out
}
