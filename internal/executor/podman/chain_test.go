package podman_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// chainSpec is a job of 3 containers: each appends its name to output/runs (so a container that ran twice would
// show); the second waits for the file "go" in the workspace.
func chainSpec(t *testing.T) (executor.Spec, *executortest.LockedBuffer) {
	s, out := spec(t, "")
	s.Command = ""
	s.Keep = filepath.Join(t.TempDir(), "keep")
	step := func(name, script string) api.Container {
		return api.Container{Name: name, Image: podmantest.Image, Command: []string{"sh", "-c",
			`echo ` + name + ` >> "$RUNPLANE_OUTPUT_DIR/runs"; ` + script}}
	}
	s.Containers = []api.Container{
		step("one", "echo one"),
		step("two", "echo two-start; while [ ! -e /workspace/go ]; do sleep 0.05; done; echo two-end"),
		// stdout only: a chain container's stderr reaches the log through podman, in no fixed order with stdout.
		step("three", "echo three; cat /kratix/output/runs | wc -l"),
	}
	return s, out
}

// TestRecoverChain: a multi-container job outlives the server that started it; the next server replays the log
// of every container under its header, follows the one running or starts the next, and no container runs twice.
func TestRecoverChain(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	var label map[string]string
	ex1 := newExecutor(t, func(o *podman.Options) { o.WorkDir, label = work, o.Labels })
	for _, tc := range []struct {
		name   string
		finish bool // the second container ends while no server runs: the third has not started
	}{{"running", false}, {"between-containers", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, out := chainSpec(t)
			h, err := ex1.Start(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the second container", func() bool { return strings.Contains(out.String(), "two-start") })
			ex1.Abandon(h)
			name := strings.TrimPrefix(string(h), "podman:")
			ws := filepath.Join(work, name, "workspace")
			if tc.finish {
				if err := os.WriteFile(filepath.Join(ws, "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				podmantest.WaitExited(t, name+"-1")
			}

			ex2 := newExecutor(t, func(o *podman.Options) { o.WorkDir, o.Labels = work, label })
			if got, err := ex2.Find(t.Context(), s.JobID); err != nil || got != h {
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
			r := wait(t, ex2, h)
			want := executor.ContainerHeader(s.Containers[0]) + "one\n" + executor.ContainerHeader(s.Containers[1]) + "two-start\ntwo-end\n" +
				executor.ContainerHeader(s.Containers[2]) + "three\n3\n"
			if r.ExitCode != 0 || r.Reason != "" || replay.String() != want {
				t.Errorf("recovered job: exit %d, reason %q, log\n%s\nwant 0, none, log\n%s", r.ExitCode, r.Reason, replay.String(), want)
			}
			if len(r.Containers) != 3 || r.Containers[2].ExitCode == nil || *r.Containers[2].ExitCode != 0 || r.Containers[0].StartTime == nil {
				t.Errorf("Containers = %+v, want 3 that ran", r.Containers)
			}
			if b, err := os.ReadFile(filepath.Join(s.Keep, "output/runs")); string(b) != "one\ntwo\nthree\n" {
				t.Errorf("kept output/runs = %q, %v; want each container once", b, err)
			}
		})
	}
}

// TestChainEntrypoint: a container without a command runs its image's entrypoint, with its args.
func TestChainEntrypoint(t *testing.T) {
	image := podmantest.BuildEntrypointImage(t, `["/bin/echo", "from-entrypoint"]`)
	ex := newExecutor(t, nil)
	s, out := spec(t, "")
	s.Command = ""
	s.Containers = []api.Container{
		{Name: "ep", Image: image},
		{Name: "ep-args", Image: image, Args: []string{"and", "args"}},
		{Name: "fails", Image: image, Command: []string{"sh", "-c", "exit 5"}},
	}
	r := run(t, ex, s)
	want := executor.ContainerHeader(s.Containers[0]) + "from-entrypoint\n" + executor.ContainerHeader(s.Containers[1]) +
		"from-entrypoint and args\n" + executor.ContainerHeader(s.Containers[2])
	if r.ExitCode != 5 || out.String() != want {
		t.Errorf("exit %d, output\n%s\nwant 5, output\n%s", r.ExitCode, out.String(), want)
	}
}

// TestChainKeptnDir: the input directory is also at /keptn, where Keptn's job-executor puts a task's files, their
// paths kept.
func TestChainKeptnDir(t *testing.T) {
	ex := newExecutor(t, nil)
	s, out := spec(t, "")
	s.Command = ""
	s.Containers = []api.Container{{Name: "read", Image: podmantest.Image, Command: []string{"sh", "-c",
		`cat /keptn/locust/basic.py "$RUNPLANE_INPUT_DIR/locust/basic.py"`}}}
	s.InputFiles = map[string][]byte{"locust/basic.py": []byte("print(1)\n")}
	r := run(t, ex, s)
	want := executor.ContainerHeader(s.Containers[0]) + "print(1)\nprint(1)\n"
	if r.ExitCode != 0 || out.String() != want {
		t.Errorf("exit %d, output\n%s\nwant 0, output\n%s", r.ExitCode, out.String(), want)
	}
}
