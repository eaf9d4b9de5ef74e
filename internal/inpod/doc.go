// Package inpod is what runs inside a Kubernetes job's pod (see executor/kubeexec). Its subpackage pid1 is PID 1
// of the job's container; this package is the init container's work.
//
// RunCheckout (`runplane pod checkout`) runs in the init container, in runplane's own image, which has no git
// binary: it clones the runner's branch with go-git (depth 1, one branch, token as HTTP basic auth) into the
// workspace, copies the job's secrets from the mounted Secret volume into a memory emptyDir as 0400 files, and
// copies runplane-pid1 (CopyPID1) into a shared emptyDir so that the job's container can run it.
//
// Everything the command knows comes from its environment (the Env* constants) and its files. This package must
// never talk to the Kubernetes API and never print or write the repository token anywhere (messages carry URLs
// without user info and are scrubbed of the token).
package inpod
