package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/platform/statestore"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	local.MaybeRunLauncher()
	os.Exit(m.Run())
}

// storeOf is a whole store, as a server has one.
type storeOf = store.Store

// env is a real store, job engine (local processes, no sandbox: pipelines talk to the test through files in its
// directory), run engine and state store writers, as a server wires them, and controllers over them.
type env struct {
	dir     string
	st      storeOf
	files   *jobfiles.Store
	runs    *runs.Engine
	writers *statestore.Writers
	state   string // the state store's directory, or bare repository
	git     bool
	// wrap, if set, is what the controller sees of st (a benchmark listens to the status writes through it).
	wrap func(controller.Store) controller.Store
}

// newEnv starts the engines over SQLite; git says the state store is a local bare git repository (else a
// directory). It runs until the test ends.
func newEnv(t testing.TB, git bool) *env {
	t.Helper()
	dir := t.TempDir()
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOver(t, dir, st, git, func(work string, src *gitsource.Cache) (executor.Executor, error) {
		return local.New(local.Options{WorkDir: work, Git: src, Isolation: local.IsolationNone})
	})
}

// newEnvOver is newEnv over st, with the executor newExec makes.
func newEnvOver(t testing.TB, dir string, st storeOf, git bool, newExec func(work string, src *gitsource.Cache) (executor.Executor, error)) *env {
	t.Helper()
	e := &env{dir: dir, st: st, git: git}
	src, err := gitsource.New(filepath.Join(dir, "git"), gitsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := newExec(filepath.Join(dir, "work"), src)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := joblog.Open(filepath.Join(dir, "logs"), joblog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.files, err = jobfiles.Open(filepath.Join(dir, "files")); err != nil {
		t.Fatal(err)
	}
	var rs *runs.Engine
	js := jobs.New(st, ex, logs, jobs.Options{
		Files: e.files, MaxConcurrent: 8, StopGrace: time.Second, Exclusive: true,
		StepEnv:  func(ctx context.Context, j store.Job) (jobs.Step, error) { return rs.StepEnv(ctx, j) },
		Finished: func(j store.Job) { rs.JobFinished(j) },
	})
	rs = runs.New(st, js, runs.Options{})
	e.runs = rs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { js.Run(ctx); done <- struct{}{} }()
	go func() { rs.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	if e.writers, err = statestore.New(statestore.Options{Dir: filepath.Join(dir, "statestores")}); err != nil {
		t.Fatal(err)
	}
	ss := api.StateStore{Kind: api.KindDirectoryStateStore, Name: "local", Path: filepath.Join(dir, "state")}
	e.state = ss.Path
	if git {
		e.state = filepath.Join(dir, "state.git")
		gitRun(t, "", "init", "-q", "--bare", "-b", "main", e.state)
		ss = api.StateStore{Kind: api.KindGitStateStore, Name: "local", URL: e.state, Branch: "main"}
	}
	if err := st.CreateStateStore(t.Context(), ss); err != nil {
		t.Fatal(err)
	}
	for _, d := range []api.Destination{
		{Name: "dev", Labels: map[string]string{"environment": "dev"}, StateStoreRef: api.StateStoreRef{Kind: ss.Kind, Name: "local"}},
		{Name: "prod", Labels: map[string]string{"environment": "prod"}, StateStoreRef: api.StateStoreRef{Kind: ss.Kind, Name: "local"}},
	} {
		d.Default()
		if err := st.CreateDestination(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// controller starts a controller; stop stops it and waits until it returned.
func (e *env) controller(t testing.TB, o controller.Options) (c *controller.Controller, stop func()) {
	t.Helper()
	o.Logger = testLogger(t)
	var st controller.Store = e.st
	if e.wrap != nil {
		st = e.wrap(st)
	}
	c = controller.New(st, e.runs, e.files, e.writers, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}
	t.Cleanup(stop)
	return c, stop
}

// crd is the API of the promise cache: kind Cache in marketplace.example.com, namespaced.
const crd = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"caches.marketplace.example.com"},
"spec":{"group":"marketplace.example.com","names":{"kind":"Cache","plural":"caches","singular":"cache"},
"scope":"Namespaced","versions":[{"name":"v1alpha1","served":true,"storage":true,
"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object",
"properties":{"size":{"type":"string"}}}}}}}]}}`

// pipeline is a Kratix pipeline of one container running script (sh) with TESTDIR the test's directory.
func (e *env) pipeline(name, script string) api.Pipeline {
	return api.Pipeline{APIVersion: kratix.PromiseAPIVersion, Kind: "Pipeline", Metadata: api.PipelineMetadata{Name: name},
		Spec: api.PipelineSpec{Containers: []api.PipelineContainer{{Name: name, Image: "alpine",
			Command: []string{"sh", "-c", "set -e\n" + script},
			Env:     []api.KubeEnvVar{{Name: "TESTDIR", Value: e.dir}}}}}}
}

// promise stores the promise cache with these workflows, scheduled to destinations labelled environment: dev.
func (e *env) promise(t testing.TB, w api.PromiseWorkflows) store.Promise {
	t.Helper()
	p, err := e.st.CreatePromise(t.Context(), api.Promise{APIVersion: kratix.PromiseAPIVersion, Kind: "Promise",
		Metadata: api.ObjectMeta{Name: "cache"},
		Spec: api.PromiseSpec{API: json.RawMessage(crd), Workflows: w,
			DestinationSelectors: []api.PromiseScheduling{{MatchLabels: map[string]string{"environment": "dev"}}}},
		Status: api.PromiseStatus{Status: api.PromiseStatusAvailable}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// request stores the request team-a/name of cache and tells c.
func (e *env) request(t testing.TB, c *controller.Controller, p store.Promise, name, spec string, labels map[string]string) store.ResourceRequest {
	t.Helper()
	r, err := e.st.CreateResourceRequest(t.Context(), "cache", api.ResourceRequest{
		APIVersion: "marketplace.example.com/v1alpha1", Kind: "Cache",
		Metadata: api.ObjectMeta{Name: name, Namespace: "team-a", Labels: labels},
		Spec:     json.RawMessage(spec), Status: promise.PendingStatus(time.Now(), 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcileRequest(t.Context(), httpapi.ChangeCreated, p, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// get reads request team-a/name of cache and its status; ok false once it is gone.
func (e *env) get(t testing.TB, name string) (r store.ResourceRequest, status map[string]any, ok bool) {
	t.Helper()
	r, err := e.st.GetResourceRequest(t.Context(), "cache", "team-a", name)
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(r.Status, &status); err != nil {
		t.Fatal(err)
	}
	return r, status, true
}

// waitFor waits until cond holds for request name's status (nil once the request is gone), and returns the status.
func (e *env) waitFor(t testing.TB, name, what string, cond func(st map[string]any) bool) map[string]any {
	t.Helper()
	return e.waitForEvery(t, name, what, 20*time.Millisecond, cond)
}

// waitForEvery is waitFor, looking every poll.
func (e *env) waitForEvery(t testing.TB, name, what string, poll time.Duration, cond func(st map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var st map[string]any
	for time.Now().Before(deadline) {
		var ok bool
		_, st, ok = e.get(t, name)
		if !ok {
			st = nil
		}
		if cond(st) {
			return st
		}
		time.Sleep(poll)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	t.Fatalf("request %s: %s: not within a minute; status:\n%s", name, what, b)
	return nil
}

// condition is the status of condition typ in st ("" if absent) and its reason.
func condition(st map[string]any, typ string) (status, reason, message string) {
	c, _ := kratix.FindCondition(st, typ)
	return c.Status, c.Reason, c.Message
}

func completed(st map[string]any) bool {
	s, _, _ := condition(st, kratix.ConditionConfigureWorkflowCompleted)
	return s == "True"
}

func gone(st map[string]any) bool { return st == nil }

// files returns the state store's files, path → content.
func (e *env) files_(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	if e.git {
		refs := gitRun(t, e.state, "for-each-ref", "--format=%(refname)", "refs/heads/main")
		if strings.TrimSpace(refs) == "" {
			return out
		}
		for _, p := range strings.Split(strings.TrimSpace(gitRun(t, e.state, "ls-tree", "-r", "--name-only", "main")), "\n") {
			if p != "" {
				out[p] = gitRun(t, e.state, "cat-file", "blob", "main:"+p)
			}
		}
		return out
	}
	filepath.WalkDir(e.state, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(e.state, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

// count is the number of lines of the test's file name (what pipelines append to, one line per run).
func (e *env) count(name string) int {
	b, _ := os.ReadFile(filepath.Join(e.dir, name))
	return strings.Count(string(b), "\n")
}

// jobsOf counts the jobs whose run's workflow starts with prefix.
func (e *env) pipelineJobs(t testing.TB) []store.Job {
	t.Helper()
	js, _, err := e.st.ListJobs(t.Context(), store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return js
}
