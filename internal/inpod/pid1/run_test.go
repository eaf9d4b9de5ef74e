//go:build linux

package pid1_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

// podRun is `runplane pod run -- args...` running as a real process (the test binary re-executed). Its stdout is
// a pipe read all along, as a container runtime reads a container's: runplane waits for its output to be read
// before it exits.
type podRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout lockedBuffer
	outEOF chan struct{} // closed when stdout has ended
	stderr bytes.Buffer
	tlog   string
	exited chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startRun(t *testing.T, env []string, args ...string) *podRun {
	t.Helper()
	dir := t.TempDir()
	p := &podRun{t: t, tlog: filepath.Join(dir, "termination-log"), exited: make(chan struct{}), outEOF: make(chan struct{})}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(self, args...)
	p.cmd.Dir = dir // where a core dump would land
	p.cmd.Env = append(os.Environ(), testMainEnv+"=run", pid1.EnvTerminationLog+"="+p.tlog,
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0") // a -race binary sleeps 1s when it exits 0
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdin = strings.NewReader("stdin must not reach the command\n")
	p.cmd.Stdout = w
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = deadline
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		_, _ = io.Copy(&p.stdout, r)
		close(p.outEOF)
	}()
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default: // a failed test: end the command's process group too
			pid := strconv.Itoa(p.cmd.Process.Pid)
			children, _ := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
			for _, c := range strings.Fields(string(children)) {
				if n, err := strconv.Atoi(c); err == nil {
					_ = syscall.Kill(-n, syscall.SIGKILL)
				}
			}
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// sh starts `runplane pod run -- sh -c script`.
func sh(t *testing.T, script string, env ...string) *podRun {
	t.Helper()
	return startRun(t, env, "sh", "-c", script)
}

// readUntil waits until stdout ends with want.
func (p *podRun) readUntil(want string) {
	p.t.Helper()
	end := time.Now().Add(deadline)
	for !strings.HasSuffix(p.stdout.String(), want) {
		if time.Now().After(end) {
			p.t.Fatalf("no %q on stdout within %v; got %q", want, deadline, p.stdout.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signal sends sig to the process, as the kubelet does to a container's PID 1.
func (p *podRun) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit code and its whole stdout.
func (p *podRun) wait() (code int, stdout string) {
	p.t.Helper()
	for _, c := range []chan struct{}{p.exited, p.outEOF} {
		select {
		case <-c:
		case <-time.After(deadline):
			p.t.Fatalf("pod run did not exit and close its stdout within %v; stdout so far %q", deadline, p.stdout.String())
		}
	}
	return p.cmd.ProcessState.ExitCode(), p.stdout.String()
}

// terminationLog returns what the process wrote to its termination log ("" for nothing).
func (p *podRun) terminationLog() string {
	b, err := os.ReadFile(p.tlog)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		p.t.Fatal(err)
	}
	return string(b)
}

func TestRunExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script string
		env          []string
		wantCode     int
		wantOut      string
		wantLog      string
	}{
		{name: "success", script: "echo hello", wantCode: 0, wantOut: "hello\n"},
		{name: "exit code", script: "exit 3", wantCode: 3},
		{name: "exit 255", script: "exit 255", wantCode: 255},
		{name: "killed", script: "echo before; kill -KILL $$", wantCode: 137, wantOut: "before\n", wantLog: "signal: killed"},
		{name: "terminated", script: "kill -TERM $$", wantCode: 143, wantLog: "signal: terminated"},
		{name: "interleaved", script: "for i in 1 2 3; do echo out$i; echo err$i >&2; done",
			wantOut: "out1\nerr1\nout2\nerr2\nout3\nerr3\n"},
		{name: "stdin is /dev/null", script: `cat; echo "[$(readlink /proc/self/fd/0)]"`, wantOut: "[/dev/null]\n"},
		{name: "environment", script: `echo "$INPOD_TEST_VALUE"`, env: []string{"INPOD_TEST_VALUE=a b"}, wantOut: "a b\n"},
		{name: "own process group", script: `read -r _ _ _ _ pgrp _ </proc/$$/stat; echo $pgrp $$`, wantOut: "SAME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := sh(t, tc.script, tc.env...)
			code, out := p.wait()
			if tc.wantOut == "SAME" { // two equal lines
				lines := strings.Fields(out)
				if len(lines) != 2 || lines[0] != lines[1] {
					t.Errorf("process group and pid of the command = %q, want two equal numbers", out)
				}
			} else if out != tc.wantOut {
				t.Errorf("stdout = %q, want %q", out, tc.wantOut)
			}
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			if got := p.stderr.String(); got != "" {
				t.Errorf("stderr = %q, want nothing (the command's stderr goes to stdout)", got)
			}
			want := pid1.Report{Signal: tc.wantLog, OutputBytes: int64(len(out))}.String()
			if got := p.terminationLog(); got != want {
				t.Errorf("termination log = %q, want %q", got, want)
			}
		})
	}
}

func TestRunCannotStart(t *testing.T) {
	t.Parallel()
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"not found", []string{"inpod-no-such-command"}, 127, `runplane-pid1: exec: "inpod-no-such-command": executable file not found in $PATH`},
		{"not executable", []string{notExec}, 126, "runplane-pid1: exec: \"" + notExec + "\": permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startRun(t, nil, tc.args...)
			code, out := p.wait()
			if code != tc.wantCode || out != "" {
				t.Errorf("exit code, stdout = %d, %q; want %d, nothing", code, out, tc.wantCode)
			}
			if got := p.terminationLog(); got != tc.wantMsg {
				t.Errorf("termination log = %q, want %q", got, tc.wantMsg)
			}
			if got := p.stderr.String(); got != tc.wantMsg+"\n" {
				t.Errorf("stderr = %q, want %q", got, tc.wantMsg+"\n")
			}
		})
	}
}

// TestRunSignals checks that each forwarded signal reaches the script (the job contract's example script).
func TestRunSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sig  syscall.Signal
		name string
	}{
		{syscall.SIGTERM, "TERM"},
		{syscall.SIGINT, "INT"},
		{syscall.SIGHUP, "HUP"},
		{syscall.SIGQUIT, "QUIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The sleep keeps it short: a signal that reaches sh after "ready" but before it has forked the sleep
			// runs the trap only once that sleep ends (sh waits for its foreground command).
			p := sh(t, "trap 'echo got-"+tc.name+"; exit 7' "+tc.name+"; echo ready; while :; do sleep 1; done")
			p.readUntil("ready\n")
			p.signal(tc.sig)
			code, out := p.wait()
			// Between the two, the shell may report how its foreground sleep died ("Terminated").
			if code != 7 || !strings.HasPrefix(out, "ready\n") || !strings.HasSuffix(out, "\ngot-"+tc.name+"\n") {
				t.Errorf("exit code, stdout = %d, %q; want 7, %q", code, out, "ready\n[...]got-"+tc.name+"\n")
			}
			if got, want := p.terminationLog(), (pid1.Report{OutputBytes: int64(len(out))}).String(); got != want {
				t.Errorf("termination log = %q, want %q", got, want)
			}
		})
	}
}

func TestRunTerminated(t *testing.T) {
	t.Parallel()
	p := startRun(t, nil, "sh", "-c", "echo ready; exec sleep 1000")
	p.readUntil("ready\n")
	p.signal(syscall.SIGTERM)
	code, out := p.wait()
	if code != 143 || out != "ready\n" {
		t.Errorf("exit code, stdout = %d, %q; want 143, %q", code, out, "ready\n")
	}
	if got, want := p.terminationLog(), "signal: terminated\noutput: 6 bytes"; got != want {
		t.Errorf("termination log = %q, want %q", got, want)
	}
	if got := p.stderr.String(); got != "" {
		t.Errorf("stderr = %q, want nothing", got)
	}
}

// TestRunOutputCounted checks that all of a large output, written faster than it is read, reaches stdout and
// that the termination log counts it.
func TestRunOutputCounted(t *testing.T) {
	t.Parallel()
	p := sh(t, `i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; printf 'no newline'`)
	code, out := p.wait()
	if code != 0 || !strings.HasPrefix(out, "line 0\n") || !strings.HasSuffix(out, "line 19999\nno newline") {
		t.Fatalf("exit code %d, %d bytes of stdout (%.20q…%.20q); want 0 and every line", code, len(out), out, out[max(0, len(out)-20):])
	}
	if got, want := p.terminationLog(), fmt.Sprintf("output: %d bytes", len(out)); got != want {
		t.Errorf("termination log = %q, want %q", got, want)
	}
}

// TestRunOutputCountedCRLF checks that the count is of the output as the container's log holds it: each "\r\n"
// line end is one byte there (containerd's CRI logger drops the "\r"), or the executor would wait for bytes that
// never come.
func TestRunOutputCountedCRLF(t *testing.T) {
	t.Parallel()
	p := sh(t, `printf 'HTTP/1.0 201 Created\r\nDate: now\r\n\r\nlast\r'`)
	code, out := p.wait()
	if code != 0 || out != "HTTP/1.0 201 Created\r\nDate: now\r\n\r\nlast\r" {
		t.Fatalf("exit code %d, stdout %q; want 0 and every byte", code, out)
	}
	if got, want := p.terminationLog(), fmt.Sprintf("output: %d bytes", len(out)-3); got != want {
		t.Errorf("termination log = %q, want %q (three CRLF line ends counted once each)", got, want)
	}
}

// TestRunBackgroundHoldsOutput checks that a background process still holding the output open does not keep
// runplane from ending once the command has: what it wrote before is copied, and the count says so.
func TestRunBackgroundHoldsOutput(t *testing.T) {
	t.Parallel()
	p := sh(t, `(echo from-background; sleep 3) & echo from-command; sleep 0.2; exit 4`)
	code, out := p.wait()
	if code != 4 || !strings.Contains(out, "from-background\n") || !strings.Contains(out, "from-command\n") {
		t.Errorf("exit code, stdout = %d, %q; want 4 and both lines", code, out)
	}
	if got, want := p.terminationLog(), fmt.Sprintf("output: %d bytes", len(out)); got != want {
		t.Errorf("termination log = %q, want %q", got, want)
	}
}

// TestRunBackground checks that the script's background processes get the signal too.
func TestRunBackground(t *testing.T) {
	t.Parallel()
	p := sh(t, "sleep 1000 & echo $!; sleep 1000 & echo $!; echo ready; wait")
	p.readUntil("ready\n")
	var pids []int
	for _, f := range strings.Fields(strings.TrimSuffix(p.stdout.String(), "ready\n")) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(); code != 143 {
		t.Errorf("exit code = %d, want 143", code)
	}
	for _, pid := range pids {
		waitDead(t, pid)
	}
}

// waitDead waits until process pid has ended (gone, or a zombie nobody has reaped yet).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		// The state follows the command name in parentheses.
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("background process %d still alive after %v: %s", pid, deadline, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunReapsOrphans checks that orphans are handed to runplane (PID 1 in a pod; a subreaper here) and reaped
// while the command runs, and that reaping them never takes the command's own exit status.
func TestRunReapsOrphans(t *testing.T) {
	t.Parallel()
	// Each orphan is a sleep whose parent subshell has exited; the script checks (for up to 10s each) that their
	// parent becomes runplane ($PPID) and that, once they have ended, they are reaped rather than left zombies.
	script := `
adopted() {
	i=0
	while [ "$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$1/status 2>/dev/null)" != "$PPID" ]; do
		[ -e /proc/$1 ] || { echo "orphan $1 ended before it was adopted"; exit 1; }
		i=$((i+1)); [ $i -lt 1000 ] || { echo "orphan $1 not adopted: $(cat /proc/$1/status)"; exit 1; }
		sleep 0.01
	done
}
reaped() {
	i=0
	while [ -e /proc/$1 ]; do
		i=$((i+1)); [ $i -lt 1000 ] || { echo "orphan $1 not reaped: $(cat /proc/$1/stat)"; exit 1; }
		sleep 0.01
	done
}
orphans=
for n in 1 2 3; do orphans="$orphans $( (sleep 2 >/dev/null & echo $!) )"; done
for pid in $orphans; do adopted $pid; done
for pid in $orphans; do reaped $pid; done
echo reaped
exit 5`
	p := sh(t, script)
	code, out := p.wait()
	if code != 5 || out != "reaped\n" {
		t.Errorf("exit code, stdout = %d, %q; want 5, %q", code, out, "reaped\n")
	}
}

// TestRunWaitsForOutputToBeRead checks that runplane does not exit while its output waits unread in its stdout
// pipe: a container runtime gives up copying a container's output soon after its PID 1 exits.
func TestRunWaitsForOutputToBeRead(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "sh", "-c", "echo hello")
	cmd.Env = append(os.Environ(), testMainEnv+"=run", pid1.EnvTerminationLog+"="+filepath.Join(t.TempDir(), "tlog"),
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("pod run exited (%v) while its output was unread", err)
	case <-time.After(500 * time.Millisecond):
	}
	_ = r.SetReadDeadline(time.Now().Add(deadline))
	out, err := io.ReadAll(r)
	if err != nil || string(out) != "hello\n" {
		t.Errorf("stdout = %q, %v; want %q", out, err, "hello\n")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("pod run: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("pod run did not exit once its output was read")
	}
}

// TestMainArgs: the command may follow "--", as in the pod spec, or come first.
func TestMainArgs(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--", "sh", "-c", "echo hi"}, {"sh", "-c", "echo hi"}} {
		p := startRun(t, nil, args...)
		if code, out := p.wait(); code != 0 || out != "hi\n" {
			t.Errorf("runplane-pid1 %q: exit %d, stdout %q; want 0, %q", args, code, out, "hi\n")
		}
	}
}
