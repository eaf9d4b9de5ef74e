package kubeexec

import (
	"context"
	"io"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// attempt is what the executor knows of one Job it runs. It ends (done closes) once its result is known and its
// log stream, if one started, has ended: everything the job wrote is in out by then.
type attempt struct {
	name string
	out  io.Writer
	done chan struct{}

	mu         sync.Mutex
	pod        string           // the pod's name, once seen
	stopping   bool             // Stop was called
	pending    string           // why the pod has not started, while it has not
	exit       *executor.Result // how it ended, once known
	logging    bool             // a log stream was started
	logsDone   bool             // ... and has ended
	steps      []step           // the containers whose logs are the output, in order
	multi      bool             // steps are Spec.Containers: their logs have headers, the result their statuses
	nonce      string           // the end marker's nonce of a one-container pod (fastPath); "" for the others
	st         []*stepState     // by step
	statuses   []api.ContainerStatus
	over       chan struct{} // closed when exit is known
	warnings   []string      // added to the result
	keep       string        // where the kept files go (Spec.Keep), when the last step is the keep container
	cancelLogs context.CancelFunc
	closeOut   func() // releases out once nothing writes to it any more
	secret     bool   // the attempt has a Secret, not yet deleted
	checkedOut bool   // the checkout container has ended well
	final      bool   // done is closed
	res        executor.Result
	onFinal    func() // called once done is closed
	timer      *time.Timer
	started    time.Time // Start or Recover
}

// stepState is what is known of one step's container.
type stepState struct {
	started  chan struct{} // closed when it is seen running or terminated
	ended    chan struct{} // closed when it is seen terminated
	outBytes int64         // ... with this many bytes of output, by its termination message; -1 unknown
	failed   bool          // ... with a non-zero exit code: the steps after it do not run
	marked   bool          // ... after writing its log's end marker (a one-container pod's)
}

func newStepState() *stepState {
	return &stepState{started: make(chan struct{}), ended: make(chan struct{}), outBytes: -1}
}

// newAttempt returns an attempt writing to out the logs of steps (nil: a command job's). An *os.File is
// duplicated: the caller may close its copy once Start returns, as it can for a local process that inherited it.
func newAttempt(name string, out io.Writer, steps []step) *attempt {
	a := &attempt{name: name, out: out, done: make(chan struct{}), over: make(chan struct{}),
		closeOut: func() {}, started: time.Now(), steps: steps, multi: steps != nil}
	if !a.multi {
		a.steps = commandStep
	}
	for range a.steps {
		a.st = append(a.st, newStepState())
	}
	if f, ok := out.(*os.File); ok {
		if fd, err := syscall.Dup(int(f.Fd())); err == nil {
			dup := os.NewFile(uintptr(fd), f.Name())
			a.out, a.closeOut = dup, func() { dup.Close() }
		}
	}
	return a
}

func (a *attempt) armStartTimer(d time.Duration, f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exit == nil && a.timer == nil {
		a.timer = time.AfterFunc(max(d, 0), f)
	}
}

func (a *attempt) stopTimer() {
	if a.timer != nil {
		a.timer.Stop()
	}
}

func (a *attempt) result() executor.Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.res
}

// endLocked records how the attempt ended; the first answer wins. A log stream still running is left to end on
// its own when the container ended normally (it then has all the output), and cut otherwise.
func (a *attempt) endLocked(r executor.Result, containerEnded bool) {
	if a.exit != nil {
		return
	}
	if a.multi {
		r.Containers = a.statuses
		if r.Containers == nil {
			r.Containers = containerStatuses(nil, a.shown())
		}
	}
	a.exit = &r
	close(a.over)
	a.stopTimer()
	if a.logging && !a.logsDone {
		if !containerEnded {
			a.cancelLogs()
		}
		return
	}
	a.finalLocked()
}

// shown are the steps the job's user sees: all but the keep container.
func (a *attempt) shown() []step {
	if n := len(a.steps); n > 0 && a.steps[n-1].keep {
		return a.steps[:n-1]
	}
	return a.steps
}

// warn adds a warning to the result; the log stream calls it before it ends.
func (a *attempt) warn(w string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.warnings = append(a.warnings, w)
}

// stepStartedLocked records that step i's container has started; it reports whether that is news.
func (a *attempt) stepStartedLocked(i int) bool {
	select {
	case <-a.st[i].started:
		return false
	default:
		close(a.st[i].started)
		return true
	}
}

// stepEndedLocked records that step i's container has ended, with n bytes of output (-1: not known), whether it
// failed, and whether it wrote an end marker.
func (a *attempt) stepEndedLocked(i int, n int64, failed, marked bool) {
	a.stepStartedLocked(i)
	select {
	case <-a.st[i].ended:
	default:
		a.st[i].outBytes, a.st[i].failed, a.st[i].marked = n, failed, marked
		close(a.st[i].ended)
	}
}

// stepFailed reports whether step i's container has ended with a non-zero exit code.
func (a *attempt) stepFailed(i int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return ended(a.st[i].ended) && a.st[i].failed
}

// waitStarted waits until step i's container has started; false if it never will (the attempt ended first) or
// ctx ends.
func (a *attempt) waitStarted(ctx context.Context, i int) bool {
	select {
	case <-a.st[i].started:
		return true
	case <-a.over:
		select {
		case <-a.st[i].started:
			return true
		default:
			return false
		}
	case <-ctx.Done():
		return false
	}
}

// outputLength waits until step i's container has ended and returns its output's length in bytes (-1: not
// known); false if ctx ends first.
func (a *attempt) outputLength(ctx context.Context, i int) (int64, bool) {
	select {
	case <-a.st[i].ended:
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.st[i].outBytes, true
	case <-ctx.Done():
		return 0, false
	}
}

// endMarked reports whether step i's container has ended after writing its log's end marker.
func (a *attempt) endMarked(i int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return ended(a.st[i].ended) && a.st[i].marked
}

// outputLengthNow is step i's output's length in bytes if its container has ended and said it, else -1.
func (a *attempt) outputLengthNow(i int) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st[i].outBytes
}

// logsEnded is called once by the log stream when it ends.
func (a *attempt) logsEnded() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logsDone = true
	if a.exit != nil {
		a.finalLocked()
	}
}

func (a *attempt) finalLocked() {
	if a.final {
		return
	}
	a.final = true
	a.res = *a.exit
	a.res.Warnings = append(slices.Clone(a.res.Warnings), a.warnings...)
	a.closeOut()
	close(a.done)
	if a.onFinal != nil {
		a.onFinal()
	}
}
