package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples walks the README's worked example with the real binary as server and CLI, so examples/ and the
// README cannot silently rot.
func TestExamples(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "examples.git")
	mk := exec.Command("../../examples/make-repo.sh", bare)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make-repo.sh: %v\n%s", err, out)
	}
	// The same manifests, pointed at this test's copy of the example repository.
	manifests := filepath.Join(dir, "manifests")
	if err := os.Mkdir(manifests, 0o700); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 2 {
		t.Fatalf("examples/ has %d manifests, want a runner and tasks", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("file:///tmp/runplane-examples.git"), []byte("file://"+bare))
		if err := os.WriteFile(filepath.Join(manifests, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	srv := startServe(t, t.TempDir())
	home := t.TempDir()
	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home}
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("runplane %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, &stdout, &stderr)
		}
		return stdout.String()
	}

	cli(rootPassword+"\n", "login", "--server", srv.url, "-u", "root", "--password-stdin")
	applied := cli("", "apply", "-f", manifests)
	for _, want := range []string{"runner/examples created", "task/hello created", "task/count created", "task/secret created"} {
		if !strings.Contains(applied, want) {
			t.Errorf("apply printed %q, want it to contain %q", applied, want)
		}
	}
	if again := cli("", "apply", "-f", manifests); strings.Contains(again, "created") {
		t.Errorf("second apply printed %q, want nothing created", again)
	}
	if out := cli("", "run", "hello", "--input", `{"name": "ada"}`); !strings.Contains(out, `"greeting": "hello, ada"`) {
		t.Errorf("run hello printed %q, want the greeting result", out)
	}
	if out := cli("", "run", "secret"); !strings.Contains(out, `"same": true`) {
		t.Errorf("run secret printed %q, want the secret file and env var to agree", out)
	}
	id := strings.TrimSpace(cli("", "run", "count", "--input", `{"to": 2}`))
	if !strings.HasPrefix(id, "count-") {
		t.Fatalf("async run printed %q, want a job id", id)
	}
	if log := cli("", "logs", id, "-f"); !strings.Contains(log, "count 1\ncount 2\n") || !strings.Contains(log, `{"counted": 2}`) {
		t.Errorf("logs -f printed %q, want the whole count", log)
	}
	if job := cli("", "get", "jobs", id, "-o", "json"); !strings.Contains(job, `"status": "succeeded"`) {
		t.Errorf("get jobs %s printed %q, want it succeeded", id, job)
	}

	// The workflow (examples/workflow.yaml, applied with the rest): fan-out/fan-in, outputs through ^JSON and the
	// metadata API (with curl), a conditional step skipped unless asked for.
	if !strings.Contains(applied, "workflow/release created") {
		t.Errorf("apply printed %q, want workflow/release created", applied)
	}
	tree := cli("", "run", "workflow", "release", "--wait")
	for _, want := range []string{`artifact="app-1.0.0.tar"`, "passed=17", `package="app-1.0.0.tar.gz" tests=17`, "publish      skipped"} {
		if !strings.Contains(tree, want) {
			t.Errorf("run workflow release --wait printed\n%s\nwant %q", tree, want)
		}
	}
	run := cli("", "run", "workflow", "release", "-i", `{"version": "2.0", "publish": true}`, "--wait", "-o", "json")
	if !strings.Contains(run, `"status": "succeeded"`) || strings.Contains(run, `"status": "skipped"`) {
		t.Errorf("run workflow release (publish) printed %s, want every step run", run)
	}
	rid := strings.TrimSpace(cli("", "run", "workflow", "release", "--async"))
	if log := cli("", "logs", "run", "-f", rid); !strings.Contains(log, "==> step package (job package-") ||
		!strings.Contains(log, "packaging app-1.0.0.tar (17 integration tests passed)") {
		t.Errorf("logs run -f %s printed %q, want every step's log", rid, log)
	}
	if got := cli("", "get", "run", rid); !strings.HasPrefix(got, "run "+rid+"  workflow release  succeeded") {
		t.Errorf("get run %s printed %q", rid, got)
	}
	// The same workflow as a Relay file, named after its file.
	if out := cli("", "apply", "-f", "../../examples/relay/release-relay.yaml"); out != "workflow/release-relay created\n" {
		t.Errorf("apply of the Relay file printed %q", out)
	}
	if tree := cli("", "run", "workflow", "release-relay", "--wait"); !strings.Contains(tree, `package="app-1.0.0.tar.gz" tests=17`) {
		t.Errorf("run workflow release-relay --wait printed\n%s", tree)
	}
}
