//go:build linux

package local_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/testlog"
)

// TestSecretDirIsTheJobsOwn: whatever the host keeps in its /etc/secret, a sandboxed job sees there its own
// secrets only, and a job without secrets an empty directory, on a sandbox's first job and on the jobs after one
// with secrets (in-process sandboxes serve one job after another).
func TestSecretDirIsTheJobsOwn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: writes into the host's /etc/secret")
	}
	if err := os.MkdirAll(local.SecretDir, 0o755); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(local.SecretDir, "host-only-"+filepath.Base(t.TempDir()))
	if err := os.WriteFile(host, []byte("the host's"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(host) })
	ex, err := local.New(local.Options{Isolation: local.IsolationNamespace, WorkDir: filepath.Join(t.TempDir(), "work"),
		Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		secrets map[string]string
		want    string
	}{{nil, "end\n"}, {map[string]string{"K": "v"}, "K\nend\n"}, {nil, "end\n"}, {map[string]string{"L": "w"}, "L\nend\n"}, {nil, "end\n"}} {
		out := outputFile(t)
		h, err := ex.Start(t.Context(), executor.Spec{JobID: "sec", Command: `ls -A /etc/secret; echo end`, Output: out,
			Secrets: tc.secrets})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
			t.Fatalf("job %d: Wait = %+v, %v", i, r, err)
		}
		if b, _ := os.ReadFile(out.Name()); string(b) != tc.want {
			t.Errorf("job %d with secrets %v listed /etc/secret as %q, want %q", i, tc.secrets, b, tc.want)
		}
	}
}

// TestTmpIsTheJobsOwn: a sandboxed job starts with an empty /tmp, whatever the job before it on the same sandbox
// left there: a few files (removed), many (the tmpfs replaced), some it made hard to remove.
func TestTmpIsTheJobsOwn(t *testing.T) {
	ex, err := local.New(local.Options{Isolation: local.IsolationNamespace, WorkDir: filepath.Join(t.TempDir(), "work"),
		Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	const look = `ls -A /tmp /dev/shm /var/tmp; echo end; `
	leaves := []string{
		`echo x > /tmp/a; mkdir -p /tmp/d/e; echo y > /tmp/d/e/f; ln -s /etc /tmp/link; mkfifo /tmp/fifo`,
		`mkdir /tmp/locked; touch /tmp/locked/f; chmod 0 /tmp/locked; echo z > /dev/shm/shm`,
		`i=0; while [ $i -lt 600 ]; do : > /tmp/f$i; i=$((i+1)); done`,
		`:`,
	}
	// Several rounds, so that each case's sandbox serves a later job whatever the order the pool hands them out.
	for i := range 4 * len(leaves) {
		leave := leaves[i%len(leaves)]
		out := outputFile(t)
		h, err := ex.Start(t.Context(), executor.Spec{JobID: "tmp", Command: look + leave, Output: out})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("job %d: Wait = %+v, %v; output %q", i, r, err, b)
		}
		if b, _ := os.ReadFile(out.Name()); string(b) != "/dev/shm:\n\n/tmp:\n\n/var/tmp:\nend\n" {
			t.Errorf("job %d found in /tmp, /dev/shm, /var/tmp: %q, want them empty", i, b)
		}
	}
}
