package inpod_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// TestCheckoutReadyMarker: a checkout that runs beside the job's container marks its end in RUNPLANE_READY_DIR:
// ready once everything is in place, or failed (after its reason is in the termination log), never both.
func TestCheckoutReadyMarker(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantCode   int
		wantMarker string
		wantLog    string
	}{
		{"ready", map[string]string{inpod.EnvNoGit: "1"}, 0, inpod.ReadyFile, ""},
		{"failed", map[string]string{inpod.EnvGitURL: "ssh://example.com/repo"}, 1, inpod.FailedFile, "only http, https and file URLs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready, tools := t.TempDir(), t.TempDir()
			tlog := filepath.Join(t.TempDir(), "tlog")
			env := map[string]string{
				inpod.EnvWorkspace:     t.TempDir(),
				inpod.EnvTools:         tools,
				inpod.EnvReadyDir:      ready,
				pid1.EnvTerminationLog: tlog,
			}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			if code := inpod.RunCheckout(t.Context(), envMap(env), &stdout, &stderr); code != tc.wantCode {
				t.Fatalf("RunCheckout = %d, stderr %q; want %d", code, stderr.String(), tc.wantCode)
			}
			entries, _ := os.ReadDir(ready)
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if len(got) != 1 || got[0] != tc.wantMarker {
				t.Errorf("ready dir holds %q, want only %q", got, tc.wantMarker)
			}
			b, _ := os.ReadFile(tlog)
			if !strings.Contains(string(b), tc.wantLog) {
				t.Errorf("termination log %q, want %q in it", b, tc.wantLog)
			}
			if _, err := os.Stat(filepath.Join(tools, pid1.Name)); (err == nil) != (tc.wantCode == 0) {
				t.Errorf("runplane-pid1 in the tools: %v; want it there exactly when ready", err)
			}
		})
	}
}

// TestKeepAfter: the keep container started beside the job's containers waits for the last one's marker, and
// keeps nothing when it did not succeed.
func TestKeepAfter(t *testing.T) {
	tests := []struct {
		name    string
		marker  int
		wantOut bool
	}{
		{"succeeded", 0, true},
		{"failed", 3, false},
		{"not run", -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, steps := t.TempDir(), t.TempDir()
			writeFiles(t, src, map[string]string{"a": "a\n"})
			after := filepath.Join(steps, "0.done")
			pid1.WriteMarker(after, tc.marker)
			tlog := filepath.Join(t.TempDir(), "tlog")
			var out bytes.Buffer
			code := inpod.RunKeep(envMap(map[string]string{
				inpod.EnvKeepDirs: "output=" + src, inpod.EnvKeepMax: "1000", inpod.EnvKeepAfter: after,
				pid1.EnvTerminationLog: tlog,
			}), &out, os.Stderr)
			rep := pid1.ParseReport(readFile(t, tlog))
			if code != 0 || (out.Len() > 0) != tc.wantOut || (rep.NotRun == "") != tc.wantOut {
				t.Errorf("RunKeep after marker %d = %d, %d bytes out, report %+v; want 0, output %v", tc.marker, code, out.Len(), rep, tc.wantOut)
			}
		})
	}
}
