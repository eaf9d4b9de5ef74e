//go:build linux

package pid1_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantStep pid1.Step
		wantCmd  []string
	}{
		{"plain", []string{"sh", "-c", "x"}, pid1.Step{}, []string{"sh", "-c", "x"}},
		{"dashes", []string{"--", "sh"}, pid1.Step{}, []string{"sh"}},
		{"step", []string{"--after=/s/0.done", "--done=/s/1.done", "--", "sh", "--after=x"},
			pid1.Step{After: "/s/0.done", Done: "/s/1.done"}, []string{"sh", "--after=x"}},
		{"done only", []string{"--done=/s/0.done", "--", "true"}, pid1.Step{Done: "/s/0.done"}, []string{"true"}},
		{"the command's own options stay", []string{"--", "--done=x"}, pid1.Step{}, []string{"--done=x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, cmd := pid1.ParseArgs(tc.args)
			if s != tc.wantStep || !slices.Equal(cmd, tc.wantCmd) {
				t.Errorf("ParseArgs(%q) = %+v, %q; want %+v, %q", tc.args, s, cmd, tc.wantStep, tc.wantCmd)
			}
		})
	}
}

// step starts `runplane-pid1 --after=dir/<after>.done --done=dir/<i>.done -- sh -c script` (after < 0: none).
func step(t *testing.T, dir string, after, i int, script string) *podRun {
	t.Helper()
	args := []string{"--done=" + filepath.Join(dir, strconv.Itoa(i)+".done")}
	if after >= 0 {
		args = append(args, "--after="+filepath.Join(dir, strconv.Itoa(after)+".done"))
	}
	return startRun(t, []string{"STEPS=" + dir}, append(args, "--", "sh", "-c", script)...)
}

func marker(t *testing.T, dir string, i int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)+".done"))
	if err != nil {
		t.Fatalf("marker %d: %v", i, err)
	}
	return strings.TrimSpace(string(b))
}

// TestStepsRunInOrder: steps started together run one after another: the second runs its command only once the
// first has ended (it sees the file the first wrote, and the first never sees the second's), and each report
// says when its command ran, in order.
func TestStepsRunInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Started in reverse order: the later ones wait.
	third := step(t, dir, 1, 2, `cat "$STEPS/b"; echo c > "$STEPS/c"`)
	second := step(t, dir, 0, 1, `cat "$STEPS/a"; test ! -e "$STEPS/c" && echo b > "$STEPS/b"`)
	first := step(t, dir, -1, 0, `test ! -e "$STEPS/b" && echo a > "$STEPS/a" && echo first`)
	var prevEnd time.Time
	for i, tc := range []struct {
		p   *podRun
		out string
	}{{first, "first\n"}, {second, "a\n"}, {third, "b\n"}} {
		code, out := tc.p.wait()
		if code != 0 || out != tc.out {
			t.Errorf("step %d: exit %d, stdout %q; want 0, %q", i, code, out, tc.out)
		}
		rep := pid1.ParseReport(tc.p.terminationLog())
		switch {
		case rep.NotRun != "" || rep.OutputBytes != int64(len(tc.out)):
			t.Errorf("step %d: report %+v, want it ran with %d bytes", i, rep, len(tc.out))
		case rep.Started.IsZero() || rep.Ended.Before(rep.Started) || rep.Started.Before(prevEnd):
			t.Errorf("step %d: command from %v to %v; want in order after %v", i, rep.Started, rep.Ended, prevEnd)
		}
		prevEnd = rep.Ended
		if m := marker(t, dir, i); m != "0" {
			t.Errorf("step %d: marker %q, want 0", i, m)
		}
	}
}

// TestStepsFailureStopsTheRest: a step whose command fails marks it; the steps after it end at once without
// running their commands, each marking that it did not run, and say so in their reports.
func TestStepsFailureStopsTheRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	third := step(t, dir, 1, 2, `echo ran > "$STEPS/c"`)
	second := step(t, dir, 0, 1, `echo ran > "$STEPS/b"`)
	first := step(t, dir, -1, 0, `echo failing; exit 3`)
	if code, out := first.wait(); code != 3 || out != "failing\n" {
		t.Errorf("failing step: exit %d, stdout %q; want 3, %q", code, out, "failing\n")
	}
	if m := marker(t, dir, 0); m != "3" {
		t.Errorf("failing step's marker %q, want 3", m)
	}
	for i, p := range []*podRun{second, third} {
		code, out := p.wait()
		rep := pid1.ParseReport(p.terminationLog())
		if code == 0 || out != "" || rep.NotRun != "an earlier container failed" || !rep.Started.IsZero() {
			t.Errorf("step %d after a failure: exit %d, stdout %q, report %+v; want non-zero, no output, not run", i+1, code, out, rep)
		}
		if m := marker(t, dir, i+1); m != "not run" {
			t.Errorf("step %d: marker %q, want %q", i+1, m, "not run")
		}
	}
	for _, f := range []string{"b", "c"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("the command of a step after the failed one ran (it wrote %s)", f)
		}
	}
}

// TestStepCannotStart: a step whose command cannot be started still marks its end (127), so the next one does
// not wait for ever.
func TestStepCannotStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startRun(t, nil, "--done="+filepath.Join(dir, "0.done"), "--", "no-such-command-runplane")
	if code, _ := p.wait(); code != 127 {
		t.Errorf("exit %d, want 127", code)
	}
	if m := marker(t, dir, 0); m != "127" {
		t.Errorf("marker %q, want 127", m)
	}
}

// TestStepStoppedWhileWaiting: SIGTERM (the pod is deleted) ends a waiting step at once, not run.
func TestStepStoppedWhileWaiting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := step(t, dir, 0, 1, `echo ran`)
	waitWatching(t, p.cmd.Process.Pid)
	p.signal(syscall.SIGTERM)
	code, out := p.wait()
	rep := pid1.ParseReport(p.terminationLog())
	if code == 0 || out != "" || !strings.HasPrefix(rep.NotRun, "stopped") {
		t.Errorf("stopped while waiting: exit %d, stdout %q, report %+v; want non-zero, nothing, not run (stopped)", code, out, rep)
	}
	if m := marker(t, dir, 1); m != "not run" {
		t.Errorf("marker %q, want %q", m, "not run")
	}
}

// waitWatching waits until process pid watches its marker's directory: it has started to wait (and to catch
// signals, which it does before), by the inotify descriptor in /proc/<pid>/fd.
func waitWatching(t *testing.T, pid int) {
	t.Helper()
	end := time.Now().Add(deadline)
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	for {
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join(dir, fd.Name())); l == "anon_inode:inotify" {
				return
			}
		}
		if time.Now().After(end) {
			t.Fatalf("process %d does not wait for its marker within %v", pid, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
