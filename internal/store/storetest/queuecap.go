package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// testJobQueueCap: CreateJobCapped counts the owner's queued jobs only, and never refuses an idempotent
// resubmission.
func testJobQueueCap(t *testing.T, s store.Store) {
	ctx := t.Context()
	of := func(id, owner, key string, n int) store.Job {
		j := job(id, "t", n)
		j.Owner, j.OwnerID, j.IdempotencyKey = owner, "id-"+owner, key
		return j
	}
	steps := []struct {
		name        string
		j           store.Job
		max         int
		wantCreated bool
		wantID      string // "" means j.ID
		wantFull    bool
	}{
		{"first", of("t-a1", "alice", "k1", 1), 2, true, "", false},
		{"second", of("t-a2", "alice", "", 2), 2, true, "", false},
		{"third refused", of("t-a3", "alice", "", 3), 2, false, "", true},
		{"new key refused", of("t-a4", "alice", "k2", 4), 2, false, "", true},
		{"known key returns the earlier job", of("t-a5", "alice", "k1", 5), 2, false, "t-a1", false},
		{"another owner", of("t-b1", "bob", "", 6), 2, true, "", false},
		{"a higher cap", of("t-a6", "alice", "", 7), 3, true, "", false},
		{"no cap", of("t-a7", "alice", "", 8), 0, true, "", false},
		{"negative is no cap", of("t-a8", "alice", "", 9), -1, true, "", false},
		{"CreateJob has no cap", of("t-a9", "alice", "", 10), 0, true, "", false},
	}
	for _, st := range steps {
		var got store.Job
		var created bool
		var err error
		if st.name == "CreateJob has no cap" {
			got, created, err = s.CreateJob(ctx, st.j)
		} else {
			got, created, err = s.CreateJobCapped(ctx, st.j, st.max)
		}
		if st.wantFull {
			if !errors.Is(err, store.ErrQueueFull) {
				t.Errorf("%s: CreateJobCapped(%s, %d) = %v, want ErrQueueFull", st.name, st.j.ID, st.max, err)
			}
			if _, err := s.GetJob(ctx, st.j.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetJob(%s) of a refused job = %v, want ErrNotFound", st.name, st.j.ID, err)
			}
			continue
		}
		must(t, st.name+": CreateJobCapped", err)
		want := st.wantID
		if want == "" {
			want = st.j.ID
		}
		if got.ID != want || created != st.wantCreated {
			t.Errorf("%s: CreateJobCapped(%s, %d) = %s created %v, want %s created %v", st.name, st.j.ID, st.max, got.ID, created, want, st.wantCreated)
		}
	}

	// Only queued jobs count: once alice's are claimed or finished, she may queue again.
	for {
		j, err := s.ClaimJob(ctx, at(100), store.Lease{Owner: "server", Until: at(100).Add(time.Minute)})
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		must(t, "ClaimJob", err)
		if j.Owner == "alice" && j.ID != "t-a9" {
			_, err := s.FinishJob(ctx, j.ID, store.Finish{Status: api.JobSucceeded})
			must(t, "FinishJob", err)
		}
	}
	if _, created, err := s.CreateJobCapped(ctx, of("t-a10", "alice", "", 11), 1); err != nil || !created {
		t.Errorf("CreateJobCapped with no job queued = created %v, %v; want created", created, err)
	}
	if _, _, err := s.CreateJobCapped(ctx, of("t-a11", "alice", "", 12), 1); !errors.Is(err, store.ErrQueueFull) {
		t.Errorf("CreateJobCapped past the cap again = %v, want ErrQueueFull", err)
	}
	_, err := s.FinishJob(ctx, "t-a10", store.Finish{Status: api.JobCancelled})
	must(t, "FinishJob (cancel queued)", err)
	if _, created, err := s.CreateJobCapped(ctx, of("t-a12", "alice", "", 13), 1); err != nil || !created {
		t.Errorf("CreateJobCapped after the queued job was cancelled = created %v, %v; want created", created, err)
	}
}

// testJobQueueCapConcurrent: submissions racing for the last places of one owner's queue never go past the cap.
func testJobQueueCapConcurrent(t *testing.T, s store.Store) {
	const n, max = 8, 3
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, created[i], errs[i] = s.CreateJobCapped(t.Context(), job(fmt.Sprintf("t-%05d", i), "t", i), max)
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		switch {
		case errs[i] == nil && created[i]:
			made++
		case errors.Is(errs[i], store.ErrQueueFull):
		default:
			t.Errorf("CreateJobCapped #%d = created %v, %v; want created or ErrQueueFull", i, created[i], errs[i])
		}
	}
	if made != max {
		t.Errorf("%d concurrent CreateJobCapped calls with cap %d created %d jobs, want %d", n, max, made, max)
	}
	if got, err := s.CountJobs(t.Context(), api.JobQueued); err != nil || got != max {
		t.Errorf("CountJobs(queued) = %d, %v; want %d", got, err, max)
	}
}
