// Package executor declares how a job attempt runs: the Executor interface, its Spec, Handle and Result, and
// optional capabilities as extra interfaces. Backends live in sub-packages (local, later kubeexec) and all pass
// executortest.Run. This package must never import a backend.
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
)

// ErrNotFound: the attempt a handle names is gone (Recover, Wait, Logs).
var ErrNotFound = errors.New("executor: attempt not found")

// Repo is where the job's working directory comes from.
type Repo struct {
	URL    string
	Branch string // empty: api.DefaultBranch
	Token  string // for https; never logged, never in argv, env or errors
}

// Spec is one job attempt to run.
type Spec struct {
	JobID  string
	Task   string
	Runner string
	Owner  string
	Image  string // used by container executors; recorded but unused by the local one
	Repo   Repo
	// Command runs as `sh -c Command` in the checkout. Empty when Containers is set.
	Command string
	// Containers, when set instead of Command, run in order in one workspace, sharing the input, output and
	// metadata directories (api.InputDir, ... where the executor can mount them, and always named by the env
	// api.EnvInputDir, ...), plus the checkout when Repo.URL is set; the first that fails ends the attempt and the
	// rest do not run. Each container's output is preceded by a header line naming it. Result.Containers says
	// how each ran. A container with no Command runs its image's entrypoint: executors without images refuse it
	// at Start with an error that names the container isolation mode.
	Containers []api.Container
	// InputFiles are written into the input directory before the first container starts (e.g. object.yaml),
	// by base name.
	InputFiles map[string][]byte
	// Keep, when set, is a directory of the server's where the executor leaves what the containers wrote once
	// the attempt ended: Keep/output (the output directory) and Keep/metadata (the metadata directory).
	// An executor that cannot bring the files back says so in a Result warning.
	Keep string
	// ExtraEnv is more of the job's environment (NAME=value), after the contract's: a workflow step's
	// RUNPLANE_METADATA_URL, say. Env includes it. Values that must stay secret go in Secrets instead.
	ExtraEnv []string
	// ExtraVars is the job input, set as env EXTRA_VARS; nil leaves it unset.
	ExtraVars []byte
	// Secrets become files /etc/secret/<key> (read-only) and env vars <key>.
	Secrets map[string]string
	// Timeout, if positive, is a limit executors may also enforce natively; the engine enforces it regardless.
	Timeout time.Duration
	// Output receives the attempt's stdout and stderr, interleaved. An *os.File is handed to the process directly,
	// and the caller may close its copy once Start returned (an executor that writes to it later holds one of its
	// own: HoldOutput). The executor does not close the caller's.
	Output io.Writer
	// Kubernetes is the task's placement and resources for container executors; others ignore it. May be nil.
	Kubernetes *api.TaskKubernetes
	// Limits bound what the attempt may use, in every executor (the task's resources limits).
	Limits Limits
	// Network is the task's network (api.ValidateNetwork): "" or api.NetworkNone for no network, api.NetworkPrivate
	// or api.NetworkHost. Each executor's doc says what it gives.
	Network string
	// PullSecret is the runner's image pull secret, a docker config.json with credentials for pulling Image; ""
	// for none. Container executors that pull use it; it never goes to argv, the job's environment or a log.
	PullSecret string
}

// Limits bound what one attempt may use; a zero field sets no limit.
type Limits struct {
	CPU    int64 // millicores: 1000 is one CPU
	Memory int64 // bytes; an attempt over it ends with ReasonOOM
	Pids   int64 // processes and threads at once
}

// IsZero reports whether l limits nothing.
func (l Limits) IsZero() bool { return l == Limits{} }

// ReasonOOM is Result.Reason of an attempt killed for using more memory than Limits.Memory.
const ReasonOOM = "oom"

// Validate checks what every executor needs of a spec: a command, no NUL byte in the command, input, identity and
// secrets (they become argv and environment), secret names that are valid environment variable names, no
// negative limit and a known network. Executors add their own checks.
func (s Spec) Validate() error {
	if s.Command == "" && len(s.Containers) == 0 {
		return errors.New("empty command")
	}
	if strings.IndexByte(s.Command, 0) >= 0 || strings.IndexByte(string(s.ExtraVars), 0) >= 0 {
		return errors.New("command and input must not contain NUL bytes")
	}
	for _, v := range []string{s.JobID, s.Task, s.Runner, s.Owner} {
		if strings.IndexByte(v, 0) >= 0 {
			return errors.New("job identity must not contain NUL bytes")
		}
	}
	for k, v := range s.Secrets {
		if k == api.EnvStepToken {
			continue // the engine's own: a workflow step's token
		}
		if err := api.ValidateSecretKey(k); err != nil {
			return err
		}
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("secret %s must not contain NUL bytes", k)
		}
	}
	if err := s.validateContainers(); err != nil {
		return err
	}
	if err := s.validateExtraEnv(); err != nil {
		return err
	}
	if l := s.Limits; l.CPU < 0 || l.Memory < 0 || l.Pids < 0 {
		return fmt.Errorf("limits %+v: negative", l)
	}
	return api.ValidateNetwork(s.Network)
}

// Env is the environment of the job contract that every executor gives a job (CONTRACTS.md §1), as NAME=value:
// RUNPLANE_JOB_ID, _TASK, _RUNNER and _OWNER, EXTRA_VARS when the spec has input, ExtraEnv, and one variable per
// secret, sorted. Executors add what their platform needs (PATH, HOME, ...), nothing of the server's own.
func (s Spec) Env() []string {
	env := make([]string, 0, 5+len(s.ExtraEnv)+len(s.Secrets))
	env = append(env,
		"RUNPLANE_JOB_ID="+s.JobID,
		"RUNPLANE_TASK="+s.Task,
		"RUNPLANE_RUNNER="+s.Runner,
		"RUNPLANE_OWNER="+s.Owner,
	)
	if s.ExtraVars != nil {
		env = append(env, "EXTRA_VARS="+string(s.ExtraVars))
	}
	env = append(env, s.ExtraEnv...)
	for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
		env = append(env, k+"="+s.Secrets[k])
	}
	return env
}

// WaitDone is the body of an executor's Wait: it blocks until done is closed, then returns a copy of *r (which
// must be final by then), or until ctx is done.
func WaitDone(ctx context.Context, done <-chan struct{}, r *Result) (Result, error) {
	select {
	case <-done:
		res := *r
		res.Warnings = append([]string(nil), r.Warnings...)
		res.Containers = append([]api.ContainerStatus(nil), r.Containers...)
		return res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Handle names a started attempt. It is an opaque string that can be persisted and handed to Recover by a later process.
type Handle string

// Result is how an attempt ended.
type Result struct {
	ExitCode int
	// Reason is set when the attempt did not end by exiting on its own (for example "signal: killed").
	Reason string
	// Warnings say what the executor could not provide as asked (for example no private /etc/secret mount).
	Warnings []string
	// Containers is how each of Spec.Containers ran, in order (those after a failed one did not start); nil for
	// a Command attempt.
	Containers []api.ContainerStatus
}

// Executor runs job attempts. Implementations are safe for concurrent use.
type Executor interface {
	// Start launches spec and returns at once with a Handle that can be persisted. An error means nothing runs;
	// errors wrap the cause (a failed checkout says so) and never include the repository token.
	Start(ctx context.Context, spec Spec) (Handle, error)
	// Wait blocks until the attempt ends or ctx is done and returns its Result. Several callers may wait on
	// one handle. ErrNotFound if the handle is unknown to this executor.
	Wait(ctx context.Context, h Handle) (Result, error)
	// Stop asks the attempt to end (SIGTERM to its whole process tree), then kills it after grace.
	// Stopping a finished or unknown attempt is not an error.
	Stop(ctx context.Context, h Handle, grace time.Duration) error
	// Recover re-attaches to an attempt started by an earlier process, so Wait and Stop work on it; ErrNotFound if
	// it is gone. An executor that cannot re-attach makes sure the attempt's processes are gone and returns ErrNotFound.
	// output receives the rest of the attempt's output (appended to what an earlier process wrote).
	Recover(ctx context.Context, h Handle, output io.Writer) error
}

// OutputReplayer is implemented by executors whose Recover writes an attempt's output again from its beginning
// (a Kubernetes pod keeps its whole log). The caller starts the attempt's log over instead of appending to it.
type OutputReplayer interface {
	ReplaysOutput() bool
}

// Durable is implemented by executors whose attempts outlive the process that started them (Kubernetes Jobs).
// A server shutting down leaves such attempts running, for the next server (or another replica) to Recover,
// instead of stopping them.
type Durable interface {
	Durable() bool
}

// Finder is implemented by executors that can find the attempt of a job by the job's id alone (Kubernetes Jobs carry
// it in a label). A server that stopped between starting an attempt and recording its handle leaves a job running
// without one; the next server finds it instead of calling it orphaned. ErrNotFound if there is none.
type Finder interface {
	Find(ctx context.Context, jobID string) (Handle, error)
}
