//go:build linux

package local

import (
	"slices"
	"sync"
	"time"

	"github.com/runplane/runplane/internal/executor/cgroup"
)

// threads runs jobs on OS threads of their own (a job's thread takes on its namespaces, its control group, its
// seccomp filter), keeping threads started and prepared ahead, so that a job waits neither for the runtime to make
// a thread nor for what prepare does. A job that reports its thread reusable (an in-process sandbox, emptied
// again) hands it on to the next job; any other thread ends with its job.
//
// A thread that has served a job waits for the next one for up to idleFor, then ends: a load that keeps a number
// of threads busy keeps them, rather than ending those beyond a fixed count whenever they are idle at once and
// preparing new ones (a namespace set-up each, and an init) a moment later. The last thread to go idle is the
// first to serve again, so that those the load no longer needs are the ones that wait long enough to end.
type threads struct {
	prepare func() *thread // run on each thread before its first job; nil for nothing
	idleFor time.Duration

	mu   sync.Mutex
	idle []chan func(*thread) bool // threads waiting for a job, the last to go idle last; each chan buffered
}

// thread is what a thread's preparation gave it, which each of its jobs gets.
type thread struct {
	err   error  // how the preparation went: a thread that failed serves one job, which fails with err
	pidns *pidNS // the PID namespace of an in-process sandbox's thread (pidns.go); nil for none
}

const (
	// idleFor is how long a thread waits for a job before it ends.
	idleFor = 30 * time.Second
	// maxIdle bounds how many threads wait for jobs; more end at once.
	maxIdle = 64
)

func newThreads(prepare func() *thread) *threads {
	t := &threads{prepare: prepare, idleFor: idleFor}
	t.refill()
	return t
}

func (t *threads) ready() *thread {
	if t.prepare == nil {
		return &thread{}
	}
	return t.prepare()
}

// refill starts a thread that prepares itself, then serves jobs.
func (t *threads) refill() {
	cgroup.Go(func() { t.serve(t.ready()) })
}

// serve offers the calling thread for jobs until one leaves it unusable, or none comes within idleFor.
func (t *threads) serve(th *thread) {
	defer th.close()
	work := make(chan func(*thread) bool, 1)
	timer := time.NewTimer(t.idleFor)
	defer timer.Stop()
	for {
		t.mu.Lock()
		if len(t.idle) >= maxIdle {
			t.mu.Unlock()
			return
		}
		t.idle = append(t.idle, work)
		t.mu.Unlock()
		timer.Reset(t.idleFor)
		var f func(*thread) bool
		select {
		case f = <-work:
		case <-timer.C:
			t.mu.Lock()
			i := slices.Index(t.idle, work)
			if i >= 0 {
				t.idle = slices.Delete(t.idle, i, i+1)
			}
			t.mu.Unlock()
			if i >= 0 {
				return
			}
			f = <-work // taken meanwhile: its job is on the way
		}
		if !f(th) || th.err != nil {
			return
		}
	}
}

// run runs f on a thread of its own (not the main thread), prepared (th.err is how that went). The thread ends
// when f returns, unless f says it can serve another job.
func (t *threads) run(f func(th *thread) bool) {
	t.mu.Lock()
	var w chan func(*thread) bool
	if n := len(t.idle); n > 0 {
		w, t.idle = t.idle[n-1], t.idle[:n-1]
	}
	none := len(t.idle) == 0
	t.mu.Unlock()
	if w == nil {
		cgroup.Go(func() { t.serve0(f) })
		return
	}
	w <- f // buffered, and taken from the list: it never blocks
	if none {
		t.refill()
	}
}

// serve0 runs f on a new thread, then serves more jobs if f leaves the thread usable.
func (t *threads) serve0(f func(*thread) bool) {
	th := t.ready()
	if f(th) && th.err == nil {
		t.serve(th)
		return
	}
	th.close()
}

// close lets go of what the thread's preparation holds open; the thread ends.
func (th *thread) close() {
	if th.pidns != nil {
		th.pidns.close()
	}
}

// idleCount is how many threads wait for jobs.
func (t *threads) idleCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.idle)
}
