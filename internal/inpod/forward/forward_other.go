//go:build !unix

package forward

import (
	"fmt"
	"os"
)

// Name is the program's name (see the unix build).
const Name = "runplane-forward"

// Main fails: the forwarder runs in Linux containers only.
func Main([]string) int {
	fmt.Fprintln(os.Stderr, Name+": unix only")
	return 1
}
