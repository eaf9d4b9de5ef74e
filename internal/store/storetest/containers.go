package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// containers is a job's list of containers with every field set.
func containers() []api.Container {
	return []api.Container{
		{Name: "fetch", Image: "alpine:3", Command: []string{"sh", "-c"}, Args: []string{"echo a > $RUNPLANE_OUTPUT_DIR/a"},
			Env: api.EnvVars{{Name: "A", Value: "1"}, {Name: "B", Value: "<&>"}}, WorkingDir: "/work"},
		{Name: "entrypoint", Image: "ghcr.io/x/y@sha256:0123"},
		{Name: "local", Command: []string{"true"}},
	}
}

func testTaskContainers(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		t    api.Task
	}{
		{"no runner", api.Task{Name: "pipeline", Containers: containers()}},
		{"with a checkout", api.Task{Name: "checkout", Runner: "r", Containers: containers()[:1],
			Timeout: api.Duration(time.Minute), Resources: resources()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateTask", s.CreateTask(ctx, tt.t))
			got, err := s.GetTask(ctx, tt.t.Name)
			must(t, "GetTask", err)
			if diff := cmp.Diff(tt.t, got, opts); diff != "" {
				t.Errorf("GetTask(%q) mismatch (-want +got):\n%s", tt.t.Name, diff)
			}
		})
	}
	list, err := s.ListTasks(ctx)
	must(t, "ListTasks", err)
	if diff := cmp.Diff([]api.Task{tests[1].t, tests[0].t}, list, opts); diff != "" {
		t.Errorf("ListTasks() mismatch (-want +got):\n%s", diff)
	}

	// A command task becomes a containers task and back.
	steps := []api.Task{
		task("flip", "r"),
		{Name: "flip", Containers: containers()[2:]},
		task("flip", "r2"),
	}
	for i, st := range steps {
		if i == 0 {
			must(t, "CreateTask", s.CreateTask(ctx, st))
		} else {
			must(t, "UpdateTask", s.UpdateTask(ctx, st))
		}
		got, err := s.GetTask(ctx, "flip")
		must(t, "GetTask", err)
		if diff := cmp.Diff(st, got, opts); diff != "" {
			t.Errorf("GetTask after step %d mismatch (-want +got):\n%s", i, diff)
		}
	}

	// A containers task with a runner keeps the runner in use; one without a runner keeps none.
	for _, r := range []string{"r", "unused"} {
		must(t, "CreateRunner", s.CreateRunner(ctx, runner(r)))
	}
	must(t, "UpdateTask", s.UpdateTask(ctx, api.Task{Name: "flip", Containers: containers()[2:]}))
	checkErr(t, `DeleteRunner("r")`, s.DeleteRunner(ctx, "r"), store.ErrConflict, `runner "r" is used by 1 task`)
	must(t, `DeleteRunner("unused")`, s.DeleteRunner(ctx, "unused"))
}

// stepJob is a job of a workflow step, with an inline task and the outcome fields CreateJob must reset.
func stepJob(id, run, step string, n int) store.Job {
	j := job(id, "", n)
	j.Run, j.Step = run, step
	j.Inline = &api.Task{Name: step, Containers: containers(), Timeout: api.Duration(time.Minute)}
	scheduled := at(1)
	j.Trigger = &api.Trigger{Kind: api.TriggerCron, Name: "nightly", ScheduledTime: &scheduled}
	j.InputFiles = map[string][]byte{"object.yaml": []byte("kind: Redis\nspec: {size: small}\n"), "raw": {0, 0xff, '\n'}}
	return j
}

// statuses is how the containers of a job ran.
func statuses() []api.ContainerStatus {
	zero, one := 0, 1
	t1, t2, t3 := at(11), at(12), at(13)
	return []api.ContainerStatus{
		{Name: "fetch", ExitCode: &zero, StartTime: &t1, CompletionTime: &t2},
		{Name: "entrypoint", ExitCode: &one, StartTime: &t2, CompletionTime: &t3, Reason: "exit status 1"},
		{Name: "local"},
	}
}

func testJobStepFields(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := stepJob("fan-aaaaa", "run-1", "fan", 1)
	// Outcomes given to CreateJob are not kept: FinishJob sets them.
	in.Containers = statuses()
	in.Metadata = &api.JobMetadata{Status: json.RawMessage(`{"x":1}`)}
	want := queued(in)
	want.Containers, want.Metadata = nil, nil
	stored, created, err := s.CreateJob(ctx, in)
	must(t, "CreateJob", err)
	if !created {
		t.Errorf("CreateJob(%q) created = false, want true", in.ID)
	}
	if diff := cmp.Diff(want, stored, opts); diff != "" {
		t.Errorf("CreateJob(%q) stored mismatch (-want +got):\n%s", in.ID, diff)
	}
	got, err := s.GetJob(ctx, in.ID)
	must(t, "GetJob", err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("GetJob(%q) mismatch (-want +got):\n%s", in.ID, diff)
	}

	// The engine claims the job with its inline task, and takes it over with it after a crash.
	claimed, err := s.ClaimJob(ctx, at(10), store.Lease{Owner: "s1", Until: at(20)})
	must(t, "ClaimJob", err)
	if diff := cmp.Diff(want.Inline, claimed.Inline, opts); diff != "" || claimed.Run != "run-1" || claimed.Step != "fan" {
		t.Errorf("ClaimJob() = run %q step %q, inline task mismatch (-want +got):\n%s", claimed.Run, claimed.Step, diff)
	}
	if diff := cmp.Diff(want.InputFiles, claimed.InputFiles); diff != "" {
		t.Errorf("ClaimJob() input files mismatch (-want +got):\n%s", diff)
	}
	expired, err := s.ClaimExpired(ctx, at(30), held)
	must(t, "ClaimExpired", err)
	if diff := cmp.Diff(want.Inline, expired.Inline, opts); diff != "" || expired.Run != "run-1" || expired.Step != "fan" {
		t.Errorf("ClaimExpired() = run %q step %q, inline task mismatch (-want +got):\n%s", expired.Run, expired.Step, diff)
	}
	if diff := cmp.Diff(want.InputFiles, expired.InputFiles); diff != "" {
		t.Errorf("ClaimExpired() input files mismatch (-want +got):\n%s", diff)
	}

	md := &api.JobMetadata{
		Status:               json.RawMessage(`{"phase":"Ready","message":"a <b> & c"}`),
		DestinationSelectors: json.RawMessage(`[{"directory":"dev","matchLabels":{"env":"dev"}}]`),
		WorkflowControl:      json.RawMessage(`{"retryAfter":"5m","suspend":true}`),
	}
	finished, err := s.FinishJob(ctx, in.ID, store.Finish{Status: api.JobFailed, Time: at(40), Containers: statuses(),
		Metadata: md})
	must(t, "FinishJob", err)
	got, err = s.GetJob(ctx, in.ID)
	must(t, "GetJob", err)
	for call, j := range map[string]store.Job{"FinishJob": finished, "GetJob after FinishJob": got} {
		if diff := cmp.Diff(statuses(), j.Containers, opts); diff != "" {
			t.Errorf("%s: containers mismatch (-want +got):\n%s", call, diff)
		}
		if diff := cmp.Diff(md, j.Metadata, opts); diff != "" {
			t.Errorf("%s: metadata mismatch (-want +got):\n%s", call, diff)
		}
		if diff := cmp.Diff(want.Inline, j.Inline, opts); diff != "" || j.Run != "run-1" || j.Step != "fan" {
			t.Errorf("%s = run %q step %q, inline task mismatch (-want +got):\n%s", call, j.Run, j.Step, diff)
		}
		if diff := cmp.Diff(want.Trigger, j.Trigger, opts); diff != "" {
			t.Errorf("%s: trigger mismatch (-want +got):\n%s", call, diff)
		}
	}

	// A list names the run and step and how the containers ran, but carries no inline task nor metadata.
	list, _, err := s.ListJobs(ctx, store.JobFilter{})
	must(t, "ListJobs", err)
	if len(list) != 1 {
		t.Fatalf("ListJobs() = %d jobs, want 1", len(list))
	}
	if l := list[0]; l.Run != "run-1" || l.Step != "fan" || l.Inline != nil || l.Metadata != nil || l.InputFiles != nil ||
		!cmp.Equal(statuses(), l.Containers, opts) || !cmp.Equal(want.Trigger, l.Trigger, opts) {
		t.Errorf("ListJobs()[0] = run %q step %q inline %v metadata %v containers %v; want run-1, fan, no inline "+
			"task, no metadata, no input files, the containers and trigger", l.Run, l.Step, l.Inline, l.Metadata, l.Containers)
	}

	// A job finished without containers or metadata has none.
	_, _, err = s.CreateJob(ctx, job("t-plain", "t", 2))
	must(t, "CreateJob", err)
	plain, err := s.FinishJob(ctx, "t-plain", store.Finish{Status: api.JobSucceeded})
	must(t, "FinishJob", err)
	if plain.Containers != nil || plain.Metadata != nil || plain.Inline != nil || plain.Run != "" || plain.Trigger != nil {
		t.Errorf("FinishJob(t-plain) = %+v, want no containers, metadata, inline task, run or trigger", plain)
	}
}

func testJobListByRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, r := range []struct{ id, run, step string }{
		{"a-00001", "run-1", "a"}, {"b-00002", "run-1", "b"}, {"a-00003", "run-2", "a"}, {"t-00004", "", ""},
		{"b-00005", "run-1", "b"},
	} {
		j := stepJob(r.id, r.run, r.step, i)
		if r.run == "" {
			j = job(r.id, "t", i)
		}
		_, _, err := s.CreateJob(ctx, j)
		must(t, "CreateJob", err)
	}
	tests := []struct {
		name string
		f    store.JobFilter
		want []string
	}{
		{"run", store.JobFilter{Run: "run-1"}, []string{"b-00005", "b-00002", "a-00001"}},
		{"other run", store.JobFilter{Run: "run-2"}, []string{"a-00003"}},
		{"absent run", store.JobFilter{Run: "run-3"}, nil},
		{"run and paging", store.JobFilter{Run: "run-1", Limit: 1, Offset: 1}, []string{"b-00002"}},
		{"run and status", store.JobFilter{Run: "run-1", Status: []api.JobStatus{api.JobRunning}}, nil},
		// Step jobs have no task: the task filters leave them out (jobs_by_task does not hold them), unless a
		// filter of tasks names the empty one.
		{"task beside step jobs", store.JobFilter{Task: "t"}, []string{"t-00004"}},
		{"tasks beside step jobs", store.JobFilter{Tasks: []string{"t", "u"}}, []string{"t-00004"}},
		{"tasks naming none", store.JobFilter{Tasks: []string{"", "t"}},
			[]string{"b-00005", "t-00004", "a-00003", "b-00002", "a-00001"}},
		{"tasks naming only none", store.JobFilter{Tasks: []string{""}}, []string{"b-00005", "a-00003", "b-00002", "a-00001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListJobs(ctx, tt.f)
			must(t, "ListJobs", err)
			var ids []string
			for _, j := range got {
				ids = append(ids, j.ID)
			}
			if diff := cmp.Diff(tt.want, ids, opts); diff != "" {
				t.Errorf("ListJobs(%+v) mismatch (-want +got):\n%s", tt.f, diff)
			}
			wantTotal := len(tt.want)
			if tt.f.Limit > 0 {
				wantTotal = 3
			}
			if total != wantTotal {
				t.Errorf("ListJobs(%+v) total = %d, want %d", tt.f, total, wantTotal)
			}
		})
	}
}

// testJobStepKey checks that CreateJob's idempotency key serves a run step's job: the engine derives the key from
// (run, step, attempt) and scopes it by an OwnerID of the run's, so a step submitted twice is created once, the
// next attempt is a new job, and a user's own key of the same text never stands for it.
func testJobStepKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	attempt := func(id string, n int) store.Job {
		j := stepJob(id, "run-1", "fan", n)
		j.OwnerID, j.IdempotencyKey = "run:run-1", "run-1/fan/"+string(rune('0'+n))
		return j
	}
	users := job("t-users", "t", 0)
	users.OwnerID, users.IdempotencyKey = "u-alice", "run-1/fan/1"
	_, _, err := s.CreateJob(ctx, users)
	must(t, "CreateJob of the user's", err)
	steps := []struct {
		name        string
		in          store.Job
		wantID      string
		wantCreated bool
	}{
		{"attempt 1", attempt("fan-00001", 1), "fan-00001", true},
		{"attempt 1 again, from another server", attempt("fan-00002", 1), "fan-00001", false},
		{"attempt 2", attempt("fan-00003", 2), "fan-00003", true},
	}
	for _, st := range steps {
		got, created, err := s.CreateJob(ctx, st.in)
		must(t, "CreateJob "+st.name, err)
		if got.ID != st.wantID || created != st.wantCreated {
			t.Errorf("CreateJob(%s) = %q, created %v; want %q, created %v", st.name, got.ID, created, st.wantID, st.wantCreated)
		}
		if got.Run != "run-1" || got.Step != "fan" || got.Inline == nil {
			t.Errorf("CreateJob(%s) = run %q step %q inline %v; want the step's job", st.name, got.Run, got.Step, got.Inline)
		}
	}
}
