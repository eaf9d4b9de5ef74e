package kubeexec_test

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
)

// Multi-container jobs: one pod, the containers as its init containers but the last.

// multiSpec is a spec running containers in the busybox image, with output to a new file.
func (c cluster) multiSpec(t *testing.T, repo executor.Repo, containers ...api.Container) (executor.Spec, *os.File) {
	t.Helper()
	spec, out := c.jobSpec(t, repo, "")
	spec.Containers = containers
	return spec, out
}

func sh(name, script string) api.Container {
	return api.Container{Name: name, Command: []string{"sh", "-c", script}}
}

func TestMultiContainer(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	repo := c.repo(t, map[string]map[string]string{"main": {"hello.txt": "hi"}})

	tests := []struct {
		name       string
		repo       executor.Repo
		edit       func(*executor.Spec)
		containers []api.Container
		exit       int
		log        string
		exits      []int             // -1: never started
		kept       map[string]string // the files kept, when edit sets Keep
	}{{
		name: "shared dirs in order",
		repo: repo,
		edit: func(s *executor.Spec) {
			s.InputFiles = map[string][]byte{"object.yaml": []byte("kind: Thing\n")}
			s.Secrets = map[string]string{"TOKEN": "s3"}
			s.Keep = filepath.Join(t.TempDir(), "keep")
		},
		containers: []api.Container{
			sh("first", `cat $RUNPLANE_INPUT_DIR/object.yaml; cat hello.txt; echo; echo one > /kratix/output/a; echo m > $RUNPLANE_METADATA_DIR/status.yaml`),
			{Name: "second_step", Command: []string{"sh", "-c", `echo "$0 $1 $STAGE $TOKEN"; cat /etc/secret/TOKEN; echo; cat /runplane/output/a; echo two >> $RUNPLANE_OUTPUT_DIR/a`}, Args: []string{"x", "y"},
				Env: api.EnvVars{{Name: "STAGE", Value: "2"}}, WorkingDir: "/tmp"},
			{Name: "last", Image: c.Busybox, Args: []string{"sh", "-c", `cat /kratix/output/a /kratix/metadata/status.yaml; pwd; printf 'no newline'`}},
		},
		log: "==> container first (IMG)\nkind: Thing\nhi\n" +
			"==> container second_step (IMG)\nx y 2 s3\ns3\none\n" +
			"==> container last (IMG)\none\ntwo\nm\n/workspace\nno newline",
		exits: []int{0, 0, 0},
		kept:  map[string]string{"output/a": "one\ntwo\n", "metadata/status.yaml": "m\n"},
	}, {
		name: "the first failure ends the job",
		repo: repo,
		containers: []api.Container{
			sh("a", `echo a`), sh("b", `printf b; exit 3`), sh("c", `echo c`),
		},
		exit:  3,
		log:   "==> container a (IMG)\na\n==> container b (IMG)\nb",
		exits: []int{0, 3, -1},
	}, {
		// All with a command: they start together, and run in order by their markers.
		name: "started together, in order",
		repo: repo,
		edit: func(s *executor.Spec) { s.Keep = filepath.Join(t.TempDir(), "keep") },
		containers: []api.Container{
			sh("a", `echo a > $RUNPLANE_OUTPUT_DIR/f; echo a`),
			sh("b", `cat $RUNPLANE_OUTPUT_DIR/f; echo b >> $RUNPLANE_OUTPUT_DIR/f`),
			sh("c", `cat $RUNPLANE_OUTPUT_DIR/f; echo c >> $RUNPLANE_OUTPUT_DIR/f`),
		},
		log:   "==> container a (IMG)\na\n==> container b (IMG)\na\n==> container c (IMG)\na\nb\n",
		exits: []int{0, 0, 0},
		kept:  map[string]string{"output/f": "a\nb\nc\n"},
	}, {
		name: "a command that cannot start ends the job",
		repo: repo,
		containers: []api.Container{
			sh("a", `echo a`), {Name: "b", Command: []string{"no-such-command"}}, sh("c", `echo c`),
		},
		exit:  127,
		log:   "==> container a (IMG)\na\n==> container b (IMG)\nrunplane-pid1: exec: \"no-such-command\": executable file not found in $PATH\n",
		exits: []int{0, 127, -1},
	}, {
		name:       "no repository",
		containers: []api.Container{sh("only", `ls -A; pwd`)},
		log:        "==> container only (IMG)\n/workspace\n",
		exits:      []int{0},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, out := c.multiSpec(t, tc.repo, tc.containers...)
			if tc.edit != nil {
				tc.edit(&spec)
			}
			start := time.Now()
			h, err := ex.Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, ex, h, 2*time.Minute)
			b, _ := os.ReadFile(out.Name())
			want := strings.ReplaceAll(tc.log, "IMG", c.Busybox)
			if r.ExitCode != tc.exit || string(b) != want {
				t.Errorf("exit %d (%q), log\n%s\nwant exit %d, log\n%s", r.ExitCode, r.Reason, b, tc.exit, want)
			}
			if len(r.Warnings) != 0 {
				t.Errorf("warnings %q", r.Warnings)
			}
			if spec.Keep != "" {
				if got := files(t, spec.Keep); !maps.Equal(got, tc.kept) {
					t.Errorf("kept files %q, want %q", got, tc.kept)
				}
			}
			if len(r.Containers) != len(tc.containers) {
				t.Fatalf("Result.Containers = %+v, want %d", r.Containers, len(tc.containers))
			}
			for i, cs := range r.Containers {
				if cs.Name != tc.containers[i].Name {
					t.Errorf("container %d is %q, want %q", i, cs.Name, tc.containers[i].Name)
				}
				switch want := tc.exits[i]; {
				case want < 0 && (cs.ExitCode != nil || cs.StartTime != nil):
					t.Errorf("container %s: %+v, want never started", cs.Name, cs)
				case want >= 0 && (cs.ExitCode == nil || *cs.ExitCode != want || cs.StartTime == nil || cs.CompletionTime == nil ||
					cs.StartTime.Before(start.Add(-time.Second)) || cs.CompletionTime.Before(*cs.StartTime)):
					t.Errorf("container %s: %+v, want exit code %d and times", cs.Name, cs, want)
				}
			}
		})
	}
}

// TestMultiContainerFollow: the log of a container is in the output while it runs, and a later one's follows
// once it starts; after a restart, Recover replays all of it with the headers.
func TestMultiContainerRecover(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	first, stopFirst := context.WithCancel(context.Background())
	ex1 := c.newExecutorCtx(t, first, ns)
	spec, out := c.multiSpec(t, executor.Repo{},
		sh("one", `echo one`),
		sh("two", `echo before; while [ ! -e /tmp/go ]; do sleep 0.2; done; echo after; exit 4`))
	h, err := ex1.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, time.Minute, "the second container to start", func() bool {
		b, _ := os.ReadFile(out.Name())
		return strings.Contains(string(b), "before")
	})
	stopFirst()

	ex2 := c.newExecutor(t, ns, nil)
	var replay executortest.LockedBuffer
	if err := ex2.Recover(t.Context(), h, &replay); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	c.execIn(t, ns, jobNameOf(h), "two", "touch /tmp/go")
	r := waitResult(t, ex2, h, time.Minute)
	want := strings.ReplaceAll("==> container one (IMG)\none\n==> container two (IMG)\nbefore\nafter\n", "IMG", c.Busybox)
	if r.ExitCode != 4 || replay.String() != want {
		t.Errorf("re-adopted job: exit %d, log %q; want 4, %q", r.ExitCode, replay.String(), want)
	}
	if len(r.Containers) != 2 || r.Containers[1].ExitCode == nil || *r.Containers[1].ExitCode != 4 {
		t.Errorf("Result.Containers = %+v", r.Containers)
	}
}

// TestMultiContainerUnstartable: a later container whose image cannot be pulled fails the job, naming it.
func TestMultiContainerUnstartable(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	bad := api.Container{Name: "bad", Image: "docker.io/local/no-such-image:1", Command: []string{"true"}}
	spec, _ := c.multiSpec(t, executor.Repo{}, sh("ok", "true"), bad)
	spec.Kubernetes = &api.TaskKubernetes{ImagePullPolicy: "Never"}
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, ex, h, 2*time.Minute)
	if r.ExitCode != -1 || !strings.Contains(r.Reason, "cannot start container bad (image docker.io/local/no-such-image:1)") {
		t.Errorf("result %+v, want a failure naming the container", r)
	}
}

// files are the files under dir, by slash path.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Errorf("read %s: %v", dir, err)
	}
	return got
}

// TestMultiContainerKeepTooBig: files over Options.MaxKeep are not kept, and the result says so; the job still
// succeeded.
func TestMultiContainerKeepTooBig(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, func(o *kubeexec.Options) { o.MaxKeep = 10 })
	spec, out := c.multiSpec(t, executor.Repo{}, sh("big", `echo 0123456789 > $RUNPLANE_OUTPUT_DIR/big; echo done`))
	spec.Keep = filepath.Join(t.TempDir(), "keep")
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, ex, h, 2*time.Minute)
	b, _ := os.ReadFile(out.Name())
	want := "output files are not kept: the files in output and metadata are 11 bytes, over the 10 kept"
	if r.ExitCode != 0 || len(r.Warnings) != 1 || r.Warnings[0] != want || !strings.HasSuffix(string(b), "\ndone\n") {
		t.Errorf("result %+v, log %q; want exit 0 and the warning %q", r, b, want)
	}
	if got := files(t, spec.Keep); len(got) != 0 {
		t.Errorf("kept %q", got)
	}
}

// TestMultiContainerKeepAllowlist: under an image allowlist that names only the job's image, a job whose files are
// kept runs (its keep container runs runplane's image, as the checkout does, which no allowlist needs to name),
// and one of its containers in another image is refused before anything is created.
func TestMultiContainerKeepAllowlist(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, func(o *kubeexec.Options) { o.Images = onlyImage(c.Busybox) })
	spec, _ := c.multiSpec(t, executor.Repo{}, sh("write", `echo kept > $RUNPLANE_OUTPUT_DIR/f`))
	spec.Keep = filepath.Join(t.TempDir(), "keep")
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start of a job whose files are kept, its image allowed: %v", err)
	}
	if r := waitResult(t, ex, h, 2*time.Minute); r.ExitCode != 0 {
		t.Fatalf("job: %+v", r)
	}
	if got := files(t, spec.Keep); got["output/f"] != "kept\n" {
		t.Errorf("kept %q, want output/f", got)
	}
	evil := api.Container{Name: "evil", Image: "evil.example/miner:1", Command: []string{"true"}}
	spec.Containers = append(spec.Containers, evil)
	spec.JobID = "refused"
	if _, err := ex.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), evil.Image) {
		t.Errorf("Start with a container outside the allowlist = %v, want an error naming its image", err)
	}
}
