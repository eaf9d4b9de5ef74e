package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// holdWriter takes the writer's token, so that writes queue instead of running; release lets the queue go, and
// the goroutine that leads next takes everything queued (up to maxBatch) into one transaction.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	s.wr.token <- struct{}{}
	return func() { <-s.wr.token }
}

func queued(s *Store) int {
	s.wr.mu.Lock()
	defer s.wr.mu.Unlock()
	return len(s.wr.queue)
}

// waitQueued waits until n writes are queued.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); queued(s) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", queued(s), n)
		}
	}
}

// inOneBatch runs the writes in one batch, in order, and returns their errors.
func inOneBatch(t *testing.T, s *Store, writes ...func() error) []error {
	t.Helper()
	release := holdWriter(t, s)
	errs := make([]error, len(writes))
	done := make(chan int, len(writes))
	for i, w := range writes {
		go func() {
			errs[i] = w()
			done <- i
		}()
		waitQueued(t, s, i+1)
	}
	release()
	for range writes {
		<-done
	}
	return errs
}

func TestBatchFailuresStayAlone(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateRunner(ctx, api.Runner{Name: "r", GitURL: "https://x/y.git"}))
	must(s.CreateTask(ctx, api.Task{Name: "t", Runner: "r", Command: "true"}))
	create := func(id string) error {
		_, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: id, Task: "t"}})
		return err
	}
	must(create("t-taken"))
	must(create("t-ended"))
	_, err := s.FinishJob(ctx, "t-ended", store.Finish{Status: api.JobCancelled})
	must(err)

	var claimed store.Job
	tests := []struct {
		name  string
		write func() error
		kind  error // nil: succeeds
	}{
		{"create", func() error { return create("t-new1") }, nil},
		{"create a taken id", func() error { return create("t-taken") }, store.ErrConflict},
		{"finish an ended job", func() error {
			_, err := s.FinishJob(ctx, "t-ended", store.Finish{Status: api.JobSucceeded, Stdout: "late"})
			return err
		}, store.ErrConflict},
		{"delete a runner in use", func() error { return s.DeleteRunner(ctx, "r") }, store.ErrConflict},
		{"claim", func() error {
			var err error
			claimed, err = s.ClaimJob(ctx, time.Now(), store.Lease{Owner: "a", Until: time.Now().Add(time.Minute)})
			return err
		}, nil},
		{"handle of an absent job", func() error { return s.SetJobHandle(ctx, "t-absent", "h") }, store.ErrNotFound},
		{"handle of the job created in this batch", func() error { return s.SetJobHandle(ctx, "t-new1", "h") },
			store.ErrConflict},
		{"create again", func() error { return create("t-new2") }, nil},
	}
	var writes []func() error
	for _, tt := range tests {
		writes = append(writes, tt.write)
	}
	errs := inOneBatch(t, s, writes...)
	for i, tt := range tests {
		if tt.kind == nil && errs[i] != nil || tt.kind != nil && !errors.Is(errs[i], tt.kind) {
			t.Errorf("%s in a batch: error %v, want %v", tt.name, errs[i], tt.kind)
		}
	}

	// The failures changed nothing; everything else committed.
	if _, err := s.GetRunner(ctx, "r"); err != nil {
		t.Errorf("GetRunner after a refused DeleteRunner in a batch: %v", err)
	}
	if j, err := s.GetJob(ctx, "t-ended"); err != nil || j.Status != api.JobCancelled || j.Stdout != "" {
		t.Errorf("GetJob(t-ended) after a refused FinishJob in a batch = %s %q, %v; want cancelled, no stdout",
			j.Status, j.Stdout, err)
	}
	for _, id := range []string{"t-new1", "t-new2", "t-taken"} {
		if _, err := s.GetJob(ctx, id); err != nil {
			t.Errorf("GetJob(%s) after the batch: %v", id, err)
		}
	}
	if claimed.ID != "t-taken" {
		t.Errorf("ClaimJob in a batch = %q, want the oldest queued job t-taken", claimed.ID)
	}
}

func TestBatchBrokenTransaction(t *testing.T) {
	// An operation whose error ended the whole transaction (SQLite does so on I/O errors and a full disk) fails the
	// batch: the operations before it are lost, so their callers must not be told they succeeded.
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	ctx := t.Context()
	create := func(id string) error {
		_, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: id, Task: "t"}})
		return err
	}
	errBroken := errors.New("broken")
	errs := inOneBatch(t, s,
		func() error { return create("t-before") },
		func() error {
			return s.wr.do(ctx, func(tx *wtx) error {
				if _, err := tx.tx.ExecContext(tx.ctx, `ROLLBACK`); err != nil {
					return err
				}
				return errBroken
			})
		},
		func() error { return create("t-after") },
	)
	if !errors.Is(errs[1], errBroken) {
		t.Errorf("the breaking operation: error %v, want its own", errs[1])
	}
	for i, id := range map[int]string{0: "t-before", 2: "t-after"} {
		if errs[i] == nil {
			t.Errorf("CreateJob(%s) in a broken batch succeeded, want an error", id)
		}
		if _, err := s.GetJob(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetJob(%s) after a broken batch: error %v, want ErrNotFound", id, err)
		}
	}
	// The writer is usable again.
	if err := create("t-next"); err != nil {
		t.Errorf("CreateJob after a broken batch: %v", err)
	}
}

func TestWriteCancelledWhileQueued(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: "t-aaaaa", Task: "t"}})
		errc <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	// It returns while the writer is still held: it does not wait for a batch.
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("CreateJob cancelled while queued: error %v, want context.Canceled", err)
	}
	if n := queued(s); n != 0 {
		t.Errorf("%d writes queued after the only one was cancelled, want 0", n)
	}
	release()
	if _, err := s.GetJob(t.Context(), "t-aaaaa"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob of a create cancelled while queued: error %v, want ErrNotFound", err)
	}
}

func TestWriteCancelledBeforeTaken(t *testing.T) {
	// The leader drops an operation whose context ended before the batch took it, even if its caller has not
	// noticed yet.
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	op := &writeOp{ctx: ctx, fn: func(*wtx) error { t.Error("a cancelled operation ran"); return nil },
		done: make(chan struct{})}
	s.wr.mu.Lock()
	s.wr.queue = append(s.wr.queue, op)
	s.wr.mu.Unlock()
	if err := s.wr.do(t.Context(), func(*wtx) error { return nil }); err != nil {
		t.Fatalf("write behind a cancelled one: %v", err)
	}
	select {
	case <-op.done:
		if !errors.Is(op.err, context.Canceled) {
			t.Errorf("cancelled operation: error %v, want context.Canceled", op.err)
		}
	default:
		t.Errorf("cancelled operation still waiting after a batch ran")
	}
}

func TestWritePanicReleasesWriter(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("a panicking write did not panic")
			}
		}()
		s.wr.do(t.Context(), func(tx *wtx) error {
			if _, err := tx.exec(insertJob, "t-panic", "", "t", "queued", 0, "", nil, "", nil, nil, "", "", "", "", "", nil, nil, nil); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	// The token is free, no transaction is left open, and the panicking write's change is gone.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: "t-after", Task: "t"}}); err != nil {
		t.Fatalf("CreateJob after a panicking write: %v", err)
	}
	if _, err := s.GetJob(ctx, "t-panic"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob of the panicking write's job: error %v, want ErrNotFound", err)
	}
}

func TestBatchLimit(t *testing.T) {
	// More writes than fit a batch all complete, in several.
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	var writes []func() error
	for i := range 2*maxBatch + 3 {
		writes = append(writes, func() error {
			_, _, err := s.CreateJob(t.Context(), store.Job{Job: api.Job{ID: fmt.Sprintf("t-%05d", i), Task: "t"}})
			return err
		})
	}
	for i, err := range inOneBatch(t, s, writes...) {
		if err != nil {
			t.Errorf("CreateJob #%d: %v", i, err)
		}
	}
	if n, err := s.CountJobs(t.Context(), api.JobQueued); err != nil || n != len(writes) {
		t.Errorf("CountJobs(queued) = %d, %v; want %d", n, err, len(writes))
	}
}

func TestBatchCommitFails(t *testing.T) {
	// A deferred foreign key violation fails the COMMIT and leaves SQLite's transaction open; the driver rolls it
	// back (database/sql no longer knows of it), else every later BEGIN would fail. This pins that.
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	ctx := t.Context()
	errs := inOneBatch(t, s,
		func() error {
			_, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: "t-lost", Task: "t"}})
			return err
		},
		func() error {
			return s.wr.do(ctx, func(tx *wtx) error {
				for _, q := range []string{
					`CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)`,
					`CREATE TEMP TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`,
					`INSERT INTO child VALUES (1)`,
				} {
					if _, err := tx.tx.ExecContext(tx.ctx, q); err != nil {
						return err
					}
				}
				return nil
			})
		},
	)
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "commit") {
			t.Errorf("write #%d of a batch whose commit failed: error %v, want the commit's", i, err)
		}
	}
	if _, err := s.GetJob(ctx, "t-lost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob of a create whose commit failed: error %v, want ErrNotFound", err)
	}
	if _, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: "t-next", Task: "t"}}); err != nil {
		t.Errorf("CreateJob after a failed commit: %v", err)
	}
}
