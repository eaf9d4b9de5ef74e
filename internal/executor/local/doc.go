// Package local runs job attempts as processes on this host: the embedded mode's executor.
//
// Each attempt gets a fresh checkout (through gitsource) in its own workspace and runs `sh -c <command>` there
// with exactly the job contract's environment (CONTRACTS.md §1) and nothing from the server's own. Where the host
// allows it (root, or unprivileged user namespaces), the job runs in a sandbox (sandbox.go) that is a security
// boundary: a root of its own with the host's /usr and /etc read-only, its checkout at /workspace, private /tmp,
// its secrets on a read-only tmpfs at /etc/secret; a PID namespace and a mount namespace apart from the host's and
// the jobs' IPC namespace; chrooted, with no_new_privs and a seccomp filter; as root, a user id of its own (uid.go)
// without capabilities. It cannot see the data dir, the server or other jobs. In every mode it shares the host's
// network, loopback included (so that it can reach the server there); a task that asks for network none or
// private gets a warning. Every process of a sandboxed job dies with the server, even after a crash or kill -9:
// the namespace's init dies (kernel Pdeathsig) with the thread that made it, and the kernel then kills the rest.
// Isolation none runs jobs as the server's user with its view of the host, and says it is no boundary.
//
// Speed: as root the sandbox is set up inside the server process. The mounts every job shares are made once, in
// a template mount namespace (template.go). A job runs on an OS thread of its own, prepared ahead (a copy of the
// template, a /tmp, the seccomp filter, a PID namespace with its init and its /proc: threads.go, pidns.go), which
// adds the job's few mounts, forks the shell into its control group if it has limits (cgroup), waits on it, kills
// what it left running (when the kernel's lists of the thread's and the init's children show that it left
// nothing, which is the rule, without a look through /proc), and, the job over, empties its sandbox and serves the
// next job: one job at a time per thread and PID namespace, none started before everything of the one before is
// gone. A thread waits up to 30 s for its next job, then ends. (On kernels before 6.18,
// which cannot mount a proc for the thread's PID namespace, each job forks its shell into a PID namespace of its
// own instead, PID 1 of it.) Without root the launcher (this binary re-executed with LauncherArg, in new user,
// mount, IPC and PID namespaces) builds the same sandbox from inside: slower (one more Go process per job) but
// unprivileged. Binaries and test binaries that may run jobs call MaybeRunLauncher first thing in main /
// TestMain.
//
// Decided by measuring (issue 10, item 6, BenchmarkThroughput beside the pre-sandbox binary): a PID namespace per
// job cost a proc mount and unmount and the kernel's teardown of the namespace, which put the jobs' own CPU 0.3-0.4
// ms above the baseline's; with one per thread it is at par (0.02-0.11 ms on the quieter runs), for a look at the
// namespace's /proc (two entries when nothing was left) when a job ends and a shell and a sleep per thread.
// Profiling the server under the benchmark then showed two costs the baseline has not: that look through /proc
// (twice per job: open, getdents, and a status file read per process), 8 % of the server's CPU samples, now two
// reads of the children lists when the job left nothing; and thread churn: threads ended whenever 8 others
// waited, so the benchmark's bursts ended and prepared again ~700 threads per 15,000 jobs (each a namespace
// set-up, a proc mount, an init), now 37 with the idle timeout. The executor's share of the server's CPU samples
// (a 20-25 s profile in a round of each binary) is now the baseline's, 23 % against 22 %: what remains of the
// server's CPU above the baseline's is mostly outside it (one run with isolation none on both binaries: the
// server's +0.4 ms/job, vs-baseline 1.17, the other changes since the baseline). BenchmarkThroughput, six runs
// of -benchtime 1x and one of 2x on 2 vCPUs shared with other engineers' builds and benchmarks (load average
// 16-73): vs-baseline 0.987, 1.040, 0.857, 0.854, 0.995, 1.161, 0.876, mean 0.97 (before these two changes: mean
// 0.854); the jobs' CPU -0.7 to +0.9 ms/job from the baseline's (mean -0.07), the server's +0.2 to +1.9 (mean
// +0.91).
//
// In every mode a job's processes end with its shell: when it exits, whatever it left running is killed (in a
// sandbox, everything in its PID namespace). Without namespaces that means its process group; a process that
// starts a new session of its own escapes it.
//
// This package must never pass secrets through argv or the launcher's environment, never let the server's
// environment reach a job, never let a job see the server's files or processes in a sandbox mode, never hard-link
// checkouts, and never import another executor backend.
package local
