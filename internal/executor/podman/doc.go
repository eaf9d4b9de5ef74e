// Package podman runs job attempts as podman containers on this host: the container isolation mode of embedded
// runplane (`--isolation container`), where each attempt runs in its runner's image.
//
// An attempt is one container, created by `podman create` and attached by `podman start --attach` (the podman
// CLI, run without a shell and with a clean environment). The runner's branch is checked out on the host into a
// directory of the attempt's own under Options.WorkDir, owned by the job's uid and bind-mounted at /workspace (the
// working directory and HOME); secrets are files in a private directory next to it, mounted read-only at
// /etc/secret, and environment variables. The container is hardened as the Kubernetes executor's pods are: uid
// 65532, every capability dropped, no-new-privileges, podman's default seccomp profile, a read-only root file
// system with a tmpfs /tmp, no network unless the task asks (Spec.Network: none; private is podman's bridge, a
// network namespace of the job's own behind NAT; host is the host's), ulimits and the task's cpu, memory and pids
// limits. An image missing from podman's store is pulled with the runner's credentials (Spec.PullSecret, a docker
// config.json written to a 0600 file in the attempt's directory for `podman create --authfile`, removed when it
// returns); a failed pull fails Start with podman's reason.
// catatonit (`--init`) is PID 1, so SIGTERM reaches the command; the command's stderr is merged into its stdout
// inside the container, so the log keeps their order. A workflow step's containers run their command under
// runplane-forward, which leads their own loopback to the server's metadata API socket, both mounted read-only
// (Options.Metadata, metadata.go): the API without a network.
//
// Attempts outlive the server (conmon supervises them): Durable is true, Find finds an attempt by the job's label
// (runplane.dev/job) and Recover re-attaches to it, replaying its whole log from podman's log file
// (OutputReplayer) and then reading its end from podman. A finished attempt's container, workspace and secrets
// are removed.
//
// This package must never put a secret, the job input or the repository token into podman's argv (they reach
// podman through its environment, `--env NAME` without a value), never run a job as root or with capabilities,
// never give a job the host's network unless its task asks, never put registry credentials anywhere but that file,
// and never import another executor backend.
package podman
