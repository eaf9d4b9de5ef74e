package podman

import (
	"errors"
	"os"
	"path/filepath"
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
	args := e.createArgs("runplane-j1-00000000", "/data/work/runplane-j1-00000000", spec, envNames(env), o.AuthFile, nil)
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

// TestCreateArgsNetwork: a task's network picks podman's, and Options.Network is for tasks that set none.
func TestCreateArgsNetwork(t *testing.T) {
	tests := []struct {
		name, option, task, want string
	}{
		{"default", "", "", "none"},
		{"none", "", "none", "none"},
		{"private", "", "private", "bridge"},
		{"host", "", "host", "host"},
		{"operator's default", "mynet", "", "mynet"},
		{"none despite operator's default", "mynet", "none", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Network: tt.option}
			if err := defaults(&o); err != nil {
				t.Fatal(err)
			}
			e := &Executor{opts: o}
			spec := executor.Spec{JobID: "j1", Image: "localhost/img:1", Command: "true", Network: tt.task}
			args := e.createArgs("runplane-j1-00000000", "/w", spec, nil, "", nil)
			i := slices.Index(args, "--network")
			if i < 0 || args[i+1] != tt.want || slices.Index(args[i+1:], "--network") >= 0 {
				t.Errorf("Options.Network %q, task network %q: podman create %q, want one --network %s", tt.option, tt.task, args, tt.want)
			}
		})
	}
}

// TestCreateArgsPullSecret: a runner's pull secret reaches podman as a file of its own, mode 0600, in the attempt's
// directory; the argv names the file and holds no credential.
func TestCreateArgsPullSecret(t *testing.T) {
	o := Options{AuthFile: "/etc/runplane/auth.json", SkipTLSVerify: true}
	if err := defaults(&o); err != nil {
		t.Fatal(err)
	}
	e := &Executor{opts: o}
	dir := t.TempDir()
	const secret = `{"auths":{"r.example":{"auth":"dXNlcjpwdWxsLXB3LTQ0"}}}`
	spec := executor.Spec{JobID: "j1", Image: "r.example/img:1", Command: "true", PullSecret: secret}
	path, err := e.writeAuthFile(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(path) != dir {
		t.Fatalf("auth file %s: %v, %v; want mode 0600 in %s", path, fi, err, dir)
	}
	if b, _ := os.ReadFile(path); string(b) != secret {
		t.Errorf("auth file holds %q, want the pull secret", b)
	}
	line := strings.Join(e.createArgs("runplane-j1-00000000", dir, spec, nil, path, nil), " ")
	if !strings.Contains(line, "--authfile "+path) || !strings.Contains(line, "--tls-verify=false") {
		t.Errorf("podman create %q lacks --authfile %s or --tls-verify=false", line, path)
	}
	if strings.Contains(line, "dXNlcjpwdWxsLXB3LTQ0") || strings.Contains(line, "pull-pw-44") || strings.Contains(line, "/etc/runplane/auth.json") {
		t.Errorf("podman create %q holds the credentials or the server's auth file", line)
	}
	// Without a pull secret, the server's auth file serves.
	spec.PullSecret = ""
	if p, err := e.writeAuthFile(spec, dir); err != nil || p != o.AuthFile {
		t.Errorf("writeAuthFile without a pull secret = %q, %v; want %q", p, err, o.AuthFile)
	}
}

func TestScrub(t *testing.T) {
	err := scrub(errors.New("podman create: auth dXNlcjpwdw== refused for pw"), []string{"dXNlcjpwdw==", "", "pw"})
	if strings.Contains(err.Error(), "dXNlcjpwdw") || strings.Contains(err.Error(), " pw") {
		t.Errorf("scrub left a secret: %v", err)
	}
	plain := errors.New("podman create: unauthorized")
	if got := scrub(plain, []string{"pw"}); got != plain {
		t.Errorf("scrub of a clean error = %v, want it unchanged", got)
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
