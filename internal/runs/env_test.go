package runs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	local.MaybeRunLauncher()
	os.Exit(m.Run())
}

// env is a real SQLite store, a real job engine over the local executor (no sandbox: steps talk to the test
// through files in its directory) and run engines over both, as a server wires them.
type env struct {
	dir   string // the test's files, which steps write to
	st    *sqlite.Store
	files *jobfiles.Store // what jobs of containers kept
	jobs  *jobs.Engine
	stopJ func()

	mu       sync.Mutex
	gate     chan struct{}        // when set, steps' jobs start only once it is closed
	gateJob  func(store.Job) bool // when set, only the jobs it picks wait for gate
	engines  []*runs.Engine
	finished []*runs.Engine // told when a job ends (the job engine's Options.Finished)
}

// newEnv starts the job engine over local processes; it runs until the test ends.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, func(dir string, git *gitsource.Cache) (executor.Executor, error) {
		return local.New(local.Options{WorkDir: dir, Git: git, Isolation: local.IsolationNone})
	})
}

// newEnvWith starts the job engine over the executor newExecutor makes (with its work directory); it runs until
// the test ends.
func newEnvWith(t testing.TB, newExecutor func(workDir string, git *gitsource.Cache) (executor.Executor, error)) *env {
	t.Helper()
	return newEnvKeeping(t, newExecutor, true)
}

// newEnvKeeping is newEnvWith, its job engine keeping the files of jobs of containers only when keep is set.
func newEnvKeeping(t testing.TB, newExecutor func(workDir string, git *gitsource.Cache) (executor.Executor, error), keep bool) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	key, err := secret.LoadOrCreateKey(filepath.Join(e.dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	if e.st, err = sqlite.Open(t.Context(), filepath.Join(e.dir, "runplane.db"), sqlite.Options{Cipher: c}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	git, err := gitsource.New(filepath.Join(e.dir, "git"), gitsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := newExecutor(filepath.Join(e.dir, "work"), git)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := joblog.Open(filepath.Join(e.dir, "logs"), joblog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.files, err = jobfiles.Open(filepath.Join(e.dir, "files")); err != nil {
		t.Fatal(err)
	}
	var files *jobfiles.Store
	if keep {
		files = e.files
	}
	e.jobs = jobs.New(e.st, ex, logs, jobs.Options{
		Files:         files,
		MaxConcurrent: 8,
		StopGrace:     time.Second,
		Exclusive:     true,
		StepEnv: func(ctx context.Context, j store.Job) (jobs.Step, error) {
			e.mu.Lock()
			gate := e.gate
			if e.gateJob != nil && !e.gateJob(j) {
				gate = nil
			}
			e.mu.Unlock()
			if gate != nil {
				<-gate
			}
			return e.engine(0).StepEnv(ctx, j)
		},
		Finished: func(j store.Job) {
			e.mu.Lock()
			tell := append([]*runs.Engine(nil), e.finished...)
			e.mu.Unlock()
			for _, r := range tell {
				r.JobFinished(j)
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.jobs.Run(ctx) }()
	e.stopJ = func() {
		cancel()
		// Stopped while it was still recovering jobs at start (a short test): a clean stop, as for the server.
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("job engine: %v", err)
		}
	}
	t.Cleanup(e.stopJ)
	return e
}

// engineOpts says how a run engine of the env is wired.
type engineOpts struct {
	// wrap, when set, stands between the run engine and the job engine (to inject a failure or a delay).
	wrap func(runs.Jobs) runs.Jobs
	// deaf: the engine is not told when jobs end: only its sweep (or another engine) advances its runs, as when
	// a server stopped between a job's end and the run's advance.
	deaf bool
	// sweep, when positive, runs the engine's sweep every sweep until the test ends.
	sweep time.Duration
}

// addEngine adds a run engine over the env's store and job engine.
func (e *env) addEngine(t testing.TB, o engineOpts) *runs.Engine {
	t.Helper()
	var js runs.Jobs = e.jobs
	if o.wrap != nil {
		// Only Submit and Cancel show through: a wrapper stands in the way of every step's submission, so the
		// engine stores a new run alone and then advances it (the path these tests race), instead of storing it
		// with its first steps' jobs (runs.Preparer).
		js = struct{ runs.Jobs }{o.wrap(js)}
	}
	r := runs.New(e.st, js, runs.Options{SweepInterval: o.sweep})
	e.mu.Lock()
	e.engines = append(e.engines, r)
	if !o.deaf {
		e.finished = append(e.finished, r)
	}
	e.mu.Unlock()
	if o.sweep > 0 {
		e.sweep(t, r)
	}
	return r
}

// sweep runs r's sweep until the test ends.
func (e *env) sweep(t testing.TB, r *runs.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (e *env) engine(i int) *runs.Engine {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.engines[i]
}

// workflow stores w.
func (e *env) workflow(t testing.TB, w api.Workflow) {
	t.Helper()
	if err := e.st.CreateWorkflow(t.Context(), w); err != nil {
		t.Fatal(err)
	}
}

// start starts a run of workflow with r.
func (e *env) start(t *testing.T, r *runs.Engine, workflow, params string) store.Run {
	t.Helper()
	run, created, err := r.Start(t.Context(), runs.Request{Workflow: workflow, Owner: "ann", OwnerID: "u-ann", Parameters: []byte(params)})
	if err != nil || !created {
		t.Fatalf("start a run of %s: created %v, %v", workflow, created, err)
	}
	return run
}

// await waits until run id is final and returns it.
func (e *env) await(t *testing.T, r *runs.Engine, id string) store.Run {
	t.Helper()
	run, err := r.Await(t.Context(), id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Status.Final() {
		for _, j := range e.jobsOf(t, id) {
			t.Logf("job %s of step %s: %s %q", j.ID, j.Step, j.Status, j.Reason)
		}
		t.Fatalf("run %s still %s after a minute: %+v", id, run.Status, run.Steps)
	}
	return run
}

// waitFor polls cond until it holds; at the deadline it fails the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// jobsOf returns the jobs of run id, oldest first.
func (e *env) jobsOf(t *testing.T, id string) []store.Job {
	t.Helper()
	list, _, err := e.st.ListJobs(t.Context(), store.JobFilter{Run: id})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].IdempotencyKey < list[j].IdempotencyKey })
	return list
}

// step returns run's step name.
func step(t *testing.T, run store.Run, name string) api.StepRun {
	t.Helper()
	for _, s := range run.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("run %s has no step %s", run.ID, name)
	return api.StepRun{}
}

// sh is an inline step running script (the image is ignored without a sandbox).
func sh(name, script string, deps ...string) api.Step {
	return api.Step{Name: name, Image: "alpine", Command: api.Strings{"sh", "-c", script}, DependsOn: deps}
}

// mark is a script line appending "<run> <step> <attempt> <job>" to the file path: the steps' own count of
// their runs.
func mark(path string) string {
	return fmt.Sprintf(`echo "$RUNPLANE_RUN $RUNPLANE_STEP $RUNPLANE_ATTEMPT $RUNPLANE_JOB_ID" >> %s`, path)
}

// marks reads the lines mark appended to path.
func marks(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line != "" {
			out = append(out, strings.Fields(line))
		}
	}
	return out
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
