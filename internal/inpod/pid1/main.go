package pid1

import (
	"os"
	"strings"
)

// Name is the program's name: the file the init container copies into the pod, which the job's container runs.
const Name = "runplane-pid1"

// Main is the program `runplane-pid1 [--after=FILE] [--done=FILE] [--] COMMAND [ARG...]`: RunStep with this
// process's environment, stdout and stderr. It returns the exit code.
func Main(args []string) int {
	step, args := ParseArgs(args)
	return RunStep(step, args, os.Getenv, os.Stdout, os.Stderr)
}

// ParseArgs splits `[--after=FILE] [--done=FILE] [--] COMMAND [ARG...]` into the Step and the command. Only
// these options, before the command, are runplane-pid1's: kubeexec always ends them with "--".
func ParseArgs(args []string) (Step, []string) {
	var s Step
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return s, args[1:]
		case strings.HasPrefix(a, "--after="):
			s.After = strings.TrimPrefix(a, "--after=")
		case strings.HasPrefix(a, "--done="):
			s.Done = strings.TrimPrefix(a, "--done=")
		default:
			return s, args
		}
		args = args[1:]
	}
	return s, args
}
