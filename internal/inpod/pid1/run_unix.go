//go:build unix

package pid1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// forwarded are the signals Run passes on to the command's process group: what the kubelet sends to stop a
// container (SIGTERM) and what a person at a terminal would.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// afterExit is how long Run still waits for the end of the output once the command has ended, while a background
// process of the command holds the pipe open: what is in the pipe then is copied still, and a process that goes
// on writing would have been killed with the container anyway.
const afterExit = 100 * time.Millisecond

// readLimit bounds how long Run waits, once the command has ended, for the container runtime to read the
// output it copied. If the runtime was behind, Run then gives it the time to write to the log what it may
// still hold, at worst as much as was written, as if the runtime wrote 100 KB/s, and at most maxSlack.
const (
	readLimit = 30 * time.Second
	maxSlack  = time.Second
)

func slackFor(written int64) time.Duration {
	return min(maxSlack, time.Duration(written)*10*time.Microsecond)
}

// Run is PID 1 of a job's container: `runplane-pid1 -- args...` or `runplane pod run -- args...`. It starts args (args[0] is looked up in
// PATH) with the environment and working directory unchanged, stdin /dev/null, stdout and stderr both on one pipe
// (the two streams interleave exactly as written) that it copies to stdout, in a process group of its own. It
// forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to that whole group, reaps every orphan handed to it while it
// waits, and returns the command's exit code (128+signal if a signal killed it).
//
// Its termination log says how the command ended (see Report): the signal that killed it, and how many bytes of
// output it copied, so that whoever reads the container's log knows when it has all of it.
//
// It writes nothing of its own to stdout, and to stderr only when the command cannot be started (exit code 127
// if it is not found, 126 if it cannot be executed, 1 otherwise). It waits for every child of the process, so
// nothing else in the process may start one.
func Run(args []string, getenv func(string) string, stdout *os.File, stderr io.Writer) int {
	return RunStep(Step{}, args, getenv, stdout, stderr)
}

// notRunCode is the exit code of a step that did not run its command. The executor tells it by its report
// (Report.NotRun), not by the code; the step before it, which failed, says how the job ended.
const notRunCode = 1

// RunStep is Run as one step of several started together (see Step): it first waits for step.After, and runs
// args only if that step succeeded; then it writes step.Done (also when it fails to start args), and its report
// says when the command started and ended.
func RunStep(step Step, args []string, getenv func(string) string, stdout *os.File, stderr io.Writer) int {
	logPath := TerminationLogPath(getenv)
	fail := func(code int, err error) int {
		msg := Name + ": " + err.Error()
		WriteTerminationLog(logPath, msg)
		WriteMarker(step.Done, code)
		fmt.Fprintln(stderr, msg)
		return code
	}
	// Notify before anything starts: a signal that arrives meanwhile waits in the channel and is forwarded, or
	// ends the wait for the previous step.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if step.After != "" {
		if ok, why := AwaitMarker(step.After, sigs); !ok {
			WriteTerminationLog(logPath, Report{NotRun: why}.String())
			WriteMarker(step.Done, -1)
			return notRunCode
		}
	}
	if len(args) == 0 {
		return fail(1, errors.New("no command"))
	}
	path, err := exec.LookPath(args[0])
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fail(126, err)
	case err != nil && !errors.Is(err, exec.ErrDot):
		return fail(127, err)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return fail(1, err)
	}
	becomeSubreaper()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fail(1, err)
	}
	defer pr.Close()
	out := pw.Fd() // blocking for the command: Fd clears O_NONBLOCK on the write end, the read end keeps it
	started := time.Now()
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{devNull.Fd(), out, out},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	devNull.Close()
	pw.Close()
	if err != nil {
		code := 1
		switch {
		case errors.Is(err, syscall.ENOENT):
			code = 127
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.ENOEXEC):
			code = 126
		}
		return fail(code, fmt.Errorf("start %s: %w", args[0], err))
	}

	done := make(chan struct{})
	defer close(done)
	go Forward(sigs, pid, done)
	oc := &outputCopier{dst: stdout, src: pr, buf: make([]byte, 64<<10)}
	copied := make(chan struct{})
	go func() {
		oc.copy()
		close(copied)
	}()
	ws, err := WaitFor(pid)
	if err != nil {
		return fail(1, err)
	}
	ended := time.Now()
	select {
	case <-copied: // the output's end
	case <-time.After(afterExit): // a background process holds the pipe open
		_ = pr.SetReadDeadline(time.Now())
		<-copied
		oc.drain()
	}
	rep := Report{OutputBytes: oc.n - oc.crlf}
	code := ws.ExitStatus()
	if ws.Signaled() {
		rep.Signal = signalMessage(ws)
		code = 128 + int(ws.Signal())
	}
	if step.Done != "" {
		rep.Started, rep.Ended = started, ended
		// The next step may start now: its output goes to its own log, read after this one's.
		WriteMarker(step.Done, code)
	}
	waitRead(stdout, readLimit, slackFor(oc.n))
	WriteTerminationLog(logPath, rep.String())
	return code
}

// Forward passes each signal received on sigs to the process group of pid, the command's (so that its children
// get it too: `sh -c 'sleep 1000'` ends at once), or to pid alone if the command has left that group, until done
// closes. The local executor's launcher, PID 1 of a job's namespace, uses it too.
func Forward(sigs <-chan os.Signal, pid int, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			sig := s.(syscall.Signal)
			if err := syscall.Kill(-pid, sig); errors.Is(err, syscall.ESRCH) {
				_ = syscall.Kill(pid, sig)
			}
		}
	}
}

// WaitFor reaps children until pid ends and returns its status. The others are orphans the kernel gave this
// process (as PID 1 of a container or namespace, or as a subreaper): reaping them keeps zombies from piling up.
func WaitFor(pid int) (syscall.WaitStatus, error) {
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait: %w", err)
		}
		if wpid == pid {
			return ws, nil
		}
	}
}

// signalMessage says how a process a signal killed ended, in the words of os.ProcessState.String.
func signalMessage(ws syscall.WaitStatus) string {
	msg := "signal: " + ws.Signal().String()
	if ws.CoreDump() {
		msg += " (core dumped)"
	}
	return msg
}

// outputCopier copies the command's output (src, the read end of its pipe) to dst, counting what dst took. It reads
// on when dst fails, so that the command never blocks on a full pipe.
type outputCopier struct {
	dst  io.Writer
	src  *os.File
	buf  []byte
	n    int64 // bytes dst took
	werr error // dst's first error
	// crlf counts the "\r\n" line ends among them: containerd's CRI logger writes each line to the log without
	// its "\r", so the log holds n-crlf bytes of it (the report's count), and a job printing CRLF lines would
	// otherwise look to the executor as if its log's end were still missing. cr: the last byte taken was '\r'.
	crlf int64
	cr   bool
}

func (c *outputCopier) write(p []byte) {
	if c.werr == nil {
		w, err := c.dst.Write(p)
		c.n += int64(w)
		c.werr = err
		c.countCRLF(p[:w])
	}
}

// countCRLF counts the "\r\n" in p, and one across the end of the previous write and p's start.
func (c *outputCopier) countCRLF(p []byte) {
	if len(p) == 0 {
		return
	}
	if c.cr && p[0] == '\n' {
		c.crlf++
	}
	c.crlf += int64(bytes.Count(p, crlf))
	c.cr = p[len(p)-1] == '\r'
}

var crlf = []byte("\r\n")

// copy copies until src ends: EOF, or its read deadline (which can pass with data still in the pipe: see drain).
func (c *outputCopier) copy() {
	for {
		r, err := c.src.Read(c.buf)
		if r > 0 {
			c.write(c.buf[:r])
		}
		if err != nil {
			return
		}
	}
}

// maxDrain bounds what drain copies: more than a pipe holds (64 KiB by default, 1 MiB at most), so that a
// background process that writes as fast as drain reads cannot keep it, and PID 1, going.
const maxDrain = 1 << 20

// drain copies what the pipe holds now, without waiting for more. A read past its deadline fails before it looks
// at the pipe, so a reader held up longer than the deadline by a busy machine would leave output behind.
func (c *outputCopier) drain() {
	_ = c.src.SetReadDeadline(time.Time{})
	rc, err := c.src.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		for drained := 0; drained < maxDrain; {
			r, err := syscall.Read(int(fd), c.buf)
			if r > 0 {
				c.write(c.buf[:r])
				drained += r
				continue
			}
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return true // empty (EAGAIN), ended (0) or failed: done, never wait
		}
		return true
	})
}

// WaitRead waits, as Run does before it exits, for the container runtime to read the written bytes of output a
// program of the pod's own wrote to stdout (`runplane pod keep`), so that their end reaches the log.
func WaitRead(stdout *os.File, written int64) {
	waitRead(stdout, readLimit, slackFor(written))
}
