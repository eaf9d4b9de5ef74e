// Package inpod is what runs inside a Kubernetes job's pod (see executor/kubeexec). Its subpackage pid1 is PID 1
// of the job's container; this package is the init container's work, and the keep container's.
//
// RunCheckout (`runplane pod checkout`) runs in the init container, in runplane's own image, which has no git
// binary: it clones the runner's branch with go-git (depth 1, one branch, token as HTTP basic auth) into the
// workspace, copies the job's secrets from the mounted Secret volume into a memory emptyDir as 0400 files, and
// copies runplane-pid1 (CopyPID1) into a shared emptyDir so that the job's container can run it. A job without a
// repository (EnvNoGit) skips the clone; a multi-container job's input files are copied into its input directory.
//
// RunKeep (`runplane pod keep`) is the last container of a multi-container job whose files are kept: it prints
// the output and metadata directories as a bounded archive to its log (WriteKeep), which the executor, reading the
// log, extracts with ExtractKeep — written for input a job may have shaped.
//
// Everything the command knows comes from its environment (the Env* constants) and its files. This package must
// never talk to the Kubernetes API and never print or write the repository token anywhere (messages carry URLs
// without user info and are scrubbed of the token).
package inpod
