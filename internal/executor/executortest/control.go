package executortest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// Tests of the Executor interface: Stop, Wait, handles.

func randomMarker() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "rpmark" + hex.EncodeToString(b[:])
}

// ProcessesWithEnv returns the pids of this host's processes whose environment holds name=value: every
// process of a job that exported it.
func ProcessesWithEnv(name, value string) []int {
	needle := "\x00" + name + "=" + value + "\x00"
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		if strings.Contains("\x00"+string(b), needle) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func testStopEndsTree(t *testing.T, s *suite) {
	marker := randomMarker()
	spec, out := s.spec(t, "export RP_MARKER="+marker+"; sleep 1000 & sh -c 'sleep 1000; true' & echo ready; wait")
	h := s.start(t, spec)
	waitOutput(t, out, "ready", s.cfg.Timeout)
	if s.cfg.LocalProcesses {
		waitFor(t, 10*time.Second, "the job's processes to show up", func() bool {
			return len(ProcessesWithEnv("RP_MARKER", marker)) >= 3
		})
	}
	if err := s.ex.Stop(t.Context(), h, 2*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r := s.wait(t, h)
	if r.ExitCode == 0 || r.Reason == "" {
		t.Errorf("stopped job: ExitCode %d, Reason %q; want non-zero and a reason", r.ExitCode, r.Reason)
	}
	if s.cfg.LocalProcesses {
		waitFor(t, 10*time.Second, "every process of the stopped job to be gone", func() bool {
			return len(ProcessesWithEnv("RP_MARKER", marker)) == 0
		})
	}
}

func testStopGraceful(t *testing.T, s *suite) {
	spec, out := s.spec(t, `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 1; done`)
	h := s.start(t, spec)
	waitOutput(t, out, "ready", s.cfg.Timeout)
	start := time.Now()
	if err := s.ex.Stop(t.Context(), h, time.Minute); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Stop of a job that handles SIGTERM took %v, want it to end on the signal, not after grace", took)
	}
	r := s.wait(t, h)
	b, _ := os.ReadFile(out.Name())
	if r.ExitCode != 7 || !strings.Contains(string(b), "got-term") {
		t.Errorf("job trapping TERM: ExitCode %d, output %q; want 7 and got-term", r.ExitCode, b)
	}
}

// testStopPlainCommand: a command without a SIGTERM handler dies of SIGTERM at once, even where it is PID 1.
func testStopPlainCommand(t *testing.T, s *suite) {
	spec, out := s.spec(t, "echo ready; sleep 1000")
	h := s.start(t, spec)
	waitOutput(t, out, "ready", s.cfg.Timeout)
	start := time.Now()
	if err := s.ex.Stop(t.Context(), h, time.Minute); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Stop took %v, want the job to end on SIGTERM, not after grace", took)
	}
	if r := s.wait(t, h); r.Reason != "signal: terminated" || r.ExitCode != 143 {
		t.Errorf("stopped job: ExitCode %d, Reason %q; want 143, %q", r.ExitCode, r.Reason, "signal: terminated")
	}
}

func testManyWaiters(t *testing.T, s *suite) {
	spec, _ := s.spec(t, "sleep 0.2; exit 3")
	h := s.start(t, spec)
	var wg sync.WaitGroup
	results := make([]executor.Result, 5)
	for i := range results {
		wg.Go(func() { results[i] = s.wait(t, h) })
	}
	wg.Wait()
	for i, r := range results {
		if r.ExitCode != 3 {
			t.Errorf("waiter %d: ExitCode %d, want 3", i, r.ExitCode)
		}
	}
	if r := s.wait(t, h); r.ExitCode != 3 {
		t.Errorf("Wait after the end: ExitCode %d, want 3", r.ExitCode)
	}
}

func testStopFinished(t *testing.T, s *suite) {
	spec, _ := s.spec(t, "true")
	h := s.start(t, spec)
	s.wait(t, h)
	for i := range 2 {
		if err := s.ex.Stop(t.Context(), h, time.Second); err != nil {
			t.Errorf("Stop #%d of a finished job = %v, want nil", i+1, err)
		}
	}
}

func testUnknownHandle(t *testing.T, s *suite) {
	for _, h := range []executor.Handle{"executortest-unknown", "", "local:999999:1:nope.000000"} {
		if _, err := s.ex.Wait(t.Context(), h); !errors.Is(err, executor.ErrNotFound) {
			t.Errorf("Wait(%q) = %v, want ErrNotFound", h, err)
		}
		if err := s.ex.Stop(t.Context(), h, time.Second); err != nil {
			t.Errorf("Stop(%q) = %v, want nil", h, err)
		}
	}
}

// testConcurrentJobs: jobs running at once each see only their own input and secrets.
func testConcurrentJobs(t *testing.T, s *suite) {
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			spec, out := s.spec(t, `d=${RUNPLANE_SECRET_DIR:-/etc/secret}; printf '%s|%s|%s' "$MY_SECRET" "$EXTRA_VARS" "$(ls "$d" | tr '\n' ' ')"`)
			spec.JobID = fmt.Sprintf("%s-%d", spec.JobID, i)
			spec.Secrets = map[string]string{"MY_SECRET": fmt.Sprint("value-", i)}
			spec.ExtraVars = fmt.Appendf(nil, `{"i":%d}`, i)
			r, got := s.run(t, spec, out)
			if want := fmt.Sprintf(`value-%d|{"i":%d}|MY_SECRET `, i, i); r.ExitCode != 0 || got != want {
				t.Errorf("job %d: exit %d, saw %q; want 0, %q", i, r.ExitCode, got, want)
			}
		})
	}
	wg.Wait()
}

// testSecretsPrivateToJob: a running job's secrets are nowhere on the host's /etc/secret.
func testSecretsPrivate(t *testing.T, s *suite) {
	key := "PRIVATE_" + strings.ToUpper(randomMarker())
	spec, out := s.spec(t, `cat "${RUNPLANE_SECRET_DIR:-/etc/secret}/`+key+`"; echo; echo ready; sleep 1000`)
	spec.Secrets = map[string]string{key: "hidden"}
	h := s.start(t, spec)
	waitOutput(t, out, "ready", s.cfg.Timeout)
	if _, err := os.Stat("/etc/secret/" + key); err == nil {
		t.Errorf("/etc/secret/%s is visible outside the job", key)
	}
	if err := s.ex.Stop(t.Context(), h, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s.wait(t, h)
	if b, _ := os.ReadFile(out.Name()); !strings.HasPrefix(string(b), "hidden\n") {
		t.Errorf("job read its secret file as %q, want %q", b, "hidden")
	}
}

// testConcurrentWorkspaces: jobs running at once each get a workspace of their own.
func testConcurrentWorkspaces(t *testing.T, s *suite) {
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			spec, out := s.spec(t, fmt.Sprintf(`touch mine-%d && sleep 0.2 && ls -d mine-* && cat hello.txt`, i))
			spec.JobID = fmt.Sprintf("%s-%d", spec.JobID, i)
			r, got := s.run(t, spec, out)
			if want := fmt.Sprintf("mine-%d\nhello from main\n", i); r.ExitCode != 0 || got != want {
				t.Errorf("job %d: exit %d, saw %q; want 0, %q", i, r.ExitCode, got, want)
			}
		})
	}
	wg.Wait()
}
