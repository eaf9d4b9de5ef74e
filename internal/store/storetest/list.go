package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func testJobList(t *testing.T, s store.Store) {
	empty, total, err := s.ListJobs(t.Context(), store.JobFilter{})
	must(t, "ListJobs", err)
	if len(empty) != 0 || total != 0 {
		t.Errorf("ListJobs() of an empty store = %d jobs, total %d; want none", len(empty), total)
	}

	// Ten jobs, created out of order: even ones of task "even", odd ones of task "odd". Jobs 0-5 are claimed,
	// then 0 and 1 succeed, 2 fails.
	// Jobs 0, 3, 6 and 9 are bob's, the others alice's.
	type row struct {
		id     string
		task   string
		owner  string
		n      int
		status api.JobStatus
	}
	var all []row
	for _, n := range []int{4, 9, 0, 7, 2, 5, 1, 8, 3, 6} {
		task := map[bool]string{true: "even", false: "odd"}[n%2 == 0]
		id := fmt.Sprintf("%s-%05d", task, n)
		j := job(id, task, n)
		if n%3 == 0 {
			j.Owner = "bob"
		}
		j.Input = []byte(`{"n":` + fmt.Sprint(n) + `}`)
		_, _, err := s.CreateJob(t.Context(), j)
		must(t, "CreateJob", err)
		all = append(all, row{id, task, j.Owner, n, api.JobQueued})
	}
	slices.SortFunc(all, func(a, b row) int { return b.n - a.n }) // newest first
	status := map[string]api.JobStatus{}
	for i := range 6 {
		j, err := s.ClaimJob(t.Context(), at(100), held)
		must(t, "ClaimJob", err)
		status[j.ID] = api.JobRunning
		if i <= 2 {
			st := api.JobSucceeded
			if i == 2 {
				st = api.JobFailed
			}
			_, err := s.FinishJob(t.Context(), j.ID, store.Finish{Status: st, Time: at(101), Stdout: "output of " + j.ID})
			must(t, "FinishJob", err)
			status[j.ID] = st
		}
	}
	for i := range all {
		if st, ok := status[all[i].id]; ok {
			all[i].status = st
		}
	}
	ids := func(keep func(row) bool) []string {
		var out []string
		for _, r := range all {
			if keep(r) {
				out = append(out, r.id)
			}
		}
		return out
	}
	every := func(row) bool { return true }

	tests := []struct {
		name      string
		f         store.JobFilter
		want      []string
		wantTotal int
	}{
		{"all", store.JobFilter{}, ids(every), 10},
		{"limit", store.JobFilter{Limit: 3}, ids(every)[:3], 10},
		{"second page", store.JobFilter{Limit: 3, Offset: 3}, ids(every)[3:6], 10},
		{"last partial page", store.JobFilter{Limit: 3, Offset: 9}, ids(every)[9:], 10},
		{"offset without limit", store.JobFilter{Offset: 7}, ids(every)[7:], 10},
		{"offset past the end", store.JobFilter{Limit: 3, Offset: 20}, nil, 10},
		{"negative limit and offset", store.JobFilter{Limit: -1, Offset: -5}, ids(every), 10},
		{"status queued", store.JobFilter{Status: []api.JobStatus{api.JobQueued}},
			ids(func(r row) bool { return r.status == api.JobQueued }), 4},
		{"status running", store.JobFilter{Status: []api.JobStatus{api.JobRunning}},
			ids(func(r row) bool { return r.status == api.JobRunning }), 3},
		{"status final", store.JobFilter{Status: []api.JobStatus{api.JobSucceeded, api.JobFailed, api.JobCancelled}},
			ids(func(r row) bool { return r.status.Final() }), 3},
		{"status none match", store.JobFilter{Status: []api.JobStatus{api.JobCancelled}}, nil, 0},
		{"task", store.JobFilter{Task: "odd"}, ids(func(r row) bool { return r.task == "odd" }), 5},
		{"task paged", store.JobFilter{Task: "even", Limit: 2, Offset: 1},
			ids(func(r row) bool { return r.task == "even" })[1:3], 5},
		{"task and status", store.JobFilter{Task: "even", Status: []api.JobStatus{api.JobQueued, api.JobRunning}},
			ids(func(r row) bool { return r.task == "even" && !r.status.Final() }), 3},
		{"unknown task", store.JobFilter{Task: "nope"}, nil, 0},
		{"tasks", store.JobFilter{Tasks: []string{"odd", "nope"}}, ids(func(r row) bool { return r.task == "odd" }), 5},
		{"tasks both", store.JobFilter{Tasks: []string{"even", "odd"}, Limit: 4}, ids(every)[:4], 10},
		{"tasks empty: none", store.JobFilter{Tasks: []string{}}, nil, 0},
		{"tasks and task", store.JobFilter{Tasks: []string{"odd"}, Task: "even"}, nil, 0},
		{"tasks and status", store.JobFilter{Tasks: []string{"even"}, Status: []api.JobStatus{api.JobQueued}},
			ids(func(r row) bool { return r.task == "even" && r.status == api.JobQueued }), 2},
		{"owner", store.JobFilter{Owner: "bob"}, ids(func(r row) bool { return r.owner == "bob" }), 4},
		{"owner paged", store.JobFilter{Owner: "alice", Limit: 2, Offset: 2},
			ids(func(r row) bool { return r.owner == "alice" })[2:4], 6},
		{"unknown owner", store.JobFilter{Owner: "carol"}, nil, 0},
		{"since is inclusive", store.JobFilter{Since: at(5)}, ids(func(r row) bool { return r.n >= 5 }), 5},
		{"until is exclusive", store.JobFilter{Until: at(5)}, ids(func(r row) bool { return r.n < 5 }), 5},
		{"since and until", store.JobFilter{Since: at(3), Until: at(7), Limit: 3},
			ids(func(r row) bool { return r.n >= 3 && r.n < 7 })[:3], 4},
		{"since after every job", store.JobFilter{Since: at(100)}, nil, 0},
		{"until in the far future", store.JobFilter{Until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}, ids(every), 10},
		{"since in the far past", store.JobFilter{Since: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)}, ids(every), 10},
		{"owner and task", store.JobFilter{Owner: "bob", Task: "even"},
			ids(func(r row) bool { return r.owner == "bob" && r.task == "even" }), 2},
		{"tasks, owner, status and since", store.JobFilter{Tasks: []string{"odd"}, Owner: "alice",
			Status: []api.JobStatus{api.JobQueued, api.JobRunning, api.JobSucceeded, api.JobFailed}, Since: at(2)},
			ids(func(r row) bool { return r.task == "odd" && r.owner == "alice" && r.n >= 2 }), 2},
		{"tasks empty and owner: none", store.JobFilter{Tasks: []string{}, Owner: "bob"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, total, err := s.ListJobs(t.Context(), tt.f)
			must(t, "ListJobs", err)
			var got []string
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("ListJobs(%+v) ids (-want +got):\n%s", tt.f, diff)
			}
			if total != tt.wantTotal {
				t.Errorf("ListJobs(%+v) total = %d, want %d", tt.f, total, tt.wantTotal)
			}
		})
	}

	// Listed jobs are jobs as GetJob returns them, but without their output and input: a list never reads logs.
	jobs, _, err := s.ListJobs(t.Context(), store.JobFilter{})
	must(t, "ListJobs", err)
	withOutput := 0
	for _, j := range jobs {
		if j.Stdout != "" || j.Input != nil {
			t.Errorf("ListJobs()[%q] has Stdout %q, Input %q; want neither", j.ID, j.Stdout, j.Input)
		}
		got, err := s.GetJob(t.Context(), j.ID)
		must(t, "GetJob", err)
		if got.Stdout != "" {
			withOutput++
		}
		got.Stdout, got.Input = "", nil
		if diff := cmp.Diff(got, j, opts); diff != "" {
			t.Errorf("ListJobs()[%q] differs from GetJob (-get +list):\n%s", j.ID, diff)
		}
		if wantStatus := status[j.ID]; wantStatus != "" && j.Status != wantStatus {
			t.Errorf("ListJobs()[%q].Status = %s, want %s", j.ID, j.Status, wantStatus)
		}
	}
	if withOutput != 3 {
		t.Errorf("GetJob returned output for %d listed jobs, want 3", withOutput)
	}
}

func testJobListTies(t *testing.T, s store.Store) {
	// Same CreateTime: newest first falls back to id, descending.
	for _, id := range []string{"t-bbbbb", "t-aaaaa", "t-ccccc"} {
		_, _, err := s.CreateJob(t.Context(), job(id, "t", 0))
		must(t, "CreateJob", err)
	}
	_, _, err := s.CreateJob(t.Context(), job("t-00000", "t", 1))
	must(t, "CreateJob", err)
	jobs, _, err := s.ListJobs(t.Context(), store.JobFilter{})
	must(t, "ListJobs", err)
	var got []string
	for _, j := range jobs {
		got = append(got, j.ID)
	}
	if want := []string{"t-00000", "t-ccccc", "t-bbbbb", "t-aaaaa"}; !slices.Equal(got, want) {
		t.Errorf("ListJobs() = %s, want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}
