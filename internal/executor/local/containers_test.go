//go:build linux

package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/testlog"
)

var processModes = []struct {
	name string
	opts local.Options
}{
	{"namespace", local.Options{Isolation: local.IsolationNamespace}},
	{"namespace-tmpfs-per-job", local.Options{Isolation: local.IsolationNamespace, WorkspaceSize: 64 << 20}},
	{"launcher", local.Options{Isolation: local.IsolationLauncher}},
	{"none", local.Options{Isolation: local.IsolationNone}},
}

func newModeExecutor(t *testing.T, opts local.Options, work string) *local.Executor {
	t.Helper()
	opts.WorkDir, opts.Logger = work, testlog.New(t)
	ex, err := local.New(opts)
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	return ex
}

// TestContainerWithoutCommand: local processes cannot run an image's entrypoint; Start says which isolation can,
// and nothing runs.
func TestContainerWithoutCommand(t *testing.T) {
	t.Parallel()
	for _, m := range processModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			work := filepath.Join(t.TempDir(), "work")
			ex := newModeExecutor(t, m.opts, work)
			out := outputFile(t)
			_, err := ex.Start(t.Context(), executor.Spec{JobID: "noentry", Output: out, Containers: []api.Container{
				{Name: "first", Command: []string{"touch", "/tmp/never"}},
				{Name: "kratix-step", Image: "ghcr.io/syntasso/kratix-pipeline-utility:v0.0.1"},
			}})
			if err == nil || !errors.Is(err, executor.ErrNeedsImage) || !strings.Contains(err.Error(), "--isolation container") ||
				!strings.Contains(err.Error(), "kratix-step") {
				t.Errorf("Start of a container without a command = %v; want an error naming it and --isolation container", err)
			}
			if b, _ := os.ReadFile(out.Name()); len(b) != 0 {
				t.Errorf("something ran: output %q", b)
			}
			if entries, _ := os.ReadDir(work); len(entries) > 2 { // root and users, the sandboxes'
				t.Errorf("Start left %d entries in WorkDir", len(entries))
			}
		})
	}
}

// TestContainerNeedsPod: a container whose kubernetes settings only a pod can give (envFrom, env valueFrom,
// volumeMounts) is refused at Start, naming it and what it needs, and nothing runs; settings that only size or
// harden the pod are ignored, as a task's kubernetes settings are.
func TestContainerNeedsPod(t *testing.T) {
	t.Parallel()
	ex := newModeExecutor(t, local.Options{Isolation: local.IsolationNone}, filepath.Join(t.TempDir(), "work"))
	for _, k := range []*api.ContainerKubernetes{
		{EnvFrom: []byte(`[{"secretRef":{"name":"s"}}]`)},
		{Env: []api.KubeEnvVar{{Name: "TOKEN", ValueFrom: []byte(`{"secretKeyRef":{"name":"s","key":"k"}}`)}}},
		{VolumeMounts: []byte(`[{"name":"v","mountPath":"/templates"}]`)},
	} {
		out := outputFile(t)
		_, err := ex.Start(t.Context(), executor.Spec{JobID: "needspod", Output: out, Containers: []api.Container{
			{Name: "first", Command: []string{"echo", "ran"}},
			{Name: "render", Command: []string{"true"}, Kubernetes: k},
		}})
		if err == nil || !errors.Is(err, executor.ErrNeedsPod) || !strings.Contains(err.Error(), "container render sets kubernetes "+k.NeedsPod()) {
			t.Errorf("Start of a container needing %s = %v; want ErrNeedsPod naming it", k.NeedsPod(), err)
		}
		if b, _ := os.ReadFile(out.Name()); len(b) != 0 {
			t.Errorf("something ran: output %q", b)
		}
	}
	out := outputFile(t)
	h, err := ex.Start(t.Context(), executor.Spec{JobID: "sized", Output: out, Containers: []api.Container{
		{Name: "render", Command: []string{"true"}, Kubernetes: &api.ContainerKubernetes{ImagePullPolicy: api.PullNever,
			SecurityContext: []byte(`{"runAsNonRoot":true}`), Resources: &api.ResourceRequirements{Limits: map[string]string{"cpu": "200m"}}}},
	}})
	if err != nil {
		t.Fatalf("Start of a container with pod sizing only: %v", err)
	}
	if res, err := ex.Wait(t.Context(), h); err != nil || res.ExitCode != 0 {
		t.Errorf("Wait = %+v, %v; want exit 0", res, err)
	}
}

// TestContainerDirs: in a sandbox the shared directories are at /runplane/... and /kratix/... (the same
// directories, one mount; the input directory at /keptn too); without one the env names them on the host, outside the checkout. Each container has a PID
// namespace of its own in a sandbox, so what one leaves running does not outlive it. The directories are gone
// after the job.
func TestContainerDirs(t *testing.T) {
	t.Parallel()
	for _, m := range processModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			work := filepath.Join(t.TempDir(), "work")
			ex := newModeExecutor(t, m.opts, work)
			out := outputFile(t)
			sandbox := m.opts.Isolation != local.IsolationNone
			spec := executor.Spec{JobID: "dirs", Output: out, Containers: []api.Container{
				{Name: "a", Command: []string{"sh", "-c", `echo x > "$RUNPLANE_OUTPUT_DIR/f"; echo "$RUNPLANE_INPUT_DIR $RUNPLANE_OUTPUT_DIR $RUNPLANE_METADATA_DIR"; ls -A`}},
				{Name: "b", Command: []string{"sh", "-c", `cat /kratix/output/f 2>/dev/null || echo no-kratix; cat /kratix/input/in /keptn/in 2>/dev/null; pwd`}},
				// One bind shows the three directories at every path; metadata written at Kratix's is runplane's.
				{Name: "c", Command: []string{"sh", "-c", `[ -d /runplane ] || exit 0; echo m > /kratix/metadata/m; cat /runplane/metadata/m; ls /runplane | tr '\n' ' '; echo; grep -c -E ' /(runplane|kratix|keptn)[/ ]' /proc/self/mountinfo`}},
			}, InputFiles: map[string][]byte{"in": []byte("input\n")}}
			if sandbox {
				// A program found in PATH (env) runs as it would through sh: PWD is the working directory.
				spec.Containers = append(spec.Containers, api.Container{Name: "d", Command: []string{"env"}, WorkingDir: "/kratix/output"})
			}
			h, err := ex.Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ex.Wait(t.Context(), h)
			if err != nil || r.ExitCode != 0 {
				t.Fatalf("Wait = %+v, %v", r, err)
			}
			b, _ := os.ReadFile(out.Name())
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if sandbox {
				want := "==> container a\n/runplane/input /runplane/output /runplane/metadata\n==> container b\nx\ninput\ninput\n/workspace\n" +
					"==> container c\nm\ninput metadata output \n1\n"
				// d's env, minus what differs by run: PWD as getcwd names it.
				if !strings.Contains(string(b), "\nPWD=/runplane/output\n") {
					t.Errorf("output\n%s\nwant container d's env with PWD=/runplane/output", b)
				}
				b = []byte(string(b)[:strings.Index(string(b), "==> container d")])
				if string(b) != want {
					t.Errorf("output\n%s\nwant\n%s", b, want)
				}
			} else if len(lines) != 6 || !strings.HasSuffix(lines[1], "/input "+strings.TrimSuffix(strings.Fields(lines[1])[0], "/input")+"/output "+
				strings.TrimSuffix(strings.Fields(lines[1])[0], "/input")+"/metadata") || lines[3] != "no-kratix" {
				t.Errorf("output without a sandbox:\n%s\nwant the dirs on the host, an empty workspace, no /kratix", b)
			}
			waitFor(t, 10*time.Second, "the workspace to be removed", func() bool { return len(hostWorkspaces(work, h)) == 0 })
			// Removed with the workspace, once the attempt ended (after Wait returned, on a busy machine).
			name := string(h[strings.LastIndexByte(string(h), ':')+1:])
			for _, pattern := range []string{filepath.Join(work, name+".io"), "/dev/shm/runplane-*/" + name + ".io"} {
				waitFor(t, 10*time.Second, "the shared directories to be removed", func() bool {
					m, _ := filepath.Glob(pattern)
					return len(m) == 0
				})
			}
		})
	}
}
