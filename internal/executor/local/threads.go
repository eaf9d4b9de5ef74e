//go:build linux

package local

import "github.com/runplane/runplane/internal/executor/cgroup"

// threads runs jobs on OS threads of their own (a job's thread takes on its namespaces, its control group, its
// seccomp filter), keeping threads started and prepared ahead, so that a job waits neither for the runtime to make
// a thread nor for what prepare does. A job that reports its thread reusable (an in-process sandbox, emptied
// again) hands it on to the next job; any other thread ends with its job.
type threads struct {
	prepare func() error // run on each thread before its first job; nil for nothing
	spare   chan chan func(ready error) bool
}

// maxSpare is how many prepared threads wait for jobs at most; more end.
const maxSpare = 8

func newThreads(prepare func() error) *threads {
	t := &threads{prepare: prepare, spare: make(chan chan func(error) bool, maxSpare)}
	t.refill()
	return t
}

func (t *threads) ready() error {
	if t.prepare == nil {
		return nil
	}
	return t.prepare()
}

// refill starts a thread that prepares itself, then serves jobs.
func (t *threads) refill() {
	cgroup.Go(func() { t.serve(t.ready()) })
}

// serve offers the calling thread for jobs until one leaves it unusable, or enough others wait.
func (t *threads) serve(ready error) {
	for {
		work := make(chan func(error) bool)
		select {
		case t.spare <- work:
		default:
			return
		}
		if !(<-work)(ready) || ready != nil {
			return
		}
	}
}

// run runs f on a thread of its own (not the main thread), prepared (ready is how that went). The thread ends
// when f returns, unless f says it can serve another job.
func (t *threads) run(f func(ready error) bool) {
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
func (t *threads) serve0(f func(error) bool) {
	ready := t.ready()
	if f(ready) && ready == nil {
		t.serve(nil)
	}
}
