// Package pid1 is PID 1 of a Kubernetes job's container: `runplane-pid1 -- sh -c <command>`, a small program of
// its own (cmd/runplane-pid1) that the init container copies into the pod, so that every pod does not carry a copy
// of the whole runplane binary. `runplane pod run` and a runplane binary called runplane-pid1 run it too.
//
// Run starts the command in its own process group with stdout and stderr on one pipe (so they interleave in
// order), which it copies to its stdout, forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to that whole group, reaps
// orphans, and exits with the command's exit code (128+signal when a signal killed it). Its termination message
// (Report) says which signal, and how many bytes of output it copied; before it exits it waits for the container
// runtime to read that output.
//
// This package imports nothing but the standard library and golang.org/x/sys (test/arch checks it), and never adds
// a byte of its own to the job's output.
package pid1
