package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// held is the lease the suite's claims take unless a test says otherwise.
var held = store.Lease{Owner: "s1", Until: at(3600)}

// claimAs claims the oldest queued job with lease l at at(n).
func claimAs(t *testing.T, s store.Store, n int, l store.Lease) store.Job {
	t.Helper()
	j, err := s.ClaimJob(t.Context(), at(n), l)
	must(t, "ClaimJob", err)
	if !cmp.Equal(j.Lease, l) {
		t.Errorf("ClaimJob(lease %v).Lease = %v, want %v", l, j.Lease, l)
	}
	return j
}

// checkLeases fails t unless each job of want holds its lease.
func checkLeases(t *testing.T, s store.Store, call string, want map[string]store.Lease) {
	t.Helper()
	for id, l := range want {
		got, err := s.GetJob(t.Context(), id)
		must(t, "GetJob", err)
		if diff := cmp.Diff(l, got.Lease); diff != "" {
			t.Errorf("after %s, GetJob(%q).Lease mismatch (-want +got):\n%s", call, id, diff)
		}
	}
}

func testJobLease(t *testing.T, s store.Store) {
	for i := range 3 {
		_, _, err := s.CreateJob(t.Context(), job(fmt.Sprintf("t-%05d", i), "t", i))
		must(t, "CreateJob", err)
	}
	a := store.Lease{Owner: "server-a", Until: at(30)}
	claimAs(t, s, 10, a)             // t-00000
	claimAs(t, s, 11, store.Lease{}) // t-00001: no lease
	checkLeases(t, s, "ClaimJob", map[string]store.Lease{"t-00000": a, "t-00001": {}, "t-00002": {}})
	listed, _, err := s.ListJobs(t.Context(), store.JobFilter{Status: []api.JobStatus{api.JobRunning}})
	must(t, "ListJobs", err)
	for _, j := range listed {
		if want := map[string]store.Lease{"t-00000": a}[j.ID]; !cmp.Equal(j.Lease, want) {
			t.Errorf("ListJobs: job %q lease = %v, want %v", j.ID, j.Lease, want)
		}
	}

	finished, err := s.FinishJob(t.Context(), "t-00000", store.Finish{Status: api.JobSucceeded, Time: at(12)})
	must(t, "FinishJob", err)
	if !cmp.Equal(finished.Lease, store.Lease{}) {
		t.Errorf("FinishJob(t-00000).Lease = %v, want none", finished.Lease)
	}
	checkLeases(t, s, "FinishJob", map[string]store.Lease{"t-00000": {}})
}

func testJobRenewLeases(t *testing.T, s store.Store) {
	for i := range 6 {
		_, _, err := s.CreateJob(t.Context(), job(fmt.Sprintf("t-%05d", i), "t", i))
		must(t, "CreateJob", err)
	}
	a, b := store.Lease{Owner: "server-a", Until: at(30)}, store.Lease{Owner: "server-b", Until: at(40)}
	claimAs(t, s, 10, a)             // t-00000
	claimAs(t, s, 11, b)             // t-00001
	claimAs(t, s, 12, a)             // t-00002
	claimAs(t, s, 13, a)             // t-00003, finished below
	claimAs(t, s, 14, store.Lease{}) // t-00004: no lease; t-00005 stays queued
	_, err := s.FinishJob(t.Context(), "t-00003", store.Finish{Status: api.JobFailed, Time: at(15)})
	must(t, "FinishJob", err)

	renewed := store.Lease{Owner: "server-a", Until: at(60)}
	steps := []struct {
		name string
		l    store.Lease
		want int
	}{
		{"owner of two running jobs", renewed, 2},
		{"owner of none", store.Lease{Owner: "server-c", Until: at(60)}, 0},
		{"no owner", store.Lease{Until: at(60)}, 0},
	}
	for _, st := range steps {
		n, err := s.RenewLeases(t.Context(), st.l)
		must(t, "RenewLeases", err)
		if n != st.want {
			t.Errorf("RenewLeases(%s) = %d, want %d", st.name, n, st.want)
		}
	}
	checkLeases(t, s, "RenewLeases", map[string]store.Lease{
		"t-00000": renewed, "t-00001": b, "t-00002": renewed, "t-00003": {}, "t-00004": {}, "t-00005": {},
	})
}

func testJobClaimExpired(t *testing.T, s store.Store) {
	_, err := s.ClaimExpired(t.Context(), at(100), held)
	checkErr(t, "ClaimExpired on an empty store", err, store.ErrNotFound, "")

	now := 100
	leases := []struct {
		id    string
		lease store.Lease
	}{
		{"t-expired", store.Lease{Owner: "server-a", Until: at(now - 1)}},
		{"t-no-lease", store.Lease{}},
		{"t-no-until", store.Lease{Owner: "server-a"}},
		{"t-ends-now", store.Lease{Owner: "server-a", Until: at(now)}},
		{"t-live", store.Lease{Owner: "server-b", Until: at(now + 1)}},
		{"t-finished", store.Lease{Owner: "server-a", Until: at(1)}},
	}
	for i, l := range leases {
		_, _, err := s.CreateJob(t.Context(), job(l.id, "t", i))
		must(t, "CreateJob", err)
		claimAs(t, s, 10+i, l.lease)
	}
	must(t, "SetJobHandle", s.SetJobHandle(t.Context(), "t-expired", "h-1"))
	_, err = s.FinishJob(t.Context(), "t-finished", store.Finish{Status: api.JobSucceeded, Time: at(50)})
	must(t, "FinishJob", err)
	_, _, err = s.CreateJob(t.Context(), job("t-queued", "t", 50))
	must(t, "CreateJob", err)
	before := map[string]store.Job{}
	for _, l := range leases {
		before[l.id], err = s.GetJob(t.Context(), l.id)
		must(t, "GetJob", err)
	}

	// Jobs whose lease ended before now, or that have none, are handed over once each, as they were.
	c := store.Lease{Owner: "server-c", Until: at(now + 60)}
	claimed := map[string]bool{}
	for {
		j, err := s.ClaimExpired(t.Context(), at(now), c)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		must(t, "ClaimExpired", err)
		if claimed[j.ID] {
			t.Fatalf("ClaimExpired returned %q twice", j.ID)
		}
		claimed[j.ID] = true
		if diff := cmp.Diff(before[j.ID], j, opts); diff != "" {
			t.Errorf("ClaimExpired returned %q not as it was (-before +returned):\n%s", j.ID, diff)
		}
		after := before[j.ID]
		after.Lease = c
		got, err := s.GetJob(t.Context(), j.ID)
		must(t, "GetJob", err)
		if diff := cmp.Diff(after, got, opts); diff != "" {
			t.Errorf("GetJob(%q) after ClaimExpired: want only the lease changed (-want +got):\n%s", j.ID, diff)
		}
	}
	want := map[string]bool{"t-expired": true, "t-no-lease": true, "t-no-until": true}
	if diff := cmp.Diff(want, claimed); diff != "" {
		t.Errorf("ClaimExpired at %v took (-want +got):\n%s", at(now), diff)
	}

	// A server that knows every running job is an earlier process's passes the far future: it takes them all,
	// and never a queued or finished job. Its own leases end later still, so it takes each once.
	far, farther := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	claimed = map[string]bool{}
	for {
		j, err := s.ClaimExpired(t.Context(), far, store.Lease{Owner: "server-d", Until: farther})
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		must(t, "ClaimExpired", err)
		if claimed[j.ID] {
			t.Fatalf("ClaimExpired in the year 9999 returned %q twice", j.ID)
		}
		claimed[j.ID] = true
	}
	want = map[string]bool{"t-expired": true, "t-no-lease": true, "t-no-until": true, "t-ends-now": true, "t-live": true}
	if diff := cmp.Diff(want, claimed); diff != "" {
		t.Errorf("ClaimExpired in the year 9999 took (-want +got):\n%s", diff)
	}
	for id, status := range map[string]api.JobStatus{"t-finished": api.JobSucceeded, "t-queued": api.JobQueued} {
		got, err := s.GetJob(t.Context(), id)
		must(t, "GetJob", err)
		if got.Status != status || !cmp.Equal(got.Lease, store.Lease{}) {
			t.Errorf("GetJob(%q) after ClaimExpired = %s, lease %v; want %s, no lease", id, got.Status, got.Lease, status)
		}
	}
}

func testJobClaimExpiredConcurrent(t *testing.T, s store.Store) {
	const workers = 8
	expired := store.Lease{Owner: "gone", Until: at(10)}
	now := at(100)
	worker := func(w int) store.Lease { return store.Lease{Owner: fmt.Sprintf("w%d", w), Until: at(1000)} }

	t.Run("one job", func(t *testing.T) {
		_, _, err := s.CreateJob(t.Context(), job("t-one", "t", 0))
		must(t, "CreateJob", err)
		claimAs(t, s, 1, expired)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
		)
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				<-start
				j, err := s.ClaimExpired(t.Context(), now, worker(w))
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimExpired: %v", err)
					return
				}
				if j.ID != "t-one" || !cmp.Equal(j.Lease, expired) {
					t.Errorf("ClaimExpired() = %q with lease %v, want t-one with %v", j.ID, j.Lease, expired)
				}
				mu.Lock()
				winners = append(winners, worker(w).Owner)
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%d concurrent ClaimExpired calls of one expired job: %d won (%v), want 1", workers, len(winners), winners)
		}
		got, err := s.GetJob(t.Context(), "t-one")
		must(t, "GetJob", err)
		if got.Lease.Owner != winners[0] {
			t.Errorf("GetJob(t-one).Lease.Owner = %q, want the winner %q", got.Lease.Owner, winners[0])
		}
	})

	t.Run("many jobs", func(t *testing.T) {
		const jobs = 20
		var want []string
		for i := range jobs {
			id := fmt.Sprintf("t-%05d", i)
			_, _, err := s.CreateJob(t.Context(), job(id, "t", 10+i))
			must(t, "CreateJob", err)
			claimAs(t, s, 20+i, expired)
			want = append(want, id)
		}
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids []string
		)
		for w := range workers {
			wg.Go(func() {
				for {
					j, err := s.ClaimExpired(t.Context(), now, worker(w))
					if err != nil {
						if !errors.Is(err, store.ErrNotFound) {
							t.Errorf("ClaimExpired: %v", err)
						}
						return
					}
					mu.Lock()
					ids = append(ids, j.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		CheckClaimedOnce(t, ids, want)
	})
}
