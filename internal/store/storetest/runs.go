package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// run returns a new run of workflow (its definition fullWorkflow(workflow)), owned by alice, created at(n), with
// every step pending.
func run(id, workflow string, n int) store.Run {
	def := fullWorkflow(workflow)
	r := store.Run{Run: api.Run{ID: id, Workflow: workflow, Owner: "alice", Status: api.RunQueued,
		Parameters: json.RawMessage(`{"n": 2}`), CreateTime: at(n)}, Definition: def, OwnerID: "u-alice"}
	for _, st := range def.Steps {
		r.Steps = append(r.Steps, api.StepRun{Name: st.Name, Status: api.StepPending})
	}
	return r
}

// version is r as stored at version v.
func version(r store.Run, v int64) store.Run {
	r.Version = v
	return r
}

func testRunCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	started := at(3)
	full := run("run-full", "w", 1)
	full.IdempotencyKey, full.Reason, full.Status, full.StartTime = "key-1", "why", api.RunRunning, &started
	full.Steps[0] = api.StepRun{Name: "prepare", Status: api.StepSucceeded, Job: "prepare-abcde", Attempt: 1,
		StartTime: &started, CompletionTime: &started, Outputs: map[string]json.RawMessage{"x": json.RawMessage(`"a<b"`)}}
	full.Steps[3].Message = "when steps.right.failed was false"
	full.Trigger = &api.Trigger{Kind: api.TriggerWebhook, Name: "0d6f3c1e-hook", Delivery: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}
	noStatus := run("run-nostatus", "w", 2)
	noStatus.Status = ""
	stale := run("run-stale", "w", 3)
	stale.Version = 7
	tests := []struct {
		name string
		in   store.Run
		want store.Run
	}{
		{"minimal", store.Run{Run: api.Run{ID: "run-min", Workflow: "w", Owner: "bob", CreateTime: at(0)}},
			store.Run{Run: api.Run{ID: "run-min", Workflow: "w", Owner: "bob", Status: api.RunQueued, CreateTime: at(0),
				Steps: []api.StepRun{}}, Version: 1}},
		{"everything", full, version(full, 1)},
		{"no status is queued", noStatus, version(run("run-nostatus", "w", 2), 1)},
		{"version starts at 1", stale, version(stale, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, created, err := s.CreateRun(ctx, tt.in)
			must(t, "CreateRun", err)
			if !created {
				t.Errorf("CreateRun(%q) created = false, want true", tt.in.ID)
			}
			if diff := cmp.Diff(tt.want, stored, opts); diff != "" {
				t.Errorf("CreateRun(%q) stored mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			got, err := s.GetRun(ctx, tt.in.ID)
			must(t, "GetRun", err)
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("GetRun(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			if got.Steps == nil {
				t.Errorf("GetRun(%q).Steps = nil, want a list", tt.in.ID)
			}
			// GetRunState is GetRun without the definition.
			state, err := s.GetRunState(ctx, tt.in.ID)
			must(t, "GetRunState", err)
			want := tt.want
			want.Definition = api.Workflow{}
			if diff := cmp.Diff(want, state, opts); diff != "" {
				t.Errorf("GetRunState(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
		})
	}
	t.Run("zero create time", func(t *testing.T) {
		r := run("run-now", "w", 0)
		r.CreateTime = time.Time{}
		stored, _, err := s.CreateRun(ctx, r)
		must(t, "CreateRun", err)
		if stored.CreateTime.IsZero() {
			t.Errorf("CreateRun with zero CreateTime stored CreateTime zero, want the store's now")
		}
		got, err := s.GetRun(ctx, r.ID)
		must(t, "GetRun", err)
		if !got.CreateTime.Equal(stored.CreateTime) {
			t.Errorf("GetRun(%q).CreateTime = %v, want %v as CreateRun returned", r.ID, got.CreateTime, stored.CreateTime)
		}
	})
	_, err := s.GetRun(ctx, "run-absent")
	checkErr(t, `GetRun("run-absent")`, err, store.ErrNotFound, `run "run-absent" not found`)
	_, err = s.GetRunState(ctx, "run-absent")
	checkErr(t, `GetRunState("run-absent")`, err, store.ErrNotFound, `run "run-absent" not found`)
	_, created, err := s.CreateRun(ctx, run("run-full", "other", 9))
	checkErr(t, `CreateRun("run-full") again`, err, store.ErrConflict, `run "run-full" already exists`)
	if created {
		t.Errorf("CreateRun of a taken id: created = true, want false")
	}
}

func testRunIdempotencyKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	// owner is "name/id": keys are scoped by the id.
	mk := func(id, owner, key, workflow string, n int) store.Run {
		r := run(id, workflow, n)
		r.Owner, r.OwnerID, _ = strings.Cut(owner, "/")
		r.IdempotencyKey = key
		return r
	}
	steps := []struct {
		name        string
		in          store.Run
		wantID      string
		wantCreated bool
	}{
		{"first", mk("run-1", "alice/u1", "k", "w", 0), "run-1", true},
		{"same owner and key", mk("run-2", "alice/u1", "k", "w", 1), "run-1", false},
		{"same owner and key, other workflow: the earlier run", mk("run-3", "alice/u1", "k", "v", 2), "run-1", false},
		{"other owner, same key", mk("run-4", "bob/u2", "k", "w", 3), "run-4", true},
		{"same owner, other key", mk("run-5", "alice/u1", "k2", "w", 4), "run-5", true},
		{"no key", mk("run-6", "alice/u1", "", "w", 5), "run-6", true},
		{"no key again", mk("run-7", "alice/u1", "", "w", 6), "run-7", true},
	}
	for _, st := range steps {
		got, created, err := s.CreateRun(ctx, st.in)
		must(t, "CreateRun "+st.name, err)
		if got.ID != st.wantID || created != st.wantCreated {
			t.Errorf("CreateRun(%s) = %q, created %v; want %q, created %v", st.name, got.ID, created, st.wantID, st.wantCreated)
		}
		if !created {
			if got.Workflow != "w" || got.Version == 0 || len(got.Definition.Steps) == 0 {
				t.Errorf("CreateRun(%s) returned %+v, want the earlier run as stored", st.name, got)
			}
			if _, err := s.GetRun(ctx, st.in.ID); err == nil {
				t.Errorf("CreateRun(%s) returned the earlier run but stored %q too", st.name, st.in.ID)
			}
		}
	}
	// The key keeps answering with the earlier run after it changed.
	first, err := s.GetRun(ctx, "run-1")
	must(t, "GetRun", err)
	first.Status = api.RunRunning
	_, err = s.UpdateRun(ctx, first)
	must(t, "UpdateRun", err)
	again, created, err := s.CreateRun(ctx, mk("run-8", "alice/u1", "k", "w", 7))
	must(t, "CreateRun after update", err)
	if created || again.ID != "run-1" || again.Status != api.RunRunning || again.Version != 2 {
		t.Errorf("CreateRun with a used key after an update = %q %s v%d, created %v; want run-1 running v2, created false",
			again.ID, again.Status, again.Version, created)
	}
}

func testRunIdempotencyKeyConcurrent(t *testing.T, s store.Store) {
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := run(fmt.Sprintf("run-%d", i), "w", i)
			r.IdempotencyKey = "once"
			var got store.Run
			got, created[i], errs[i] = s.CreateRun(t.Context(), r)
			ids[i] = got.ID
		})
	}
	wg.Wait()
	var made int
	for i := range n {
		must(t, fmt.Sprintf("CreateRun #%d", i), errs[i])
		if created[i] {
			made++
		}
		if ids[i] != ids[0] {
			t.Errorf("CreateRun #%d with key %q = %q, want %q like #0", i, "once", ids[i], ids[0])
		}
	}
	if made != 1 {
		t.Errorf("%d concurrent CreateRun calls with one key created %d runs, want 1", n, made)
	}
	_, total, err := s.ListRuns(t.Context(), store.RunFilter{})
	must(t, "ListRuns", err)
	if total != 1 {
		t.Errorf("ListRuns() total = %d, want 1", total)
	}
}

func testRunList(t *testing.T, s store.Store) {
	ctx := t.Context()
	empty, total, err := s.ListRuns(ctx, store.RunFilter{})
	must(t, "ListRuns", err)
	if empty == nil || len(empty) != 0 || total != 0 {
		t.Errorf("ListRuns() of an empty store = %#v, total %d; want an empty list", empty, total)
	}
	// Eight runs created out of order: even ones of workflow "even", odd ones of "odd"; runs 0, 3 and 6 are bob's.
	// Runs 0-2 are running, 3 finished; two runs share a create time to order by id.
	status := map[int]api.RunStatus{0: api.RunRunning, 1: api.RunRunning, 2: api.RunRunning, 3: api.RunSucceeded}
	for _, n := range []int{4, 7, 0, 2, 5, 1, 3, 6} {
		wf := map[bool]string{true: "even", false: "odd"}[n%2 == 0]
		r := run(fmt.Sprintf("run-%d", n), wf, min(n, 6))
		if n%3 == 0 {
			r.Owner = "bob"
		}
		if st, ok := status[n]; ok {
			r.Status = st
		}
		_, _, err := s.CreateRun(ctx, r)
		must(t, "CreateRun", err)
	}
	tests := []struct {
		name      string
		f         store.RunFilter
		want      []int
		wantTotal int
	}{
		{"all, newest first", store.RunFilter{}, []int{7, 6, 5, 4, 3, 2, 1, 0}, 8},
		{"page", store.RunFilter{Limit: 3, Offset: 2}, []int{5, 4, 3}, 8},
		{"past the end", store.RunFilter{Limit: 3, Offset: 8}, nil, 8},
		{"workflow", store.RunFilter{Workflow: "odd"}, []int{7, 5, 3, 1}, 4},
		{"workflows", store.RunFilter{Workflows: []string{"even", "none"}}, []int{6, 4, 2, 0}, 4},
		{"no workflows", store.RunFilter{Workflows: []string{}}, nil, 0},
		{"live", store.RunFilter{Status: []api.RunStatus{api.RunQueued, api.RunRunning}}, []int{7, 6, 5, 4, 2, 1, 0}, 7},
		{"running", store.RunFilter{Status: []api.RunStatus{api.RunRunning}}, []int{2, 1, 0}, 3},
		{"owner", store.RunFilter{Owner: "bob"}, []int{6, 3, 0}, 3},
		{"everything", store.RunFilter{Workflow: "even", Workflows: []string{"even"}, Owner: "bob",
			Status: []api.RunStatus{api.RunRunning}, Limit: 10}, []int{0}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListRuns(ctx, tt.f)
			must(t, "ListRuns", err)
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
				if len(r.Definition.Steps) != 0 || r.Definition.Name != "" {
					t.Errorf("ListRuns: run %s carries its definition, want none", r.ID)
				}
				if len(r.Steps) != 4 || r.Version != 1 || string(r.Parameters) != `{"n": 2}` {
					t.Errorf("ListRuns: run %s = %+v, want its steps, parameters and version", r.ID, r)
				}
			}
			var want []string
			for _, n := range tt.want {
				want = append(want, fmt.Sprintf("run-%d", n))
			}
			if diff := cmp.Diff(want, ids, opts); diff != "" || total != tt.wantTotal {
				t.Errorf("ListRuns(%+v) total %d (want %d), ids mismatch (-want +got):\n%s", tt.f, total, tt.wantTotal, diff)
			}
		})
	}
}

func testRunUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	r, _, err := s.CreateRun(ctx, run("run-1", "w", 0))
	must(t, "CreateRun", err)
	orig := r

	// Advancing: what changes is stored, the rest is kept whatever the caller sends.
	started, done := at(5), at(9)
	r.Status, r.StartTime, r.Reason = api.RunRunning, &started, "started"
	r.Steps[0] = api.StepRun{Name: "prepare", Status: api.StepRunning, Job: "prepare-aaaaa", Attempt: 1, StartTime: &started}
	r.Owner, r.Workflow, r.Parameters, r.OwnerID, r.IdempotencyKey = "mallory", "other", nil, "u-mallory", "k"
	r.Definition = workflow("other")
	r.CreateTime = at(99)
	got, err := s.UpdateRun(ctx, r)
	must(t, "UpdateRun", err)
	want := orig
	want.Status, want.StartTime, want.Reason, want.Steps, want.Version = r.Status, r.StartTime, r.Reason, r.Steps, 2
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("UpdateRun mismatch (-want +got):\n%s", diff)
	}
	read, err := s.GetRun(ctx, "run-1")
	must(t, "GetRun", err)
	if diff := cmp.Diff(want, read, opts); diff != "" {
		t.Errorf("GetRun after UpdateRun mismatch (-want +got):\n%s", diff)
	}

	// An update from the old version loses, and changes nothing.
	stale := orig
	stale.Status = api.RunCancelled
	_, err = s.UpdateRun(ctx, stale)
	checkErr(t, "UpdateRun from version 1 after version 2", err, store.ErrConflict,
		`run "run-1" was changed: it is at version 2, not 1`)
	read, err = s.GetRun(ctx, "run-1")
	must(t, "GetRun", err)
	if diff := cmp.Diff(want, read, opts); diff != "" {
		t.Errorf("GetRun after a refused UpdateRun mismatch (-want +got):\n%s", diff)
	}

	// From the current version it goes on; times and reason can be cleared.
	read.Status, read.CompletionTime, read.StartTime, read.Reason = api.RunSucceeded, &done, nil, ""
	got, err = s.UpdateRun(ctx, read)
	must(t, "UpdateRun from version 2", err)
	if got.Version != 3 || got.Status != api.RunSucceeded || got.StartTime != nil || got.Reason != "" ||
		got.CompletionTime == nil || !got.CompletionTime.Equal(done) {
		t.Errorf("UpdateRun from version 2 = %+v, want version 3, succeeded at %v, no start time or reason", got, done)
	}

	absent := run("run-absent", "w", 0)
	absent.Version = 1
	_, err = s.UpdateRun(ctx, absent)
	checkErr(t, `UpdateRun("run-absent")`, err, store.ErrNotFound, `run "run-absent" not found`)
}

// testRunUpdateConcurrent has several callers advance one run from the version they all read: exactly one wins,
// the others get ErrConflict, and the winner's change is what is stored.
func testRunUpdateConcurrent(t *testing.T, s store.Store) {
	_, _, err := s.CreateRun(t.Context(), run("run-1", "w", 0))
	must(t, "CreateRun", err)
	UpdateRunConcurrently(t, "run-1", 8, s)
}

// UpdateRunConcurrently has workers goroutines, spread over updaters, update run id from the version they all
// read, for a few rounds, and fails t unless each round exactly one wins, the others get ErrConflict, and the
// winner's change is what is stored. Backends use it to update through several handles on one database.
func UpdateRunConcurrently(t *testing.T, id string, workers int, updaters ...store.Runs) {
	t.Helper()
	ctx := t.Context()
	r, err := updaters[0].GetRun(ctx, id)
	must(t, "GetRun", err)
	for round := range 3 {
		errs := make([]error, workers)
		got := make([]store.Run, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				mine := r
				mine.Steps = append([]api.StepRun(nil), r.Steps...)
				mine.Reason = fmt.Sprintf("caller %d", i)
				mine.Steps[0].Message = mine.Reason
				got[i], errs[i] = updaters[i%len(updaters)].UpdateRun(ctx, mine)
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: callers %d and %d both updated %s from version %d", round, winner, i, id, r.Version)
			case err == nil:
				winner = i
			default:
				checkErr(t, fmt.Sprintf("round %d: UpdateRun by caller %d", round, i), err, store.ErrConflict, "")
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no caller updated %s from version %d", round, id, r.Version)
		}
		stored, err := updaters[0].GetRun(ctx, id)
		must(t, "GetRun", err)
		want := fmt.Sprintf("caller %d", winner)
		if stored.Version != r.Version+1 || stored.Reason != want || stored.Steps[0].Message != want {
			t.Errorf("round %d: GetRun = version %d, reason %q, step message %q; want version %d and the winner's %q",
				round, stored.Version, stored.Reason, stored.Steps[0].Message, r.Version+1, want)
		}
		if diff := cmp.Diff(stored, got[winner], opts); diff != "" {
			t.Errorf("round %d: UpdateRun returned what GetRun does not read (-GetRun +UpdateRun):\n%s", round, diff)
		}
		r = stored
	}
}

// NewRun returns a run of a workflow with steps, owned by alice and created at the suite's base time, for backends'
// own tests.
func NewRun(id string) store.Run { return run(id, "w", 0) }

func testRunValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, _, err := s.CreateRun(ctx, run("run-1", "w", 0))
	must(t, "CreateRun", err)
	_, _, err = s.CreateRun(ctx, run("run-2", "w", 1))
	must(t, "CreateRun", err)
	none, err := s.RunValues(ctx, "run-1")
	must(t, "RunValues", err)
	if none == nil || len(none) != 0 {
		t.Errorf("RunValues(run-1) with none set = %#v, want an empty list", none)
	}
	val := func(step, kind, name, v string, sensitive bool) store.RunValue {
		return store.RunValue{Run: "run-1", Step: step, Kind: kind, Name: name, Value: json.RawMessage(v), Sensitive: sensitive}
	}
	sets := []store.RunValue{
		val("right", store.ValueOutput, "b", `"text"`, false),
		val("left", store.ValueState, "counter", `1`, false),
		val("left", store.ValueOutput, "token", `"s3cret-run-value"`, true),
		val("left", store.ValueOutput, "a", `{"x":[1,2],"y":"a<b"}`, false),
		val("left", store.ValueOutput, "a/b c", `null`, false),
		// Replaced: the later value, and its sensitivity, stand.
		val("left", store.ValueState, "counter", `2`, false),
		val("right", store.ValueOutput, "b", `"now secret"`, true),
		val("left", store.ValueOutput, "token", `"shown after all"`, false),
		{Run: "run-2", Step: "left", Kind: store.ValueOutput, Name: "a", Value: json.RawMessage(`"other run"`)},
	}
	for _, v := range sets {
		must(t, fmt.Sprintf("SetRunValue(%s %s %s)", v.Step, v.Kind, v.Name), s.SetRunValue(ctx, v))
	}
	want := []store.RunValue{
		val("left", store.ValueOutput, "a", `{"x":[1,2],"y":"a<b"}`, false),
		val("left", store.ValueOutput, "a/b c", `null`, false),
		val("left", store.ValueOutput, "token", `"shown after all"`, false),
		val("left", store.ValueState, "counter", `2`, false),
		val("right", store.ValueOutput, "b", `"now secret"`, true),
	}
	got, err := s.RunValues(ctx, "run-1")
	must(t, "RunValues", err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("RunValues(run-1) mismatch (-want +got):\n%s", diff)
	}
	checkErr(t, "SetRunValue of an absent run", s.SetRunValue(ctx, store.RunValue{Run: "run-absent", Step: "s",
		Kind: store.ValueOutput, Name: "n", Value: json.RawMessage(`1`)}), store.ErrNotFound, `run "run-absent" not found`)
	absent, err := s.RunValues(ctx, "run-absent")
	must(t, "RunValues of an absent run", err)
	if len(absent) != 0 {
		t.Errorf("RunValues(run-absent) = %v, want none", absent)
	}
}
