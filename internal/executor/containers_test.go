package executor_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

func TestContainerHeader(t *testing.T) {
	tests := []struct {
		c    api.Container
		want string
	}{
		{api.Container{Name: "render", Image: "busybox:1"}, "==> container render (busybox:1)\n"},
		{api.Container{Name: "plain", Command: []string{"true"}}, "==> container plain\n"},
	}
	for _, tc := range tests {
		if got := executor.ContainerHeader(tc.c); got != tc.want {
			t.Errorf("ContainerHeader(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestContainerEnvPrecedence(t *testing.T) {
	spec := executor.Spec{JobID: "j-1", Task: "t", Runner: "r", Owner: "o", ExtraVars: []byte("{}"),
		ExtraEnv: []string{"RUNPLANE_METADATA_URL=http://x"}, Secrets: map[string]string{"KEY": "secret"}}
	c := api.Container{Name: "c", Env: api.EnvVars{{Name: "MINE", Value: "1"}, {Name: "RUNPLANE_JOB_ID", Value: "forged"},
		{Name: "KEY", Value: "mine"}, {Name: "PATH", Value: "/mine"}, {Name: "RUNPLANE_OUTPUT_DIR", Value: "/elsewhere"}}}
	got := executor.ContainerEnv(spec, c, executor.MountedDirs, "PATH=/bin", "HOME=/workspace")
	want := []string{"MINE=1", "RUNPLANE_JOB_ID=j-1", "KEY=secret", "PATH=/bin", "RUNPLANE_OUTPUT_DIR=/runplane/output",
		"HOME=/workspace", "RUNPLANE_TASK=t", "RUNPLANE_RUNNER=r", "RUNPLANE_OWNER=o", "EXTRA_VARS={}",
		"RUNPLANE_METADATA_URL=http://x", "RUNPLANE_INPUT_DIR=/runplane/input", "RUNPLANE_METADATA_DIR=/runplane/metadata"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ContainerEnv (-want +got):\n%s", diff)
	}
}

func TestValidateContainers(t *testing.T) {
	ok := []api.Container{{Name: "a", Command: []string{"true"}}}
	tests := []struct {
		name string
		spec executor.Spec
		ok   bool
	}{
		{"containers", executor.Spec{Containers: ok, InputFiles: map[string][]byte{"object.yaml": nil}}, true},
		{"command and containers", executor.Spec{Command: "true", Containers: ok}, false},
		{"input file with a directory", executor.Spec{Containers: ok, InputFiles: map[string][]byte{"../x": nil}}, false},
		{"input file dot dot", executor.Spec{Containers: ok, InputFiles: map[string][]byte{"..": nil}}, false},
		{"input files without containers", executor.Spec{Command: "true", InputFiles: map[string][]byte{"x": nil}}, false},
		{"container without image or command", executor.Spec{Containers: []api.Container{{Name: "a"}}}, false},
		{"extra env without =", executor.Spec{Command: "true", ExtraEnv: []string{"NOPE"}}, false},
	}
	for _, tc := range tests {
		if err := tc.spec.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// An input file name is a relative path of plain names: written under any directory, it stays inside it, and its
// directories can be made there.
func FuzzValidateInputFiles(f *testing.F) {
	for _, s := range []string{"object.yaml", "locust/basic.py", "helm/templates/d.yaml", "../x", "a//b", "/abs", "..data", "a/..b/c", "a/./b", ""} {
		f.Add(s, "other")
	}
	f.Add("a", "a/b")
	f.Fuzz(func(t *testing.T, name, other string) {
		files := map[string][]byte{name: []byte("x"), other: nil}
		if err := executor.ValidateInputFiles(files); err != nil {
			return
		}
		dir := t.TempDir()
		for n := range files {
			p := filepath.Join(dir, filepath.FromSlash(n))
			if rel, err := filepath.Rel(dir, p); err != nil || rel != filepath.FromSlash(n) || strings.HasPrefix(rel, "..") {
				t.Fatalf("input file %q lands at %s, outside %s or elsewhere", n, p, dir)
			}
			if err := executor.MakeParents(dir, n, -1, -1); err != nil {
				t.Fatalf("MakeParents(%q): %v", n, err)
			}
		}
		for n, b := range files {
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(n)), b, 0o644); err != nil {
				t.Fatalf("write accepted input files %q: %v", slices.Collect(maps.Keys(files)), err)
			}
		}
	})
}
