package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/client"
)

// TestKratixPromise applies Kratix's own manifests (a GitStateStore, a Destination, a Promise and a request for
// it) to the real binary with `runplane apply -f`: the request's configure pipeline runs as a local process, its
// status.yaml is merged, its output is committed to the git state store at Kratix's path; deleting the request
// runs the delete pipeline and commits the files' removal.
func TestKratixPromise(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "state.git")
	git(t, "", "init", "-q", "--bare", "-b", "main", bare)
	manifests := filepath.Join(dir, "manifests")
	if err := os.Mkdir(manifests, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"statestore.yaml", "destination.yaml", "promise.yaml", "request.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/kratix", f))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("file:///STATE_REPO"), []byte("file://"+bare))
		if err := os.WriteFile(filepath.Join(manifests, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	srv := startServe(t, t.TempDir())
	home := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home}
		cmd.Stdin = strings.NewReader(rootPassword + "\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("runplane %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, &stdout, &stderr)
		}
		return stdout.String()
	}
	cli("login", "--server", srv.url, "-u", "root", "--password-stdin")
	for _, f := range []string{"statestore.yaml", "destination.yaml", "promise.yaml", "request.yaml"} {
		cli("apply", "-f", filepath.Join(manifests, f))
	}

	c := login(t, srv.url)
	var status map[string]any
	waitFor(t, "the request's configure workflow", time.Minute, func() (bool, error) {
		rr, err := c.GetResourceRequest(t.Context(), "redis", "default", "example")
		if err != nil {
			return false, err
		}
		status = nil
		json.Unmarshal(rr.Status, &status)
		return hasCondition(status, "ConfigureWorkflowCompleted", "True"), nil
	})
	if status["message"] != "redis example is large" {
		t.Errorf("status.message = %v, want the pipeline's", status["message"])
	}
	path := "clusters/worker-1/resources/default/redis/example/instance-configure/5058f/redis-instance.yaml"
	got := git(t, bare, "show", "main:"+path)
	if !strings.Contains(got, "kind: RedisFailover") || !strings.Contains(got, "size: large") || !strings.Contains(got, "name: example") {
		t.Errorf("%s in the state store = %q", path, got)
	}
	if out := cli("get", "resources", "redis", "example", "-n", "default", "-o", "json"); !strings.Contains(out, path) {
		t.Errorf("get resources printed %s; want the status to name %s", out, path)
	}

	if err := c.DeleteResourceRequest(t.Context(), "redis", "default", "example"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	waitFor(t, "the request's removal", time.Minute, func() (bool, error) {
		_, err := c.GetResourceRequest(t.Context(), "redis", "default", "example")
		var he *client.Error
		if errors.As(err, &he) && he.StatusCode == 404 {
			return true, nil
		}
		return false, err
	})
	if files := git(t, bare, "ls-tree", "-r", "--name-only", "main"); strings.Contains(files, "resources/default/redis/example") {
		t.Errorf("after delete the state store still holds %s", files)
	}
}

func hasCondition(st map[string]any, typ, status string) bool {
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ && m["status"] == status {
			return true
		}
	}
	return false
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return string(out)
}
