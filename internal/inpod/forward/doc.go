// Package forward is the metadata API's way into a podman container without a network (see executor/podman): a
// small program, runplane-forward, that a workflow step's container runs as its command under catatonit:
//
//	runplane-forward --listen 127.0.0.1:PORT --socket /.runplane/metadata/api.sock -- COMMAND [ARG...]
//
// It listens on the container's own loopback and copies each connection to and from the server's Unix socket,
// mounted read-only into the container, while it runs COMMAND as its child: stdin, stdout, stderr, environment
// and working directory unchanged, in a process group of its own to which it forwards SIGTERM, SIGINT, SIGHUP
// and SIGQUIT. It exits with COMMAND's exit code (128+signal when a signal killed it). So a step reaches
// http://127.0.0.1:PORT/api/v1/metadata with the network none, and nothing else of the host.
//
// The socket is the server's concern: what it serves there (the metadata API's routes and nothing else) is all
// a container can reach through it. This package never reads or logs what it copies, adds nothing to COMMAND's
// output but a line on stderr when COMMAND cannot start, and imports only the standard library and pid1 (it is
// linked into runplane-pid1, which test/arch keeps small and static).
package forward
