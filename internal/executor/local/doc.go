// Package local runs job attempts as processes on this host: the embedded mode's executor.
//
// Each attempt gets a fresh checkout (through gitsource) in its own workspace and runs `sh -c <command>` there
// with exactly the job contract's environment (CONTRACTS.md §1) and nothing from the server's own. Where the host
// allows it, the job runs in its own PID namespace, and in its own mount namespace when it has secrets: they live
// on a private read-only tmpfs at /etc/secret that no other process sees. The job's shell is PID 1 of its PID
// namespace and dies (kernel Pdeathsig) with the server, so a crash or kill -9 of the server takes every process
// of every job with it.
//
// Speed: as root the namespaces are set up inside the server process. The job's goroutine locks an OS thread,
// forks the shell from it with CLONE_NEWPID and waits on it; a job with secrets first unshares the thread's mount
// namespace and mounts them (the thread then dies with the job). Workspaces are directories on a tmpfs shared by
// all jobs (workspace.go), so a job without secrets is one process start, about as cheap as a bare fork/exec of
// sh. Without root the launcher (this binary re-executed with LauncherArg, in new user, mount and PID namespaces)
// does the same from inside: slower (one more Go process per job) but unprivileged. Binaries and test binaries
// that may run jobs call MaybeRunLauncher first thing in main / TestMain.
//
// In every mode a job's processes end with its shell: when it exits, whatever it left running is killed. Without
// namespaces that means its process group; a process that starts a new session of its own escapes it.
//
// This package must never pass secrets through argv or the launcher's environment, never let the server's
// environment reach a job, never hard-link checkouts, and never import another executor backend.
package local
