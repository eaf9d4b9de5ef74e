package executor_test

import (
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
