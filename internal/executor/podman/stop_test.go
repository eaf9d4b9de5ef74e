package podman_test

import (
	"testing"
	"time"
)

// TestStopAtOnce: a Stop right after Start (a job cancelled while it starts) ends the attempt, even though its
// container may not run yet when podman is asked to stop it.
func TestStopAtOnce(t *testing.T) {
	ex := newExecutor(t, nil)
	for range 3 {
		s, out := spec(t, `echo started; sleep 1000`)
		h, err := ex.Start(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := ex.Stop(t.Context(), h, time.Second); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		r := wait(t, ex, h)
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("Stop right after Start took %v to end the job", took)
		}
		if r.ExitCode == 0 || r.Reason == "" {
			t.Errorf("job stopped at once: exit %d, reason %q (output %q); want non-zero and a reason", r.ExitCode, r.Reason, out)
		}
		t.Logf("exit %d, reason %q, output %q", r.ExitCode, r.Reason, out)
	}
}
