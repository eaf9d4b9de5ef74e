// Package kubeexec runs job attempts as Kubernetes Jobs: the distributed mode's executor.
//
// Each attempt is one batch/v1 Job in the configured namespace (backoffLimit 0: the engine owns retries). Its pod
// has a checkout container running runplane's own image (`runplane pod checkout`): it clones the runner's branch (if any) into
// an emptyDir, copies the job's secrets from a per-attempt Secret to a memory emptyDir that the job sees read-only
// at /etc/secret, and copies runplane-pid1 (a 2 MB static program, package inpod/pid1) into the pod. The job's
// container starts beside it (podShape: each init container would cost a kubelet relist), waits in sh for the
// checkout's ready marker, then runs the runner's image with that program as PID 1 (`runplane-pid1 -- sh -c <command>`): it forwards SIGTERM to the whole process tree,
// merges stderr into stdout in order, and reports in the termination message a death by signal and the length of
// the output (the log stream is read until it has all of it: it can end before the log file does). Pods are
// hardened by default (non-root, no capabilities, no privilege escalation, seccomp RuntimeDefault, read-only root
// filesystem, no service account token). A task's network host is the pod's hostNetwork; none and private run on
// the pod network (a pod cannot go without one: a NetworkPolicy restricts it). Spec.PullSecret is not used: a
// task names the namespace's pull Secrets in kubernetes.imagePullSecrets.
//
// A plain command job — no secrets, no input files, its repository's tree at most maxTree — runs in ONE container
// instead (fastpath.go): no checkout container, no runplane-pid1. The server archives the tree from its git cache
// into the Secret (the pod never gets the token); the container's PID 1 is sh running a wrapper that extracts it
// into the workspace (the image needs tar), merges stderr into stdout, passes a stop signal to every process of the
// container, and ends the log with a marker line carrying a per-attempt nonce and the exit status. The log reader
// strips the marker and ends the attempt when it has it (a marker that reaches it with more output after it is
// output; a job that reads the nonce from PID 1's arguments can end its own log early, nothing more); the wrapper
// waits, after it, for the executor's word that the log is read (a pod annotation it sees in a downward API volume),
// because containerd drops the output still in the pipe when PID 1 exits. A job with secrets keeps the checkout
// container: its secret files are 0400 files the job owns, which only a copy makes.
//
// A job of several containers (Spec.Containers) is one pod too: after the checkout (an init container), its
// containers up to the last one without a command are init containers in order, and the rest start together,
// ordered by runplane-pid1's done-markers (podShape), sharing the input, output and metadata emptyDirs (each mounted
// at its /runplane and its /kratix path); its input files travel in the Secret and the checkout copies them in. The
// attempt's output is each container's log in turn under a header line; the annotation runplane.dev/containers
// names them for Recover. With Spec.Keep, a last container in runplane's image (`runplane pod keep`) prints an
// archive of the output and metadata directories to its log, which the executor extracts into Spec.Keep.
//
// The executor watches (informers on the Jobs and Pods it labels), never polls: it learns that a job ended from
// its container's state, streams the container's log into the attempt's Output while it runs (so logs outlive the
// pod), fails attempts whose pod can never start (image pull errors, bad configuration, unschedulable past
// Options.StartTimeout) and deletes their Job. After a restart, Recover re-adopts a running Job by its name.
//
// It talks to the cluster through its own Client, which knows core/v1 and batch/v1 only: client-go's clientset and
// informer factory import every API group, which would add minutes to runplane's cold build (test/arch checks the
// binary stays without them).
//
// This package must never put a secret, an input file, the repository token or a repository's files into a Job or
// Pod spec (they travel in a Secret), never poll the API on a timer, and never import another executor backend.
package kubeexec
