package podman_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor/podman"
)

// TestStartFails: Start refuses what it cannot run, says why, and leaves nothing behind.
func TestStartFails(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	ex := newExecutor(t, func(o *podman.Options) { o.WorkDir = work })
	tests := []struct {
		name  string
		image string
		cmd   string
		sec   map[string]string
		want  []string // in the error
	}{
		{"missing image", "localhost/runplane-no-such-image:1", "true", nil, []string{"localhost/runplane-no-such-image:1", "podman create"}},
		{"no image", "", "true", nil, []string{"no image"}},
		{"flag as image", "--privileged", "true", nil, []string{"not an image reference"}},
		{"empty command", "", "", nil, []string{"empty command"}},
		{"secret podman reads", "", "true", map[string]string{"CONTAINER_HOST": "tcp://x"}, []string{"CONTAINER_HOST", "podman itself reads"}},
		{"bad secret key", "", "true", map[string]string{"1X": "v"}, []string{"1X"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := spec(t, tc.cmd)
			if tc.image != "" || tc.name == "no image" {
				s.Image = tc.image
			}
			s.Secrets = tc.sec
			h, err := ex.Start(t.Context(), s)
			if err == nil {
				t.Fatalf("Start = %s, nil; want an error", h)
			}
			t.Logf("Start error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error %q does not say %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "podman executor: ") {
				t.Errorf("Start error %q lacks the prefix %q", err, "podman executor: ")
			}
		})
	}
	entries, _ := os.ReadDir(work)
	for _, e := range entries {
		if e.Name() != "seccomp.json" { // the jobs' profile, written by New
			t.Errorf("Start that failed left %s in the work dir", e.Name())
		}
	}
}
