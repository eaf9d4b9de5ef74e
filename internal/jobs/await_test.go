package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
)

// readCounter is the real store, counting GetJob calls.
type readCounter struct {
	*sqlite.Store
	gets atomic.Int64
}

func (c *readCounter) GetJob(ctx context.Context, id string) (store.Job, error) {
	c.gets.Add(1)
	return c.Store.GetJob(ctx, id)
}

// TestAwaitHandsOverTheFinalJob checks that a waiter woken by the job's end gets the job as the engine stored it,
// without reading it back (a synchronous run's answer waits for nothing more), and that it is the job the store
// holds.
func TestAwaitHandsOverTheFinalJob(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	reads := &readCounter{Store: e.st}
	e.eng = jobs.New(reads, e.ex, e.logs, jobs.Options{})
	gate := filepath.Join(e.dir, "go")
	e.task(t, api.Task{Name: "gated", Command: "while [ ! -e " + gate + " ]; do sleep 0.01; done; echo done"})
	e.start(t)

	sub, err := e.eng.Submit(t.Context(), jobs.Request{Task: "gated", Owner: "alice", OwnerID: "u-alice"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, sub.ID, api.JobRunning)
	before := reads.gets.Load()
	type result struct {
		job store.Job
		err error
	}
	awaited := make(chan result, 1)
	go func() {
		j, err := e.eng.Await(t.Context(), sub.ID, 30*time.Second)
		awaited <- result{j, err}
	}()
	// Let the job end only once Await has looked at it (its one read) and waits.
	for deadline := time.Now().Add(10 * time.Second); reads.gets.Load() == before; {
		if time.Now().After(deadline) {
			t.Fatal("Await did not read the job within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var got result
	select {
	case got = <-awaited:
	case <-time.After(30 * time.Second):
		t.Fatal("Await did not return within 30s of the job's end")
	}
	if got.err != nil || got.job.Status != api.JobSucceeded {
		t.Fatalf("Await(%s) = %s, %v; want succeeded", sub.ID, got.job.Status, got.err)
	}
	if n := reads.gets.Load() - before; n != 1 {
		t.Errorf("Await(%s) read the job %d times, want once (before it waited)", sub.ID, n)
	}
	stored, err := e.st.GetJob(t.Context(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, got.job); diff != "" {
		t.Errorf("Await(%s) returned a job the store does not hold (-stored +returned):\n%s", sub.ID, diff)
	}
}
