//go:build !unix

package inpod

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// RunCommand is `runplane pod run`, which runs only in a Linux container: elsewhere it fails.
func RunCommand(args []string, getenv func(string) string, stdout *os.File, stderr io.Writer) int {
	fmt.Fprintf(stderr, "runplane pod run: not supported on %s\n", runtime.GOOS)
	return 1
}
