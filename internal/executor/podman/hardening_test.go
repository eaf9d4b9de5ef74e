package podman_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// spec returns a Spec of the test image running command, with output collected in the returned buffer.
func spec(t testing.TB, command string) (executor.Spec, *executortest.LockedBuffer) {
	var out executortest.LockedBuffer
	id := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	return executor.Spec{
		JobID: "job-" + id, Task: "t", Runner: "r", Owner: "o", Image: podmantest.Image,
		Command: command, Output: &out,
	}, &out
}

// run starts spec, waits for its end and returns its result.
func run(t testing.TB, ex *podman.Executor, spec executor.Spec) executor.Result {
	t.Helper()
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start(%q): %v", spec.Command, err)
	}
	return wait(t, ex, h)
}

func wait(t testing.TB, ex *podman.Executor, h executor.Handle) executor.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	r, err := ex.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait(%s): %v", h, err)
	}
	return r
}

const hardeningScript = `id -u; id -g
grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -d ' \t'
if touch /probe 2>/dev/null; then echo root:writable; else echo root:readonly; fi
if touch /etc/secret/new 2>/dev/null; then echo secret:writable; else echo secret:readonly; fi
if touch /tmp/probe; then echo tmp:writable; fi
if touch probe; then echo workspace:writable; fi
echo "pwd:$(pwd) home:$HOME"
echo "net:$(ls /sys/class/net | tr '\n' ' ')"
stat -c 'owner:%u:%g' hello.txt
`

// TestHardening: the job runs as the Kubernetes pods do.
func TestHardening(t *testing.T) {
	ex := newExecutor(t, nil)
	s, out := spec(t, hardeningScript)
	s.Repo = repo(t, map[string]string{"hello.txt": "hi\n"})
	s.Secrets = map[string]string{"TOKEN": "x"}
	if r := run(t, ex, s); r.ExitCode != 0 {
		t.Fatalf("exit %d (%s), output:\n%s", r.ExitCode, r.Reason, out)
	}
	want := []string{
		"65532", "65532",
		"CapPrm:0000000000000000", "CapEff:0000000000000000", "CapBnd:0000000000000000",
		"NoNewPrivs:1", "Seccomp:2",
		"root:readonly", "secret:readonly", "tmp:writable", "workspace:writable",
		"pwd:/workspace home:/workspace",
		"net:lo ",
		"owner:65532:65532",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(out.String()), "\n")); diff != "" {
		t.Errorf("the job's view of itself (-want +got):\n%s", diff)
	}
}

// TestNoSecretInArgv: while a job runs, no process on the host has a secret or the input in its command line.
func TestNoSecretInArgv(t *testing.T) {
	ex := newExecutor(t, nil)
	const secret, input = "argv-secret-6d1c", `{"argv-input":"0b7e"}`
	s, out := spec(t, `echo ready; sleep 1000`)
	s.Secrets = map[string]string{"S": secret}
	s.ExtraVars = []byte(input)
	h, err := ex.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready", func() bool { return strings.Contains(out.String(), "ready") })
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && (strings.Contains(string(b), secret) || strings.Contains(string(b), "0b7e")) {
			t.Errorf("process %s has the secret or the input in its command line: %q", e.Name(), b)
		}
	}
	if err := ex.Stop(t.Context(), h, time.Second); err != nil {
		t.Fatal(err)
	}
	wait(t, ex, h)
}

func TestLimits(t *testing.T) {
	ex := newExecutor(t, nil)
	s, out := spec(t, `cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null
cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null
cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max`)
	s.Limits = executor.Limits{CPU: 250, Memory: 64 << 20, Pids: 50}
	if r := run(t, ex, s); r.ExitCode != 0 {
		t.Fatalf("exit %d (%s), output:\n%s", r.ExitCode, r.Reason, out)
	}
	if got, want := strings.Fields(out.String()), []string{"67108864", "50", "25000"}; !cmp.Equal(got, want) {
		t.Errorf("the job's cgroup limits (memory, pids, cpu quota) = %q, want %q", got, want)
	}
}

// TestOOM: a job over its memory limit ends with reason oom.
func TestOOM(t *testing.T) {
	ex := newExecutor(t, nil)
	s, out := spec(t, `echo start; x=$(head -c 300000000 /dev/zero | tr '\0' a); echo "survived ${#x}"`)
	s.Limits.Memory = 32 << 20
	r := run(t, ex, s)
	if r.Reason != executor.ReasonOOM || r.ExitCode == 0 {
		t.Errorf("job over its memory limit: exit %d, reason %q; want non-zero, %q (output %q)", r.ExitCode, r.Reason, executor.ReasonOOM, out)
	}
	// A job that kills itself with SIGKILL is not out of memory.
	s, _ = spec(t, `kill -KILL $$`)
	s.Limits.Memory = 32 << 20
	if r := run(t, ex, s); r.ExitCode != 137 || r.Reason == executor.ReasonOOM {
		t.Errorf("job killing itself: exit %d, reason %q; want 137, not %q", r.ExitCode, r.Reason, executor.ReasonOOM)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
