package podman_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/podman"
)

// TestRecover: a job outlives the server that started it; the next server finds it by its job id, re-attaches,
// replays its whole log and reads its end.
func TestRecover(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	var label map[string]string
	ex1 := newExecutor(t, func(o *podman.Options) { o.WorkDir, label = work, o.Labels })
	if !ex1.Durable() || !ex1.ReplaysOutput() {
		t.Fatalf("Durable %v, ReplaysOutput %v; want both", ex1.Durable(), ex1.ReplaysOutput())
	}
	for _, tc := range []struct {
		name   string
		finish bool // the job ends while no server runs
	}{{"running", false}, {"finished-meanwhile", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, out := spec(t, `echo start; while [ ! -e go ]; do sleep 0.05; done; echo end; exit 4`)
			s.Secrets = map[string]string{"K": "v"}
			h, err := ex1.Start(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "start", func() bool { return strings.Contains(out.String(), "start") })
			ex1.Abandon(h)
			name := strings.TrimPrefix(string(h), "podman:")
			ws := filepath.Join(work, name, "workspace")
			if tc.finish {
				if err := os.WriteFile(filepath.Join(ws, "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			ex2 := newExecutor(t, func(o *podman.Options) { o.WorkDir, o.Labels = work, label })
			got, err := ex2.Find(t.Context(), s.JobID)
			if err != nil || got != h {
				t.Fatalf("Find(%s) = %s, %v; want %s", s.JobID, got, err, h)
			}
			var replay executortest.LockedBuffer
			if err := ex2.Recover(t.Context(), h, &replay); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if !tc.finish {
				if err := os.WriteFile(filepath.Join(ws, "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if r := wait(t, ex2, h); r.ExitCode != 4 || r.Reason != "" {
				t.Errorf("recovered job: exit %d, reason %q; want 4, none", r.ExitCode, r.Reason)
			}
			if replay.String() != "start\nend\n" {
				t.Errorf("recovered log = %q, want the whole log %q", replay.String(), "start\nend\n")
			}
			_ = ex2.Close()
			if _, err := os.Stat(filepath.Join(work, name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the attempt's directory (checkout, secrets) is still there after its end: %v", err)
			}
			if err := ex2.Recover(t.Context(), h, nil); err != nil {
				t.Errorf("Recover of an attempt this executor knows = %v, want nil", err)
			}
		})
	}
}

// TestRecoverGone: Recover of an attempt whose container is gone says ErrNotFound and removes its directory.
func TestRecoverGone(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	ex := newExecutor(t, func(o *podman.Options) { o.WorkDir = work })
	name := "runplane-job-gone-0a1b2c3d"
	if err := os.MkdirAll(filepath.Join(work, name, "workspace"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, h := range []executor.Handle{executor.Handle("podman:" + name), "podman:../../etc", "local:1:2:x", ""} {
		if err := ex.Recover(t.Context(), h, nil); !errors.Is(err, executor.ErrNotFound) {
			t.Errorf("Recover(%q) = %v, want ErrNotFound", h, err)
		}
	}
	if _, err := os.Stat(filepath.Join(work, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory of a gone attempt is still there: %v", err)
	}
	if h, err := ex.Find(t.Context(), "no-such-job"); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Find(no-such-job) = %q, %v; want ErrNotFound", h, err)
	}
}

// TestStopRecovered: Stop works on a re-attached attempt.
func TestStopRecovered(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	var label map[string]string
	ex1 := newExecutor(t, func(o *podman.Options) { o.WorkDir, label = work, o.Labels })
	s, out := spec(t, `echo ready; sleep 1000`)
	h, err := ex1.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready", func() bool { return strings.Contains(out.String(), "ready") })
	ex1.Abandon(h)
	ex2 := newExecutor(t, func(o *podman.Options) { o.WorkDir, o.Labels = work, label })
	if err := ex2.Recover(t.Context(), h, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ex2.Stop(t.Context(), h, time.Minute); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Stop took %v, want the job to end on SIGTERM", took)
	}
	if r := wait(t, ex2, h); r.ExitCode != 143 || r.Reason != "signal: terminated" {
		t.Errorf("stopped recovered job: exit %d, reason %q; want 143, %q", r.ExitCode, r.Reason, "signal: terminated")
	}
}
