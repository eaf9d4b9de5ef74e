//go:build linux

package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/testlog"
)

// TestLeftoversEndWithTheJob: in the in-process sandbox, whose PID namespace serves one job after another, what a
// job leaves running — a daemon in a session of its own that ignores every catchable signal — is dead once the
// job's Wait returns, whether the job ended or was stopped; and the next job, which gets the same user id, sees
// none of it in /proc.
func TestLeftoversEndWithTheJob(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the in-process sandbox needs root")
	}
	ex, err := local.New(local.Options{Isolation: local.IsolationNamespace, WorkDir: filepath.Join(t.TempDir(), "work"),
		Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The daemon double-forks out of the job's process group and session, and ignores TERM, HUP and INT; the job
	// goes on once it runs.
	const daemon = `mkfifo /tmp/up; (setsid sh -c 'trap "" TERM HUP INT; sleep 1000 & echo up > /tmp/up; sleep 1000; wait' </dev/null >/dev/null 2>&1 &); ` +
		`read up < /tmp/up; echo started; `
	tests := []struct {
		name    string
		command string // prints started once what it leaves runs
		stop    bool   // Stop the job rather than let it end
	}{
		{"job ends", daemon + `exit 0`, false},
		{"job fails", daemon + `exit 3`, false},
		{"job stopped", daemon + `exec sleep 1000`, true},
		{"job stopped with TERM ignored", daemon + `trap "" TERM; sleep 1000; sleep 1000`, true},
		// The shell, become perl, forks with CLONE_PARENT (x86-64's clone): its child is not the namespace init's
		// but the thread's, the shell's parent; and nothing else is left.
		{"job's shell forks beside itself", `exec perl -e 'if (syscall(56, 0x8000|17, 0, 0, 0, 0) == 0) { exec "sleep", "1000" } print "started\n"'`, false},
	}
	// Several rounds, so that each case runs on threads that served other cases before.
	for round := range 3 {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%d", tc.name, round), func(t *testing.T) {
				if strings.Contains(tc.command, "syscall(56,") && runtime.GOARCH != "amd64" {
					t.Skip("clone is system call 56 on x86-64 only")
				}
				marker := fmt.Sprintf("leftover-%d-%d", round, time.Now().UnixNano())
				out := outputFile(t)
				h, err := ex.Start(t.Context(), executor.Spec{JobID: "daemon", Command: "export RP_MARKER=" + marker + "; " + tc.command, Output: out})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, 10*time.Second, "the daemon to start", func() bool {
					b, _ := os.ReadFile(out.Name())
					return strings.Contains(string(b), "started")
				})
				if tc.stop {
					if err := ex.Stop(t.Context(), h, 50*time.Millisecond); err != nil {
						t.Fatal(err)
					}
				}
				begin := time.Now()
				if _, err := ex.Wait(t.Context(), h); err != nil {
					t.Fatal(err)
				}
				// A killed process that nothing reaps would hold the job's end for as long as the executor waits
				// for its leftovers to go (10 s), then end the thread, leaving a zombie in the server for good.
				if d := time.Since(begin); d >= 10*time.Second && !tc.stop {
					t.Errorf("Wait returned after %v: what the job left was not reaped", d)
				}
				// No waiting here: the job is over only once nothing of it runs.
				if left := executortest.ProcessesWithEnv("RP_MARKER", marker); len(left) > 0 {
					t.Errorf("processes %v of the job still run after its Wait returned", left)
				}

				look := outputFile(t)
				h, err = ex.Start(t.Context(), executor.Spec{JobID: "look", Output: look,
					Command: `for p in /proc/[0-9]*; do [ "${p#/proc/}" = $$ ] || tr '\0' ' ' < $p/environ 2>/dev/null; done; echo; echo end`})
				if err != nil {
					t.Fatal(err)
				}
				if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
					t.Fatalf("look: Wait = %+v, %v", r, err)
				}
				b, _ := os.ReadFile(look.Name())
				if !strings.HasSuffix(string(b), "end\n") || strings.Contains(string(b), marker) {
					t.Errorf("the next job saw the one before: %q", b)
				}
			})
		}
	}
}
