// Package inpod is what runs inside a Kubernetes job's pod (see executor/kubeexec): the two hidden commands of the
// runplane binary that the pod's containers start.
//
// RunCheckout (`runplane pod checkout`) runs in the init container, in runplane's own image, which has no git
// binary: it clones the runner's branch with go-git (depth 1, one branch, token as HTTP basic auth) into the
// workspace, copies the job's secrets from the mounted Secret volume into a memory emptyDir as 0400 files, and
// copies this very executable into a shared emptyDir so that the job's container can run it.
//
// RunCommand (`runplane pod run -- ARGS...`) is PID 1 of the job's container, in the runner's arbitrary image: it
// starts the command in its own process group with stdout and stderr on one pipe (so they interleave in order),
// which it copies to its stdout, forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to that whole group, reaps orphans,
// and exits with the command's exit code (128+signal when a signal killed it). Its termination message (Report)
// says which signal, and how many bytes of output it copied.
//
// Everything either command knows comes from its environment (the Env* constants) and its files. This package
// must never talk to the Kubernetes API, never print or write the repository token anywhere (messages carry URLs
// without user info and are scrubbed of the token), and, in RunCommand, never add a byte of its own to the job's
// output.
package inpod
