// Package executortest is the conformance suite every executor.Executor backend runs: the job contract of
// CONTRACTS.md §1 (checkout, command, environment, secrets, output, exit codes) and the Executor interface's
// promises (Stop ends a whole process tree, several Waits, unknown handles).
//
// A backend calls Run from its own test with a Config saying how to make executors and where to publish test
// repositories. The suite uses real git repositories (gitsource/gittest) and real processes; it must never
// depend on one backend's internals, so that the local and the Kubernetes executor pass the same tests.
package executortest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// Config says how to run the suite against one backend.
type Config struct {
	// New returns a fresh executor; it is called once per test, and the executor may be shared by parallel
	// subtests. Clean up through t.Cleanup.
	New func(t *testing.T) executor.Executor
	// Repo publishes a repository with the given branches (branch → path → content) where the executor can
	// fetch it and returns it with Branch empty. FileRepo does it for executors on this host.
	Repo func(t *testing.T, branches map[string]map[string]string) executor.Repo
	// AllowEnv names environment variables the backend's platform adds to every job beyond the contract
	// (Kubernetes adds KUBERNETES_SERVICE_HOST, HOSTNAME, ...). The shell's own (PWD, SHLVL, OLDPWD, _) are
	// always allowed.
	AllowEnv []string
	// LocalProcesses says jobs run on this host, so the suite can check in /proc that a stopped job left no
	// process behind.
	LocalProcesses bool
	// Timeout bounds each job of the suite; default 60s.
	Timeout time.Duration
	// Image is the runner image of every job (container executors run it); it needs a POSIX sh and coreutils
	// such as busybox's.
	Image string
	// LosesFailedFiles says the executor cannot keep the files of an attempt one of whose containers failed
	// (Kubernetes: the pod ends at the failing container, before the one that brings the files back); such an
	// attempt must then say so in a Result warning.
	LosesFailedFiles bool
}

// FileRepo is a Config.Repo for executors that can read this host's files: a bare repository in t.TempDir with
// a file:// URL.
func FileRepo(t *testing.T, branches map[string]map[string]string) executor.Repo {
	t.Helper()
	bare := gittest.NewRepo(t, branches["main"])
	for b, files := range branches {
		if b != "main" {
			gittest.CommitBranch(t, bare, b, files)
		}
	}
	return executor.Repo{URL: gittest.URL(bare)}
}

// Run runs the whole suite.
func Run(t *testing.T, cfg Config) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if err := os.Setenv(sentinelName, sentinelValue); err != nil {
		t.Fatal(err)
	}
	s := &suite{cfg: cfg, ex: cfg.New(t)}
	s.repo = cfg.Repo(t, map[string]map[string]string{
		"main":      {"hello.txt": "hello from main\n", "bin/show.sh": "#!/bin/sh\necho \"show $1\"\n"},
		"feature/x": {"hello.txt": "hello from feature/x\n"},
	})
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"ExitCodes", testExitCodes},
		{"ExtraVarsVerbatim", testExtraVarsVerbatim},
		{"ExtraVarsUnsetWhenNil", testExtraVarsUnset},
		{"Secrets", testSecrets},
		{"SecretsPrivateToJob", testSecretsPrivate},
		{"NoSecrets", testNoSecrets},
		{"IdentityEnv", testIdentityEnv},
		{"NoServerEnv", testNoServerEnv},
		{"WorkdirIsCheckout", testWorkdirIsCheckout},
		{"Branch", testBranch},
		{"FreshCheckoutPerJob", testFreshCheckout},
		{"OutputInOrder", testOutputInOrder},
		{"OutputToWriter", testOutputToWriter},
		{"StartFailsOnBadCheckout", testBadCheckout},
		{"StopEndsTree", testStopEndsTree},
		{"StopDeliversSIGTERM", testStopGraceful},
		{"StopPlainCommandPromptly", testStopPlainCommand},
		{"ManyWaiters", testManyWaiters},
		{"StopFinished", testStopFinished},
		{"UnknownHandle", testUnknownHandle},
		{"ConcurrentJobs", testConcurrentJobs},
		{"ConcurrentWorkspaces", testConcurrentWorkspaces},
		{"ContainersShareDirs", testContainersShareDirs},
		{"ContainersFailureStopsTheRest", testContainersFailureStops},
		{"ContainersStop", testContainersStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, s)
		})
	}
}

type suite struct {
	cfg  Config
	ex   executor.Executor
	repo executor.Repo
}

// spec returns a Spec for command against the suite's repository, with output to a new temp file.
func (s *suite) spec(t *testing.T, command string) (executor.Spec, *os.File) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	id := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(id) > 40 {
		id = id[len(id)-40:]
	}
	return executor.Spec{
		JobID: "job-" + strings.Trim(id, "-"), Task: "conformance", Runner: "suite-runner", Owner: "tester",
		Repo: s.repo, Command: command, Output: out, Timeout: s.cfg.Timeout, Image: s.cfg.Image,
	}, out
}

// start starts spec and fails the test on error. Like the job engine, it closes its copy of an *os.File output
// once Start returned: the attempt must go on writing to its own (tests read the output by name).
func (s *suite) start(t *testing.T, spec executor.Spec) executor.Handle {
	t.Helper()
	h, err := s.ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start(%q): %v", spec.Command, err)
	}
	if f, ok := spec.Output.(*os.File); ok {
		f.Close()
	}
	return h
}

// wait waits for h within the suite's timeout.
func (s *suite) wait(t *testing.T, h executor.Handle) executor.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), s.cfg.Timeout)
	defer cancel()
	r, err := s.ex.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait(%s): %v", h, err)
	}
	return r
}

// run starts spec, waits, and returns the result and the output.
func (s *suite) run(t *testing.T, spec executor.Spec, out *os.File) (executor.Result, string) {
	t.Helper()
	r := s.wait(t, s.start(t, spec))
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return r, string(b)
}

// waitOutput waits until the output file contains want.
func waitOutput(t *testing.T, out *os.File, want string, within time.Duration) {
	t.Helper()
	waitFor(t, within, "output to contain "+want, func() bool {
		b, _ := os.ReadFile(out.Name())
		return strings.Contains(string(b), want)
	})
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// LockedBuffer is an io.Writer safe for concurrent use that is not an *os.File (for the executor's copying path).
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretDirWarned reports whether the result says secrets are in $RUNPLANE_SECRET_DIR instead of /etc/secret.
func secretDirWarned(r executor.Result) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, "RUNPLANE_SECRET_DIR") {
			return true
		}
	}
	return false
}

// sentinelName is set in the test process's environment; no job may see it.
const (
	sentinelName  = "RUNPLANE_EXECUTORTEST_SENTINEL"
	sentinelValue = "server-env-must-not-leak-7f3a"
)
