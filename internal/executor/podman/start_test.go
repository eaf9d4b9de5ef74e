package podman_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
	"github.com/runplane/runplane/internal/imagepolicy"
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
		kube  *api.ContainerKubernetes // set on a container job's second container
		want  []string                 // in the error
	}{
		{"missing image", "localhost/runplane-no-such-image:1", "true", nil, nil, []string{"localhost/runplane-no-such-image:1", "podman create"}},
		{"no image", "", "true", nil, nil, []string{"no image"}},
		{"flag as image", "--privileged", "true", nil, nil, []string{"not an image reference"}},
		{"empty command", "", "", nil, nil, []string{"empty command"}},
		{"secret podman reads", "", "true", map[string]string{"CONTAINER_HOST": "tcp://x"}, nil, []string{"CONTAINER_HOST", "podman itself reads"}},
		{"bad secret key", "", "true", map[string]string{"1X": "v"}, nil, []string{"1X"}},
		{"container needs a pod", "", "", nil, &api.ContainerKubernetes{EnvFrom: []byte(`[{"secretRef":{"name":"s"}}]`)},
			[]string{"container render sets kubernetes envFrom", "kubernetes executor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := spec(t, tc.cmd)
			if tc.image != "" || tc.name == "no image" {
				s.Image = tc.image
			}
			s.Secrets = tc.sec
			if tc.kube != nil {
				s.Containers = []api.Container{
					{Name: "first", Image: podmantest.Image, Command: []string{"true"}},
					{Name: "render", Image: podmantest.Image, Command: []string{"true"}, Kubernetes: tc.kube},
				}
			}
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

// TestImageAllowlist: an image the allowlist refuses never reaches podman; an allowed one runs.
func TestImageAllowlist(t *testing.T) {
	allow, err := imagepolicy.Parse([]string{podmantest.Image})
	if err != nil {
		t.Fatal(err)
	}
	ex := newExecutor(t, func(o *podman.Options) { o.Images = allow })
	s, _ := spec(t, "true")
	s.Image = "docker.io/library/busybox:latest"
	if h, err := ex.Start(t.Context(), s); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("Start of an image outside the allowlist = %s, %v; want a refusal", h, err)
	}
	s, _ = spec(t, "true")
	h, err := ex.Start(t.Context(), s)
	if err != nil {
		t.Fatalf("Start of an allowed image: %v", err)
	}
	if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
		t.Errorf("Wait = %+v, %v; want exit 0", r, err)
	}
}
