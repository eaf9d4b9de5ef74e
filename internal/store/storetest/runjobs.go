package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// runWithJobs is run id started: its first step running, as job id+"-j1", which it returns too.
func runWithJobs(id, owner, key string, n int) (store.Run, []store.Job) {
	r := run(id, "w", n)
	r.Owner, r.OwnerID, r.IdempotencyKey, r.Status = owner, "u-"+owner, key, api.RunRunning
	started := at(n)
	r.StartTime = &started
	j := job(id+"-j1", "", n)
	j.Owner, j.OwnerID, j.Run, j.Step, j.IdempotencyKey = owner, "run:"+id, id, r.Steps[0].Name, "run/"+id+"/"+r.Steps[0].Name+"/1"
	j.Inline = &api.Task{Name: r.Steps[0].Name, Command: "true"}
	r.Steps[0] = api.StepRun{Name: r.Steps[0].Name, Status: api.StepRunning, Job: j.ID, Attempt: 1, StartTime: &started}
	return r, []store.Job{j}
}

// testRunWithJobs: CreateRunWithJobs stores the run and its jobs together, or nothing at all: not for a taken
// idempotency key, a full queue, or a taken id.
func testRunWithJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	steps := []struct {
		name        string
		id, key     string
		max         int
		jobID       string // when set, the job's id instead of its own
		wantID      string
		wantCreated bool
		wantErr     error
	}{
		{"first", "run-a", "k", 0, "", "run-a", true, nil},
		{"same key: the earlier run, no job", "run-b", "k", 0, "", "run-a", false, nil},
		{"no key", "run-c", "", 0, "", "run-c", true, nil},
		{"queue full: nothing", "run-d", "", 2, "", "", false, store.ErrQueueFull},
		{"room in the queue", "run-e", "", 3, "", "run-e", true, nil},
		{"same key, queue full: the earlier run", "run-g", "k", 1, "", "run-a", false, nil},
		{"a job's id taken: nothing", "run-f", "", 0, "run-a-j1", "", false, store.ErrConflict},
		{"the run's id taken", "run-a", "", 0, "", "", false, store.ErrConflict},
	}
	for i, st := range steps {
		r, jobs := runWithJobs(st.id, "alice", st.key, i)
		if st.name == "the run's id taken" {
			jobs[0].ID = "run-a-again-j1"
			r.Steps[0].Job = jobs[0].ID
		}
		if st.jobID != "" {
			jobs[0].ID = st.jobID
			r.Steps[0].Job = st.jobID
		}
		got, created, err := s.CreateRunWithJobs(ctx, r, jobs, st.max)
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Errorf("%s: CreateRunWithJobs(%s) error = %v, want %v", st.name, st.id, err, st.wantErr)
			}
			if st.name != "the run's id taken" {
				if _, err := s.GetRun(ctx, st.id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: GetRun(%s) of a refused run = %v, want ErrNotFound", st.name, st.id, err)
				}
			}
			if st.jobID == "" {
				if _, err := s.GetJob(ctx, jobs[0].ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: GetJob(%s) of a refused run's job = %v, want ErrNotFound", st.name, jobs[0].ID, err)
				}
			}
			continue
		}
		must(t, st.name+": CreateRunWithJobs", err)
		if got.ID != st.wantID || created != st.wantCreated {
			t.Errorf("%s: CreateRunWithJobs(%s) = %q, created %v; want %q, created %v", st.name, st.id, got.ID, created,
				st.wantID, st.wantCreated)
		}
		if !created {
			if _, err := s.GetJob(ctx, jobs[0].ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetJob(%s) of a run not created = %v, want ErrNotFound", st.name, jobs[0].ID, err)
			}
			continue
		}
		if diff := cmp.Diff(version(r, 1), got, opts); diff != "" {
			t.Errorf("%s: CreateRunWithJobs(%s) stored mismatch (-want +got):\n%s", st.name, st.id, diff)
		}
		stored, err := s.GetRun(ctx, st.id)
		must(t, st.name+": GetRun", err)
		if diff := cmp.Diff(version(r, 1), stored, opts); diff != "" {
			t.Errorf("%s: GetRun(%s) mismatch (-want +got):\n%s", st.name, st.id, diff)
		}
		j, err := s.GetJob(ctx, jobs[0].ID)
		must(t, st.name+": GetJob", err)
		if diff := cmp.Diff(queued(jobs[0]), j, opts); diff != "" {
			t.Errorf("%s: GetJob(%s) mismatch (-want +got):\n%s", st.name, jobs[0].ID, diff)
		}
		// The job is a step's job like any other: the run's step names it and its key finds it.
		again, created, err := s.CreateJob(ctx, func() store.Job { k := jobs[0]; k.ID = "other"; return k }())
		must(t, st.name+": CreateJob with the step job's key", err)
		if created || again.ID != jobs[0].ID {
			t.Errorf("%s: CreateJob with the key of %s = %q, created %v; want %q, created false", st.name, jobs[0].ID,
				again.ID, created, jobs[0].ID)
		}
	}
	// Its jobs are queued like any: the queue hands them out.
	got, err := s.ClaimJob(ctx, at(100), store.Lease{Owner: "s1", Until: at(200)})
	must(t, "ClaimJob", err)
	if got.ID != "run-a-j1" {
		t.Errorf("ClaimJob() = %q, want the oldest step job run-a-j1", got.ID)
	}
}

// testRunWithJobsConcurrent: of concurrent CreateRunWithJobs calls with one key, one creates its run and its job;
// the others create nothing and answer that run.
func testRunWithJobsConcurrent(t *testing.T, s store.Store) {
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, jobs := runWithJobs(fmt.Sprintf("run-%d", i), "alice", "once", i)
			var got store.Run
			got, created[i], errs[i] = s.CreateRunWithJobs(t.Context(), r, jobs, 0)
			ids[i] = got.ID
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		must(t, fmt.Sprintf("CreateRunWithJobs #%d", i), errs[i])
		if created[i] {
			made++
		}
		if ids[i] != ids[0] {
			t.Errorf("CreateRunWithJobs #%d with key %q = %q, want %q like #0", i, "once", ids[i], ids[0])
		}
	}
	if made != 1 {
		t.Errorf("%d concurrent CreateRunWithJobs calls with one key created %d runs, want 1", n, made)
	}
	_, total, err := s.ListJobs(t.Context(), store.JobFilter{})
	must(t, "ListJobs", err)
	if total != 1 {
		t.Errorf("ListJobs() total = %d, want 1: only the created run's job", total)
	}
}
