//go:build linux

package local

import "github.com/runplane/runplane/internal/executor/cgroup"

// threads runs jobs on OS threads of their own (a job's thread takes on its namespaces, its control group, its
// seccomp filter), keeping threads started and prepared ahead, so that a job waits neither for the runtime to make
// a thread nor for what prepare does. A job that reports its thread reusable (an in-process sandbox, emptied
// again) hands it on to the next job; any other thread ends with its job.
type threads struct {
	prepare func() *thread // run on each thread before its first job; nil for nothing
	spare   chan chan func(*thread) bool
}

// thread is what a thread's preparation gave it, which each of its jobs gets.
type thread struct {
	err   error  // how the preparation went: a thread that failed serves one job, which fails with err
	pidns *pidNS // the PID namespace of an in-process sandbox's thread (pidns.go); nil for none
}

// maxSpare is how many prepared threads wait for jobs at most; more end.
const maxSpare = 8

func newThreads(prepare func() *thread) *threads {
	t := &threads{prepare: prepare, spare: make(chan chan func(*thread) bool, maxSpare)}
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

// serve offers the calling thread for jobs until one leaves it unusable, or enough others wait.
func (t *threads) serve(th *thread) {
	defer th.close()
	for {
		work := make(chan func(*thread) bool)
		select {
		case t.spare <- work:
		default:
			return
		}
		if !(<-work)(th) || th.err != nil {
			return
		}
	}
}

// run runs f on a thread of its own (not the main thread), prepared (th.err is how that went). The thread ends
// when f returns, unless f says it can serve another job.
func (t *threads) run(f func(th *thread) bool) {
	select {
	case w := <-t.spare:
		w <- f
		if len(t.spare) == 0 {
			t.refill()
		}
	default:
		cgroup.Go(func() { t.serve0(f) })
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
