// Command runplane-pid1 is PID 1 of a Kubernetes job's container (`runplane-pid1 -- sh -c <command>`): see
// internal/inpod/pid1. runplane's image carries it next to runplane; the init container copies it into the pod.
// Called runplane-forward (mounted so into a workflow step's podman container), it is that program: see
// internal/inpod/forward.
package main

import (
	"os"
	"path/filepath"

	"github.com/runplane/runplane/internal/inpod/forward"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

func main() {
	if filepath.Base(os.Args[0]) == forward.Name {
		os.Exit(forward.Main(os.Args[1:]))
	}
	os.Exit(pid1.Main(os.Args[1:]))
}
