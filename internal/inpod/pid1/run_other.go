//go:build !unix

package pid1

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// Run is PID 1 of a job's container, which runs only in a Linux container: elsewhere it fails.
func Run(args []string, getenv func(string) string, stdout *os.File, stderr io.Writer) int {
	return RunStep(Step{}, args, getenv, stdout, stderr)
}

// RunStep is Run as a step: elsewhere it fails too.
func RunStep(step Step, args []string, getenv func(string) string, stdout *os.File, stderr io.Writer) int {
	WriteMarker(step.Done, -1)
	fmt.Fprintf(stderr, Name+": not supported on %s\n", runtime.GOOS)
	return 1
}

// WaitRead does nothing: jobs run in Linux containers only.
func WaitRead(*os.File, int64) {}
