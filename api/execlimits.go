package api

import "strings"

// What the job contract puts into a job's argv and environment must fit Linux's exec limits, or every job of the
// runner or task fails at start with "argument list too long". These checks refuse it when it is saved or
// submitted instead.
const (
	// MaxEnvEntry is Linux's MAX_ARG_STRLEN: no argument and no NAME=value may be longer, its NUL included.
	MaxEnvEntry = 128 << 10
	// MaxJobEnv bounds the whole argv and environment of the job contract. Linux allows a quarter of the stack
	// limit (2 MiB with the usual 8 MiB); half of that leaves room for what executors add, and fits a Kubernetes
	// pod spec too.
	MaxJobEnv = 1 << 20
	// MaxSecretEnv bounds the environment a runner's secret map takes, so that a job's input still has room.
	MaxSecretEnv = MaxJobEnv / 2
	// envOverhead is what the contract adds beyond secrets, input and command: RUNPLANE_* variables, PATH, HOME,
	// "sh" and "-c", with room to spare.
	envOverhead = 4 << 10
)

// envSize is what one NAME=value (or one argument, with name "") takes: the string, its NUL and its pointer.
func envSize(name, value string) int {
	n := len(value) + 1 + 8
	if name != "" {
		n += len(name) + 1
	}
	return n
}

// secretEnvSize is what a secret map takes in the environment.
func secretEnvSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += envSize(k, v)
	}
	return n
}

// checkEnvValue refuses a value that cannot be one NAME=value of an environment.
func checkEnvValue(what, name, value string) error {
	if strings.IndexByte(value, 0) >= 0 {
		return Invalidf("%s must not contain NUL bytes", what)
	}
	if len(name)+1+len(value)+1 > MaxEnvEntry {
		return Invalidf("%s is %d bytes: as the environment variable %s it must stay under %d KiB", what, len(value), name, MaxEnvEntry>>10)
	}
	return nil
}

// CheckJobInput refuses an input (the job request body, nil for none) that, with the task's command and the
// runner's secrets, would not fit into a job's environment: EXTRA_VARS is one environment variable.
func CheckJobInput(t Task, r Runner, input []byte) error {
	if input == nil {
		return nil
	}
	if n := len("EXTRA_VARS=") + len(input) + 1; n > MaxEnvEntry {
		return Invalidf("input is %d bytes: it is passed as the environment variable EXTRA_VARS, which must stay under %d KiB", len(input), MaxEnvEntry>>10)
	}
	total := envOverhead + envSize("", t.Command) + secretEnvSize(r.Secret) + envSize("EXTRA_VARS", string(input))
	if total > MaxJobEnv {
		return Invalidf("input is %d bytes: with the runner's secrets and the command, the job's environment would take %d bytes, over the %d KiB a job may have", len(input), total, MaxJobEnv>>10)
	}
	return nil
}
