// Package local runs job attempts as processes on this host: the embedded mode's executor.
//
// Each attempt gets a fresh checkout (through gitsource) in its own workspace and runs `sh -c <command>` there
// with exactly the job contract's environment (CONTRACTS.md §1) and nothing from the server's own. Where the host
// allows it (root, or unprivileged user namespaces), the job runs in a sandbox (sandbox.go) that is a security
// boundary: a root of its own with the host's /usr and /etc read-only, its checkout at /workspace, private /tmp,
// its secrets on a read-only tmpfs at /etc/secret; its own PID and mount namespaces and the jobs' IPC namespace;
// chrooted, with no_new_privs and a seccomp filter; as root, a user id of its own (uid.go) without capabilities.
// It cannot see the data dir, the server or other jobs. In every mode it shares the host's network, loopback
// included (so that it can reach the server there); a task that asks for network none or private gets a warning. The job's shell is PID 1 of its PID namespace and dies
// (kernel Pdeathsig) with the server, so a crash or kill -9 of the server takes every process of every job with
// it. Isolation none runs jobs as the server's user with its view of the host, and says it is no boundary.
//
// Speed: as root the sandbox is set up inside the server process. The mounts every job shares are made once, in
// a template mount namespace (template.go). A job runs on an OS thread of its own, prepared ahead (a copy of the
// template, a /tmp, the seccomp filter: threads.go), which adds the job's few mounts, forks the shell with
// CLONE_NEWPID into its control group if it has limits (cgroup), waits on it, and, the job over, empties its
// sandbox and serves the next job. Without root the launcher (this binary re-executed with LauncherArg, in new
// user, mount, IPC and PID namespaces) builds the same sandbox from inside: slower (one more Go process per job)
// but unprivileged. Binaries and test binaries that may run jobs call MaybeRunLauncher first thing in main /
// TestMain.
//
// In every mode a job's processes end with its shell: when it exits, whatever it left running is killed. Without
// namespaces that means its process group; a process that starts a new session of its own escapes it.
//
// This package must never pass secrets through argv or the launcher's environment, never let the server's
// environment reach a job, never let a job see the server's files or processes in a sandbox mode, never hard-link
// checkouts, and never import another executor backend.
package local
