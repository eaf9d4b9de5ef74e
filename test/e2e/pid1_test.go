package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBinaryAsPID1: the runplane binary called runplane-pid1 (what the init container copies into a pod when the
// image has no runplane-pid1 of its own) is that program: it runs the command after "--", exits with its code and
// writes its report to the termination log.
func TestBinaryAsPID1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pid1 := filepath.Join(dir, "runplane-pid1")
	if err := os.Symlink(binary, pid1); err != nil {
		t.Fatal(err)
	}
	tlog := filepath.Join(dir, "termination-log")
	cmd := exec.Command(pid1, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "RUNPLANE_TERMINATION_LOG=" + tlog}
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 3 || string(out) != "out\nerr\n" {
		t.Errorf("runplane as runplane-pid1: exit %d (%v), stdout %q; want 3, %q", code, err, out, "out\nerr\n")
	}
	if log, err := os.ReadFile(tlog); err != nil || string(log) != "output: 8 bytes" {
		t.Errorf("termination log = %q, %v; want %q", log, err, "output: 8 bytes")
	}
}
