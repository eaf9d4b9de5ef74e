package trigger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
	"github.com/runplane/runplane/internal/trigger"
)

// env is a store with a runner, a task "hello", a workflow "flow", and a user "ops" allowed to run hello's jobs
// and flow's runs only; the engines are not running, so what a firing submits stays queued.
type env struct {
	st    *sqlite.Store
	auth  *auth.Authenticator
	jobs  *jobs.Engine
	firer *trigger.Firer
	ops   store.User
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must(t, st.CreateRunner(ctx, api.Runner{Name: "r", Image: "alpine", GitURL: "https://example.com/r.git", Branch: "main"}))
	for _, name := range []string{"hello", "other"} {
		must(t, st.CreateTask(ctx, api.Task{Name: name, Runner: "r", Command: "echo hi",
			Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)}))
	}
	must(t, st.CreateWorkflow(ctx, api.Workflow{Name: "flow", Steps: []api.Step{{Name: "one", Task: "hello"}}}))
	ops, err := st.CreateUser(ctx, store.User{User: api.User{Username: "ops", Provider: api.ProviderLocal}})
	must(t, err)
	g, err := st.CreateGroup(ctx, api.Group{Name: "operators", Provider: api.ProviderLocal, UserIDs: []string{ops.ID}})
	must(t, err)
	for _, r := range []api.Role{
		{Name: "run-hello", Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessWrite},
		{Name: "run-flow", Resource: api.ResourceRuns, ResourceIDs: []string{"flow"}, Access: api.AccessWrite},
	} {
		role, err := st.CreateRole(ctx, r)
		must(t, err)
		_, err = st.CreateRoleBinding(ctx, api.RoleBinding{Name: r.Name, RoleID: role.ID, GroupID: g.ID})
		must(t, err)
	}
	a, err := auth.New(st, []byte("0123456789abcdef0123456789abcdef"), auth.Options{})
	must(t, err)
	js := jobs.New(st, nil, nil, jobs.Options{})
	rs := runs.New(st, js, runs.Options{})
	return &env{st: st, auth: a, jobs: js, firer: trigger.NewFirer(a, js, rs), ops: ops}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) firing(target trigger.Target, key string) trigger.Firing {
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	return trigger.Firing{Target: target, OwnerID: e.ops.ID, TriggerID: "c0ffee", Key: key, Input: []byte(`{"n":1}`),
		Trigger: api.Trigger{Kind: api.TriggerCron, Name: "nightly", ScheduledTime: &at}}
}

func TestFireJob(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	f := e.firing(trigger.Target{Task: "hello"}, "2026-12-07T03:00:00Z")
	first, err := e.firer.Fire(ctx, f)
	must(t, err)
	if !first.Created || first.Job == "" || first.Owner != "ops" {
		t.Fatalf("Fire() = %+v, want a new job owned by ops", first)
	}
	job, err := e.st.GetJob(ctx, first.Job)
	must(t, err)
	if diff := cmp.Diff(&f.Trigger, job.Trigger); diff != "" || job.Owner != "ops" || string(job.Input) != `{"n":1}` {
		t.Errorf("job = owner %q input %s, trigger mismatch (-want +got):\n%s", job.Owner, job.Input, diff)
	}

	// The same key again (another replica, a restart) finds the first job.
	again, err := e.firer.Fire(ctx, f)
	must(t, err)
	if again.Created || again.Job != first.Job {
		t.Errorf("Fire() again = %+v, want job %s not created", again, first.Job)
	}

	// The owner submitting the same key through the API gets a job of its own: the scopes differ.
	own, err := e.jobs.Submit(ctx, jobs.Request{Task: "hello", Owner: "ops", OwnerID: e.ops.ID, IdempotencyKey: f.Key})
	must(t, err)
	if !own.Created || own.Job.ID == first.Job {
		t.Errorf("Submit with the firing's key = %s created %v, want a new job", own.Job.ID, own.Created)
	}
	// So does another trigger firing for the same time.
	other := f
	other.TriggerID = "beef"
	o, err := e.firer.Fire(ctx, other)
	must(t, err)
	if !o.Created || o.Job == first.Job {
		t.Errorf("Fire() by another trigger = %+v, want a new job", o)
	}
}

func TestFireRun(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	f := e.firing(trigger.Target{Workflow: "flow"}, "k1")
	f.Input = []byte(`{}`)
	fired, err := e.firer.Fire(ctx, f)
	must(t, err)
	if !fired.Created || fired.Run == "" || fired.Job != "" {
		t.Fatalf("Fire() = %+v, want a new run", fired)
	}
	run, err := e.st.GetRun(ctx, fired.Run)
	must(t, err)
	if diff := cmp.Diff(&f.Trigger, run.Trigger); diff != "" || run.Owner != "ops" {
		t.Errorf("run owner %q, trigger mismatch (-want +got):\n%s", run.Owner, diff)
	}
	again, err := e.firer.Fire(ctx, f)
	must(t, err)
	if again.Created || again.Run != fired.Run {
		t.Errorf("Fire() again = %+v, want run %s not created", again, fired.Run)
	}
}

func TestFireRefused(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	gone, err := e.st.CreateUser(ctx, store.User{User: api.User{Username: "gone", Provider: api.ProviderLocal}})
	must(t, err)
	must(t, e.st.DeleteUser(ctx, gone.ID))
	tests := []struct {
		name string
		edit func(*trigger.Firing)
		want string
	}{
		{"task not granted", func(f *trigger.Firing) { f.Task = "other" }, `ops may not write jobs of "other"`},
		{"workflow not granted", func(f *trigger.Firing) { f.Task, f.Workflow = "", "elsewhere" }, `ops may not write runs of "elsewhere"`},
		{"owner deleted", func(f *trigger.Firing) { f.OwnerID = gone.ID }, "its owner no longer exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := e.firing(trigger.Target{Task: "hello"}, "")
			tt.edit(&f)
			_, err := e.firer.Fire(ctx, f)
			if !errors.Is(err, trigger.ErrRefused) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("Fire() error = %v, want ErrRefused saying %q", err, tt.want)
			}
		})
	}
	list, _, err := e.st.ListJobs(ctx, store.JobFilter{})
	must(t, err)
	if len(list) != 0 {
		t.Errorf("refused firings queued %d jobs, want none", len(list))
	}
}

func TestFireBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		f    trigger.Firing
		want string
	}{
		{"no target", e.firing(trigger.Target{}, ""), "task or workflow is required"},
		{"two targets", e.firing(trigger.Target{Task: "hello", Workflow: "flow"}, ""), "name one of them"},
		{"input fails the schema", func() trigger.Firing {
			f := e.firing(trigger.Target{Task: "hello"}, "")
			f.Input = []byte(`{"n":"x"}`)
			return f
		}(), "/n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.firer.Fire(t.Context(), tt.f)
			var inv *api.InvalidError
			if !errors.As(err, &inv) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("Fire() error = %v, want an *api.InvalidError saying %q", err, tt.want)
			}
		})
	}
}
