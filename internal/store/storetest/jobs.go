package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// job returns a new job of task, owned by alice, created at(n).
func job(id, task string, n int) store.Job {
	return store.Job{Job: api.Job{ID: id, Owner: "alice", Task: task, CreateTime: at(n)}}
}

// queued is how the store keeps j after CreateJob.
func queued(j store.Job) store.Job {
	j.Status = api.JobQueued
	return j
}

func testJobCreateGet(t *testing.T, s store.Store) {
	code := 3
	started := at(5)
	full := store.Job{Job: api.Job{ID: "t-bbbbb", Owner: "bob", Task: "t", CreateTime: at(1), Reason: "why",
		Warnings: []string{"secrets are not private"}},
		Input: []byte(`{"n": 1, "s": "a\"b\\c"}`), IdempotencyKey: "key-1", OwnerID: "u-bob", Handle: "h"}
	stale := job("t-ccccc", "t", 2)
	stale.Status, stale.StartTime, stale.CompletionTime = api.JobSucceeded, &started, &started
	stale.Completed, stale.Failed, stale.ExitCode = 1, 1, &code
	stale.Lease = store.Lease{Owner: "s1", Until: at(9)}
	tests := []struct {
		name string
		in   store.Job
		want store.Job
	}{
		{"minimal", job("t-aaaaa", "t", 0), queued(job("t-aaaaa", "t", 0))},
		{"input key reason and warnings", full, queued(full)},
		{"run state is reset", stale, queued(job("t-ccccc", "t", 2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, created, err := s.CreateJob(t.Context(), tt.in)
			must(t, "CreateJob", err)
			if !created {
				t.Errorf("CreateJob(%q) created = false, want true", tt.in.ID)
			}
			if diff := cmp.Diff(tt.want, stored, opts); diff != "" {
				t.Errorf("CreateJob(%q) stored mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			got, err := s.GetJob(t.Context(), tt.in.ID)
			must(t, "GetJob", err)
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("GetJob(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
		})
	}
	t.Run("zero create time", func(t *testing.T) {
		j := job("t-ddddd", "t", 0)
		j.CreateTime = time.Time{}
		stored, _, err := s.CreateJob(t.Context(), j)
		must(t, "CreateJob", err)
		if stored.CreateTime.IsZero() {
			t.Errorf("CreateJob with zero CreateTime stored CreateTime zero, want the store's now")
		}
		got, err := s.GetJob(t.Context(), j.ID)
		must(t, "GetJob", err)
		if !got.CreateTime.Equal(stored.CreateTime) {
			t.Errorf("GetJob(%q).CreateTime = %v, want %v as CreateJob returned", j.ID, got.CreateTime, stored.CreateTime)
		}
	})
}

func testJobCreateDuplicateID(t *testing.T, s store.Store) {
	_, _, err := s.CreateJob(t.Context(), job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	other := job("t-aaaaa", "u", 1)
	other.Owner = "bob"
	_, created, err := s.CreateJob(t.Context(), other)
	checkErr(t, `CreateJob("t-aaaaa") again`, err, store.ErrConflict, `job "t-aaaaa" already exists`)
	if created {
		t.Errorf("CreateJob of a taken id: created = true, want false")
	}
	got, err := s.GetJob(t.Context(), "t-aaaaa")
	must(t, "GetJob", err)
	if got.Task != "t" {
		t.Errorf("GetJob(%q).Task = %q after a refused create, want %q", "t-aaaaa", got.Task, "t")
	}
}

func testJobGetNotFound(t *testing.T, s store.Store) {
	_, err := s.GetJob(t.Context(), "t-zzzzz")
	checkErr(t, `GetJob("t-zzzzz")`, err, store.ErrNotFound, `job "t-zzzzz" not found`)
}

func testJobIdempotencyKey(t *testing.T, s store.Store) {
	// owner is "name/id": keys are scoped by the id.
	mk := func(id, owner, key string, n int) store.Job {
		j := job(id, "t", n)
		j.Owner, j.OwnerID, _ = strings.Cut(owner, "/")
		j.IdempotencyKey = key
		return j
	}
	other := func(j store.Job) store.Job { j.Task = "other"; return j }
	steps := []struct {
		name        string
		in          store.Job
		wantID      string
		wantCreated bool
	}{
		{"first", mk("t-00001", "alice/u1", "k", 0), "t-00001", true},
		{"same owner and key", mk("t-00002", "alice/u1", "k", 1), "t-00001", false},
		{"same owner and key, third time", mk("t-00003", "alice/u1", "k", 2), "t-00001", false},
		{"other owner, same key", mk("t-00004", "bob/u2", "k", 3), "t-00004", true},
		{"same owner, other key", mk("t-00005", "alice/u1", "k2", 4), "t-00005", true},
		{"no key", mk("t-00006", "alice/u1", "", 5), "t-00006", true},
		{"no key again", mk("t-00007", "alice/u1", "", 6), "t-00007", true},
		{"same name, other user", mk("t-00009", "alice/u3", "k", 7), "t-00009", true},
		{"same user renamed", mk("t-00010", "alicia/u1", "k", 8), "t-00001", false},
		{"same user and key, other task: the earlier job", other(mk("t-00011", "alice/u1", "k", 9)), "t-00001", false},
	}
	for _, st := range steps {
		got, created, err := s.CreateJob(t.Context(), st.in)
		must(t, "CreateJob "+st.name, err)
		if got.ID != st.wantID || created != st.wantCreated {
			t.Errorf("CreateJob(%s) = %q, created %v; want %q, created %v", st.name, got.ID, created, st.wantID, st.wantCreated)
		}
		if !created {
			if _, err := s.GetJob(t.Context(), st.in.ID); err == nil {
				t.Errorf("CreateJob(%s) returned the earlier job but stored %q too", st.name, st.in.ID)
			}
		}
	}
	// The key keeps answering with the earlier job after it ran.
	first, err := s.ClaimJob(t.Context(), at(10), held)
	must(t, "ClaimJob", err)
	again, created, err := s.CreateJob(t.Context(), mk("t-00008", "alice/u1", "k", 11))
	must(t, "CreateJob after claim", err)
	if created || again.ID != first.ID || again.Status != api.JobRunning {
		t.Errorf("CreateJob with a used key after claim = %q %s, created %v; want %q running, created false",
			again.ID, again.Status, created, first.ID)
	}
}

func testJobIdempotencyKeyConcurrent(t *testing.T, s store.Store) {
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			j := job(fmt.Sprintf("t-%05d", i), "t", i)
			j.IdempotencyKey, j.OwnerID = "once", "u1"
			var got store.Job
			got, created[i], errs[i] = s.CreateJob(t.Context(), j)
			ids[i] = got.ID
		})
	}
	wg.Wait()
	var made int
	for i := range n {
		must(t, fmt.Sprintf("CreateJob #%d", i), errs[i])
		if created[i] {
			made++
		}
		if ids[i] != ids[0] {
			t.Errorf("CreateJob #%d with key %q = %q, want %q like #0", i, "once", ids[i], ids[0])
		}
	}
	if made != 1 {
		t.Errorf("%d concurrent CreateJob calls with one key created %d jobs, want 1", n, made)
	}
	_, total, err := s.ListJobs(t.Context(), store.JobFilter{})
	must(t, "ListJobs", err)
	if total != 1 {
		t.Errorf("ListJobs() total = %d, want 1", total)
	}
}
