package pid1

import "os"

// Name is the program's name: the file the init container copies into the pod, which the job's container runs.
const Name = "runplane-pid1"

// Main is the program `runplane-pid1 [--] COMMAND [ARG...]`: Run with this process's environment, stdout and
// stderr. It returns the exit code.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	return Run(args, os.Getenv, os.Stdout, os.Stderr)
}
