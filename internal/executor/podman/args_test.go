package podman

import (
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor"
)

// TestCreateArgs: the container is hardened, limited and labelled, and its command line holds no secret and no
// input (anyone on the host can read a process's argv).
func TestCreateArgs(t *testing.T) {
	o := Options{Labels: map[string]string{"site": "a"}, AuthFile: "/etc/runplane/auth.json"}
	if err := defaults(&o); err != nil {
		t.Fatal(err)
	}
	e := &Executor{opts: o}
	spec := executor.Spec{
		JobID: "j1", Task: "t", Runner: "r", Owner: "o", Image: "localhost/img:1", Command: "echo hi",
		ExtraVars: []byte(`{"input":"INPUT-VALUE"}`), Secrets: map[string]string{"KEY": "SECRET-VALUE"},
		Limits: executor.Limits{CPU: 1500, Memory: 1 << 30, Pids: 100},
	}
	env := spec.Env()
	args := e.createArgs("runplane-j1-00000000", "/data/work/runplane-j1-00000000", spec, envNames(env))
	line := strings.Join(args, " ")
	for _, v := range []string{"SECRET-VALUE", "INPUT-VALUE"} {
		if strings.Contains(line, v) {
			t.Errorf("podman create's argv holds %q: %q", v, line)
		}
	}
	if !slices.Contains(env, "KEY=SECRET-VALUE") || !slices.Contains(env, `EXTRA_VARS={"input":"INPUT-VALUE"}`) {
		t.Errorf("podman's environment %q lacks the secret or the input", env)
	}
	for _, want := range []string{
		"--user 65532:65532", "--cap-drop ALL", "--security-opt no-new-privileges", "--read-only --read-only-tmpfs=false",
		"--tmpfs /tmp:rw,nosuid,nodev,mode=1777", "--network none", "--init", "--pull missing",
		"--ulimit nofile=1024:1024", "--ulimit nproc=1024:1024",
		"--memory 1073741824 --memory-swap 1073741824", "--cpus 1.500", "--pids-limit 100",
		"--label runplane.dev/managed-by=runplane", "--label runplane.dev/job=j1", "--label site=a",
		"--authfile /etc/runplane/auth.json",
		"--volume /data/work/runplane-j1-00000000/workspace:/workspace:rw", "--workdir /workspace",
		"--volume /data/work/runplane-j1-00000000/secret:/etc/secret:ro",
		"--env KEY", "--env EXTRA_VARS", "--env RUNPLANE_JOB_ID", "--env HOME=/workspace",
		"-- localhost/img:1 sh -c",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("podman create's argv lacks %q:\n%s", want, line)
		}
	}
	if got := args[len(args)-1]; got != spec.Command {
		t.Errorf("last argument %q, want the command %q", got, spec.Command)
	}
}

func TestNames(t *testing.T) {
	for _, id := range []string{"job-1", "", "../../etc", strings.Repeat("x", 200), "a b/c\x00"} {
		n := newName(id)
		if !validName(n) || strings.ContainsAny(n, "/ \x00") {
			t.Errorf("newName(%q) = %q, not a valid name", id, n)
		}
		if got, ok := nameOf(handleOf(n)); !ok || got != n {
			t.Errorf("nameOf(handleOf(%q)) = %q, %v", n, got, ok)
		}
	}
	for _, h := range []executor.Handle{"", "podman:", "podman:../x", "podman:runplane-../../x", "local:1:2:x", "podman:other-name"} {
		if n, ok := nameOf(h); ok {
			t.Errorf("nameOf(%q) = %q, true; want false", h, n)
		}
	}
}
