//go:build linux

package local

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// burst runs n jobs on ts at once, each until all have started, and returns once their threads wait for more,
// and with them the thread that run starts when a job takes the last waiting one (it prepares itself while the
// jobs run, so the next burst must not start before it waits too: it would count twice).
func burst(t *testing.T, ts *threads, n int) {
	t.Helper()
	before := ts.idleCount()
	want := max(before, n)
	if before > 0 && before <= n {
		want++ // the last waiting thread was taken: run started a spare
	}
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		ts.run(func(*thread) bool {
			started.Done()
			<-release
			return true
		})
	}
	started.Wait()
	close(release)
	waitUntil(t, "the threads to wait for jobs", func() bool { return ts.idleCount() == want })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestThreadsServeBurstAfterBurst: the threads a burst of jobs needed serve the next burst instead of ending and
// being prepared again (each preparation of a sandbox's thread is a namespace set-up and an init); threads that
// no job needs for idleFor end.
func TestThreadsServeBurstAfterBurst(t *testing.T) {
	tests := []struct {
		name           string
		size, bursts   int
		idleFor        time.Duration
		maxPrepared    int32 // after the bursts
		idleAfterwards int   // once idleFor has passed
	}{
		{"one burst", 12, 1, time.Hour, 12, 12},
		{"bursts larger than the old spare count of 8", 20, 4, time.Hour, 21, 21},
		{"idle threads end", 12, 2, 3 * time.Second, 13, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prepared atomic.Int32
			ts := &threads{prepare: func() *thread { prepared.Add(1); return &thread{} }, idleFor: tc.idleFor}
			for range tc.bursts {
				burst(t, ts, tc.size)
			}
			if n := prepared.Load(); n > tc.maxPrepared {
				t.Errorf("%d bursts of %d jobs prepared %d threads, want at most %d", tc.bursts, tc.size, n, tc.maxPrepared)
			}
			waitUntil(t, "the idle threads", func() bool { return ts.idleCount() == tc.idleAfterwards })
		})
	}
}
