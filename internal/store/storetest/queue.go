package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func testJobLifecycle(t *testing.T, s store.Store) {
	in := job("t-aaaaa", "t", 0)
	in.Input = []byte(`{"x":1}`)
	want := queued(in)
	stored, _, err := s.CreateJob(t.Context(), in)
	must(t, "CreateJob", err)
	if diff := cmp.Diff(want, stored, opts); diff != "" {
		t.Errorf("CreateJob mismatch (-want +got):\n%s", diff)
	}

	started := at(1)
	want.Status, want.StartTime, want.Lease = api.JobRunning, &started, held
	claimed, err := s.ClaimJob(t.Context(), started, held)
	must(t, "ClaimJob", err)
	if diff := cmp.Diff(want, claimed, opts); diff != "" {
		t.Errorf("ClaimJob mismatch (-want +got):\n%s", diff)
	}

	must(t, "SetJobHandle", s.SetJobHandle(t.Context(), in.ID, "local:1234"))
	want.Handle = "local:1234"
	got, err := s.GetJob(t.Context(), in.ID)
	must(t, "GetJob", err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("GetJob after SetJobHandle mismatch (-want +got):\n%s", diff)
	}

	code := 0
	done := at(2)
	f := store.Finish{Status: api.JobSucceeded, ExitCode: &code, Reason: "", Warnings: []string{"w1", "w2"},
		Stdout: "hello\n^JSON\n{\"a\": [1, 2]}\n^JSON\n", JSONData: []byte(`{"a": [1, 2]}`), Time: done}
	want.Status, want.CompletionTime, want.Completed, want.ExitCode = api.JobSucceeded, &done, 1, &code
	want.Lease = store.Lease{} // an ended job holds none
	want.Warnings, want.Stdout, want.JSONData = f.Warnings, f.Stdout, f.JSONData
	finished, err := s.FinishJob(t.Context(), in.ID, f)
	must(t, "FinishJob", err)
	if diff := cmp.Diff(want, finished, opts); diff != "" {
		t.Errorf("FinishJob mismatch (-want +got):\n%s", diff)
	}
	got, err = s.GetJob(t.Context(), in.ID)
	must(t, "GetJob", err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("GetJob after FinishJob mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.ClaimJob(t.Context(), at(3), held); err == nil {
		t.Errorf("ClaimJob after the only job finished succeeded, want ErrNotFound")
	}
}

func testJobClaimEmpty(t *testing.T, s store.Store) {
	_, err := s.ClaimJob(t.Context(), at(0), held)
	checkErr(t, "ClaimJob on an empty store", err, store.ErrNotFound, "")
}

func testJobClaimFIFO(t *testing.T, s store.Store) {
	// Insertion order differs from create order; claims follow create order.
	order := []int{3, 0, 4, 1, 2}
	for _, n := range order {
		_, _, err := s.CreateJob(t.Context(), job(fmt.Sprintf("t-%05d", n), "t", n))
		must(t, "CreateJob", err)
	}
	var got []string
	for i := range order {
		j, err := s.ClaimJob(t.Context(), at(100+i), held)
		must(t, "ClaimJob", err)
		if j.Status != api.JobRunning || j.StartTime == nil || !j.StartTime.Equal(at(100+i)) {
			t.Errorf("ClaimJob() = %s started %v, want running started %v", j.Status, j.StartTime, at(100+i))
		}
		got = append(got, j.ID)
	}
	want := []string{"t-00000", "t-00001", "t-00002", "t-00003", "t-00004"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claim order (-want +got):\n%s", diff)
	}
	_, err := s.ClaimJob(t.Context(), at(200), held)
	checkErr(t, "ClaimJob with nothing queued", err, store.ErrNotFound, "")
}

// ClaimConcurrently has workers goroutines, spread over claimers, each claim jobs until none is queued. It returns
// every claimed id. Backends use it to claim through several handles on one database.
func ClaimConcurrently(t *testing.T, workers int, claimers ...store.Jobs) []string {
	t.Helper()
	var (
		mu  sync.Mutex
		ids []string
		wg  sync.WaitGroup
	)
	for w := range workers {
		c := claimers[w%len(claimers)]
		wg.Go(func() {
			for {
				j, err := c.ClaimJob(t.Context(), at(1000), held)
				if err != nil {
					if !errors.Is(err, store.ErrNotFound) {
						t.Errorf("ClaimJob: %v", err)
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
	return ids
}

// CheckClaimedOnce fails t unless ids holds each of want exactly once.
func CheckClaimedOnce(t *testing.T, ids, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("job %q claimed %d times, want once", id, n)
		}
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for id := range seen {
			if !yield(id) {
				return
			}
		}
	})
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), got); diff != "" {
		t.Errorf("claimed jobs (-want +got):\n%s", diff)
	}
}

func testJobClaimConcurrent(t *testing.T, s store.Store) {
	const jobs, workers = 200, 8
	var want []string
	for i := range jobs {
		j, _, err := s.CreateJob(t.Context(), job(fmt.Sprintf("t-%05d", i), "t", i))
		must(t, "CreateJob", err)
		want = append(want, j.ID)
	}
	ids := ClaimConcurrently(t, workers, s)
	CheckClaimedOnce(t, ids, want)
	for status, n := range map[api.JobStatus]int{api.JobQueued: 0, api.JobRunning: jobs} {
		got, err := s.CountJobs(t.Context(), status)
		must(t, "CountJobs", err)
		if got != n {
			t.Errorf("CountJobs(%s) = %d, want %d", status, got, n)
		}
	}
}

func testJobSetHandle(t *testing.T, s store.Store) {
	for i := range 3 {
		_, _, err := s.CreateJob(t.Context(), job(fmt.Sprintf("t-%05d", i), "t", i))
		must(t, "CreateJob", err)
	}
	_, err := s.ClaimJob(t.Context(), at(10), held) // t-00000 running
	must(t, "ClaimJob", err)
	_, err = s.ClaimJob(t.Context(), at(11), held) // t-00001 running, then finished
	must(t, "ClaimJob", err)
	_, err = s.FinishJob(t.Context(), "t-00001", store.Finish{Status: api.JobFailed, Time: at(12)})
	must(t, "FinishJob", err)

	tests := []struct {
		name string
		id   string
		kind error
	}{
		{"running", "t-00000", nil},
		{"running, replaced", "t-00000", nil},
		{"finished", "t-00001", store.ErrConflict},
		{"queued", "t-00002", store.ErrConflict},
		{"absent", "t-99999", store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handle := "h-" + tt.name
			err := s.SetJobHandle(t.Context(), tt.id, handle)
			if tt.kind == nil {
				must(t, "SetJobHandle", err)
				got, err := s.GetJob(t.Context(), tt.id)
				must(t, "GetJob", err)
				if got.Handle != handle {
					t.Errorf("GetJob(%q).Handle = %q, want %q", tt.id, got.Handle, handle)
				}
				return
			}
			checkErr(t, fmt.Sprintf("SetJobHandle(%q)", tt.id), err, tt.kind, "")
		})
	}
}

func testJobFinishCounters(t *testing.T, s store.Store) {
	code0, code1 := 0, 1
	tests := []struct {
		name          string
		f             store.Finish
		wantCompleted int
		wantFailed    int
	}{
		{"succeeded", store.Finish{Status: api.JobSucceeded}, 1, 0},
		{"failed", store.Finish{Status: api.JobFailed, ExitCode: &code1, Reason: "exit status 1"}, 0, 1},
		{"cancelled", store.Finish{Status: api.JobCancelled, Reason: api.ReasonCancelled}, 0, 1},
		{"timeout", store.Finish{Status: api.JobFailed, Reason: api.ReasonTimeout}, 0, 1},
		{"output", store.Finish{Status: api.JobSucceeded, ExitCode: &code0, Warnings: []string{"w1", "w2"},
			Stdout: "x\n^JSON\n{\"a\": 1}\n^JSON\n", JSONData: []byte(`{"a": 1}`)}, 1, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("t-%05d", i)
			_, _, err := s.CreateJob(t.Context(), job(id, "t", i))
			must(t, "CreateJob", err)
			_, err = s.ClaimJob(t.Context(), at(100), held)
			must(t, "ClaimJob", err)
			tt.f.Time = at(200)
			got, err := s.FinishJob(t.Context(), id, tt.f)
			must(t, "FinishJob", err)
			if got.Status != tt.f.Status || got.Completed != tt.wantCompleted || got.Failed != tt.wantFailed {
				t.Errorf("FinishJob(%s) = status %s, completed %d, failed %d; want %s, %d, %d",
					tt.name, got.Status, got.Completed, got.Failed, tt.f.Status, tt.wantCompleted, tt.wantFailed)
			}
			if got.Reason != tt.f.Reason || !cmp.Equal(got.ExitCode, tt.f.ExitCode) {
				t.Errorf("FinishJob(%s) = reason %q, exit code %v; want %q, %v", tt.name, got.Reason, got.ExitCode, tt.f.Reason, tt.f.ExitCode)
			}
			if got.CompletionTime == nil || !got.CompletionTime.Equal(at(200)) {
				t.Errorf("FinishJob(%s).CompletionTime = %v, want %v", tt.name, got.CompletionTime, at(200))
			}
			read, err := s.GetJob(t.Context(), id)
			must(t, "GetJob", err)
			if diff := cmp.Diff(read, got, opts); diff != "" {
				t.Errorf("FinishJob(%s) returned a job GetJob does not read back (-read +returned):\n%s", tt.name, diff)
			}
		})
	}
}

func testJobFinishQueued(t *testing.T, s store.Store) {
	_, _, err := s.CreateJob(t.Context(), job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	got, err := s.FinishJob(t.Context(), "t-aaaaa", store.Finish{Status: api.JobCancelled, Reason: api.ReasonCancelled})
	must(t, "FinishJob of a queued job", err)
	if got.Status != api.JobCancelled || got.Failed != 1 || got.StartTime != nil || got.CompletionTime == nil || got.CompletionTime.IsZero() {
		t.Errorf("FinishJob(queued, cancelled) = status %s, failed %d, start %v, completion %v; want cancelled, 1, nil, now",
			got.Status, got.Failed, got.StartTime, got.CompletionTime)
	}
	_, err = s.ClaimJob(t.Context(), at(1), held)
	checkErr(t, "ClaimJob after the queued job was cancelled", err, store.ErrNotFound, "")
}

func testJobFinishTwice(t *testing.T, s store.Store) {
	_, _, err := s.CreateJob(t.Context(), job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	_, err = s.ClaimJob(t.Context(), at(1), held)
	must(t, "ClaimJob", err)
	first, err := s.FinishJob(t.Context(), "t-aaaaa", store.Finish{Status: api.JobSucceeded, Stdout: "first", Time: at(2)})
	must(t, "FinishJob", err)
	for _, st := range []api.JobStatus{api.JobSucceeded, api.JobFailed, api.JobCancelled} {
		_, err = s.FinishJob(t.Context(), "t-aaaaa", store.Finish{Status: st, Stdout: "second", Time: at(3)})
		checkErr(t, "FinishJob again as "+string(st), err, store.ErrConflict, "")
	}
	got, err := s.GetJob(t.Context(), "t-aaaaa")
	must(t, "GetJob", err)
	if diff := cmp.Diff(first, got, opts); diff != "" {
		t.Errorf("GetJob after refused FinishJob calls changed (-first +got):\n%s", diff)
	}
}

func testJobFinishNotFound(t *testing.T, s store.Store) {
	_, err := s.FinishJob(t.Context(), "t-zzzzz", store.Finish{Status: api.JobFailed})
	checkErr(t, `FinishJob("t-zzzzz")`, err, store.ErrNotFound, `job "t-zzzzz" not found`)
}

func testJobFinishNotFinal(t *testing.T, s store.Store) {
	_, _, err := s.CreateJob(t.Context(), job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	for _, st := range []api.JobStatus{api.JobQueued, api.JobRunning, "", "bogus"} {
		if _, err := s.FinishJob(t.Context(), "t-aaaaa", store.Finish{Status: st}); err == nil {
			t.Errorf("FinishJob(status %q) succeeded, want an error", st)
		}
	}
	got, err := s.GetJob(t.Context(), "t-aaaaa")
	must(t, "GetJob", err)
	if got.Status != api.JobQueued {
		t.Errorf("GetJob after refused FinishJob calls: status %s, want queued", got.Status)
	}
}

// testJobStdoutBytes checks that a job's output reads back as the job printed it: any bytes, which need not be
// UTF-8 and may hold NULs.
func testJobStdoutBytes(t *testing.T, s store.Store) {
	_, _, err := s.CreateJob(t.Context(), job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	_, err = s.ClaimJob(t.Context(), at(1), held)
	must(t, "ClaimJob", err)
	const stdout = "ok\x00\xff\xfe, half a rune: \xe2\x82, done\n"
	finished, err := s.FinishJob(t.Context(), "t-aaaaa", store.Finish{Status: api.JobFailed, Stdout: stdout, Time: at(2)})
	must(t, "FinishJob", err)
	got, err := s.GetJob(t.Context(), "t-aaaaa")
	must(t, "GetJob", err)
	for call, j := range map[string]store.Job{"FinishJob": finished, "GetJob": got} {
		if j.Stdout != stdout {
			t.Errorf("%s().Stdout = %q, want %q", call, j.Stdout, stdout)
		}
	}
}

func testJobCount(t *testing.T, s store.Store) {
	for i := range 6 {
		_, _, err := s.CreateJob(t.Context(), job(fmt.Sprintf("t-%05d", i), "t", i))
		must(t, "CreateJob", err)
	}
	for i := range 3 {
		_, err := s.ClaimJob(t.Context(), at(10+i), held)
		must(t, "ClaimJob", err)
	}
	_, err := s.FinishJob(t.Context(), "t-00000", store.Finish{Status: api.JobSucceeded})
	must(t, "FinishJob", err)
	_, err = s.FinishJob(t.Context(), "t-00005", store.Finish{Status: api.JobCancelled})
	must(t, "FinishJob", err)
	want := map[api.JobStatus]int{api.JobQueued: 2, api.JobRunning: 2, api.JobSucceeded: 1, api.JobFailed: 0, api.JobCancelled: 1}
	for status, n := range want {
		got, err := s.CountJobs(t.Context(), status)
		must(t, "CountJobs", err)
		if got != n {
			t.Errorf("CountJobs(%s) = %d, want %d", status, got, n)
		}
	}
}

// testJobsConcurrent runs whole jobs from many goroutines at once, as a busy server does: each caller reads back
// what it wrote as soon as the write returns, a refused write fails alone, and every job is claimed once.
func testJobsConcurrent(t *testing.T, s store.Store) {
	const workers, jobs = 16, 8
	_, _, err := s.CreateJob(t.Context(), job("t-taken", "t", 0))
	must(t, "CreateJob", err)
	var (
		mu      sync.Mutex
		claimed []string
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			ctx := t.Context()
			for i := range jobs {
				id := fmt.Sprintf("t-%02d-%02d", w, i)
				if _, _, err := s.CreateJob(ctx, job(id, "t", 1+i)); err != nil {
					t.Errorf("CreateJob(%s): %v", id, err)
					return
				}
				if _, err := s.GetJob(ctx, id); err != nil {
					t.Errorf("GetJob(%s) after CreateJob returned: %v", id, err)
				}
				_, _, err := s.CreateJob(ctx, job("t-taken", "u", 0))
				checkErr(t, "CreateJob(t-taken) again", err, store.ErrConflict, "")
				// This worker's job at least is queued.
				j, err := s.ClaimJob(ctx, at(100), held)
				if err != nil {
					t.Errorf("ClaimJob: %v", err)
					return
				}
				mu.Lock()
				claimed = append(claimed, j.ID)
				mu.Unlock()
				handle := "h-" + j.ID
				must(t, "SetJobHandle", s.SetJobHandle(ctx, j.ID, handle))
				_, err = s.FinishJob(ctx, j.ID, store.Finish{Status: api.JobSucceeded, Stdout: j.ID, Time: at(200)})
				must(t, "FinishJob", err)
				_, err = s.FinishJob(ctx, j.ID, store.Finish{Status: api.JobFailed, Time: at(300)})
				checkErr(t, "FinishJob again", err, store.ErrConflict, "")
				got, err := s.GetJob(ctx, j.ID)
				if err != nil || got.Status != api.JobSucceeded || got.Handle != handle || got.Stdout != j.ID {
					t.Errorf("GetJob(%s) after FinishJob returned = %s, handle %q, stdout %q, %v; want succeeded, %q, %q",
						j.ID, got.Status, got.Handle, got.Stdout, err, handle, j.ID)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range claimed {
		if seen[id] {
			t.Errorf("job %q claimed twice", id)
		}
		seen[id] = true
	}
	for status, n := range map[api.JobStatus]int{api.JobQueued: 1, api.JobRunning: 0, api.JobSucceeded: workers * jobs} {
		got, err := s.CountJobs(t.Context(), status)
		must(t, "CountJobs", err)
		if got != n {
			t.Errorf("CountJobs(%s) = %d, want %d", status, got, n)
		}
	}
}
