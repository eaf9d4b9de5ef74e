// Command runplane-pid1 is PID 1 of a Kubernetes job's container (`runplane-pid1 -- sh -c <command>`): see
// internal/inpod/pid1. runplane's image carries it next to runplane; the init container copies it into the pod.
package main

import (
	"os"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

func main() { os.Exit(pid1.Main(os.Args[1:])) }
