package podman_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// TestPullSecret: an image in a private registry (a real one on loopback, behind basic authentication) runs with
// the runner's credentials and fails to start without them, or with wrong ones, with podman's reason; the
// credentials appear in no error, output or leftover file.
func TestPullSecret(t *testing.T) {
	const user, password = "puller", "pull-pw-5f0c9a"
	reg := podmantest.NewRegistry(t, user, password)
	ref := reg.Push(t, "runplane/private:1")
	workDir := filepath.Join(t.TempDir(), "work")
	ex := newExecutor(t, func(o *podman.Options) { o.WorkDir, o.SkipTLSVerify = workDir, true })
	leaks := func(s string) bool {
		return strings.Contains(s, password) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}

	refused := []struct{ name, secret string }{
		{"no credentials", ""},
		{"wrong password", reg.AuthConfig(user, "not-"+password)},
		{"credentials for another registry", `{"auths":{"registry.example.com":{"auth":"` +
			base64.StdEncoding.EncodeToString([]byte(user+":"+password)) + `"}}}`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := spec(t, "echo ran")
			s.Image, s.PullSecret = ref, tt.secret
			h, err := ex.Start(t.Context(), s)
			if err == nil {
				r := wait(t, ex, h)
				t.Fatalf("Start of a private image %s: exit %d; want an error", tt.name, r.ExitCode)
			}
			t.Logf("Start: %v", err)
			if msg := err.Error(); !strings.Contains(msg, ref) || !strings.Contains(strings.ToLower(msg), "unauthorized") || leaks(msg) {
				t.Errorf("Start error %q: want podman's reason (unauthorized) for %s, without the credentials", msg, ref)
			}
		})
	}

	s, out := spec(t, `echo "ran as $(id -u)"; ls -a /etc/secret 2>&1; env | grep -ci auth || true`)
	s.Image, s.PullSecret = ref, reg.AuthConfig(user, password)
	h, err := ex.Start(t.Context(), s)
	if err != nil {
		t.Fatalf("Start with the runner's credentials: %v", err)
	}
	// The credentials served the pull and are gone from the attempt's directory while the job runs.
	if m, _ := filepath.Glob(filepath.Join(workDir, "*", "auth.json")); len(m) > 0 {
		t.Errorf("auth files left while the job runs: %q", m)
	}
	if r := wait(t, ex, h); r.ExitCode != 0 {
		t.Fatalf("job in the pulled image: exit %d (%s), output:\n%s", r.ExitCode, r.Reason, out)
	}
	if !strings.Contains(out.String(), "ran as 65532") || leaks(out.String()) {
		t.Errorf("job output %q: want it to run, without the credentials", out)
	}
	// Nothing of the attempt's is left, and nothing under the work dir holds the credentials.
	_ = ex.Close()
	_ = filepath.WalkDir(workDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); leaks(string(b)) {
				t.Errorf("%s holds the credentials", p)
			}
		}
		return nil
	})
}
