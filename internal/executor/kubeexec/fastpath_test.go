package kubeexec

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

const testNonce = "0123456789abcdef01234567"

// The end filter passes the log on without the end marker, however the stream is cut into reads, and says when the
// marker was the last thing read.
func TestEndFilter(t *testing.T) {
	marker := "\n::runplane-end " + testNonce + " 0::\n"
	tests := []struct {
		name, in, want string
		marked         bool
	}{
		{"lines", "a\nb\n" + marker, "a\nb\n", true},
		{"no final newline", "a\nb" + marker, "a\nb", true},
		{"no output", marker, "", true},
		{"status", "x\n\n::runplane-end " + testNonce + " 143::\n", "x\n", true},
		{"no marker yet", "a\nb\n", "a\nb\n", false},
		{"half a marker", "a\n" + marker[:20], "a", false},
		{"marker without its newline", "a\n" + marker[:len(marker)-1], "a", false},
		{"another nonce", "a\n::runplane-end fedcba9876543210fedcba98 0::\n", "a\n::runplane-end fedcba9876543210fedcba98 0::\n", false},
		{"a marker in the middle", "a" + marker + "b\n", "a" + marker + "b\n", false},
		{"a marker in the middle, then the end", "a" + marker + "b" + marker, "a" + marker + "b", true},
		{"not a status", "a\n::runplane-end " + testNonce + " x::\n", "a\n::runplane-end " + testNonce + " x::\n", false},
		{"a status too long", "a\n::runplane-end " + testNonce + " 1234::\n", "a\n::runplane-end " + testNonce + " 1234::\n", false},
		{"no status", "a\n::runplane-end " + testNonce + " ::\n", "a\n::runplane-end " + testNonce + " ::\n", false},
		{"newlines before", "a\n\n\n" + marker, "a\n\n\n", true},
	}
	for _, tc := range tests {
		for _, size := range []int{1, 2, 3, 7, 1 << 20} {
			var out bytes.Buffer
			f := newEndFilter(&out, testNonce)
			for in := tc.in; in != ""; {
				n := min(size, len(in))
				if _, err := f.Write([]byte(in[:n])); err != nil {
					t.Fatal(err)
				}
				in = in[n:]
			}
			if got := f.marked.Load(); got != tc.marked {
				t.Errorf("%s, reads of %d: marked = %v, want %v", tc.name, size, got, tc.marked)
			}
			if err := f.flush(); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if !tc.marked {
				want = tc.in // flushed: the log ended without its marker
			}
			if out.String() != want {
				t.Errorf("%s, reads of %d: passed on %q, want %q", tc.name, size, out.String(), want)
			}
		}
	}
}

// FuzzEndFilter: whatever a job prints, the filter passes on exactly what came before a final end marker, or all of
// it (once flushed) when there is none.
func FuzzEndFilter(f *testing.F) {
	marker := "\n::runplane-end " + testNonce + " 0::\n"
	f.Add("hello\n", true, 3)
	f.Add("a"+marker+"b", true, 1)
	f.Add("\n::runplane-end "+testNonce+" 1", false, 5)
	f.Fuzz(func(t *testing.T, out string, end bool, size int) {
		size = max(1, size%64)
		in := out
		if end {
			in += marker
		}
		var got bytes.Buffer
		ef := newEndFilter(&got, testNonce)
		for rest := in; rest != ""; {
			n := min(size, len(rest))
			ef.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		if end && !ef.marked.Load() {
			t.Fatalf("output %q and the marker: not marked", out)
		}
		marked := ef.marked.Load()
		ef.flush()
		want := in
		if marked {
			want = strings.TrimSuffix(in, in[strings.LastIndex(in, "\n::runplane-end "):])
		}
		if end && want != out {
			t.Fatalf("output %q with the marker: passed on %q", out, got.String())
		}
		if got.String() != want {
			t.Fatalf("input %q: passed on %q, want %q", in, got.String(), want)
		}
	})
}

// A plain command job runs in one container: its PID 1 is the wrapper, the tree comes in the Secret (never the
// token), nothing runs runplane's image.
func TestObjectsOneContainer(t *testing.T) {
	spec := testSpec()
	spec.Secrets = nil
	fast := &fastPath{nonce: testNonce, tree: []byte("tar archive")}
	secret, job, err := testExecutor().objects("rp-x-xxxxx", spec, fast)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	if len(pod.InitContainers) != 0 || len(pod.Containers) != 1 {
		t.Fatalf("pod has %d init and %d containers, want 0 and 1", len(pod.InitContainers), len(pod.Containers))
	}
	c := pod.Containers[0]
	if want := []string{"sh", "-c", oneContainer, "runplane", spec.Command, testNonce}; !slices.Equal(c.Command, want) {
		t.Errorf("command = %q, want %q", c.Command, want)
	}
	if c.Image != spec.Image || c.Name != containerJob || c.WorkingDir != workspaceDir {
		t.Errorf("container %s in %s at %s, want %s in %s at %s", c.Name, c.Image, c.WorkingDir, containerJob, spec.Image, workspaceDir)
	}
	if job.Annotations[annLogEnd] != testNonce || job.Spec.Template.Annotations[annLogEnd] != testNonce {
		t.Errorf("annotations %v, want %s=%s on the Job and its pod", job.Annotations, annLogEnd, testNonce)
	}
	if secret == nil || string(secret.Data[treeKey]) != "tar archive" || len(secret.Data) != 1 {
		t.Fatalf("Secret = %v, want the tree only", secret)
	}
	b, _ := json.Marshal(job)
	if strings.Contains(string(b), spec.Repo.Token) || strings.Contains(string(b), "tar archive") {
		t.Error("the Job spec contains the token or the tree")
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	if want := []string{workspaceDir, tmpDir, ackDir, treeDir}; !slices.Equal(mounts, want) {
		t.Errorf("mounts = %q, want %q", mounts, want)
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 {
		t.Errorf("container security context = %+v, want hardened", sc)
	}
	if ps := pod.SecurityContext; ps == nil || !*ps.RunAsNonRoot || *pod.AutomountServiceAccountToken {
		t.Errorf("pod security context = %+v, token %v; want non-root, no token", ps, *pod.AutomountServiceAccountToken)
	}

	// No repository: no Secret, no tree volume.
	spec.Repo = executor.Repo{}
	secret, job, err = testExecutor().objects("rp-x-xxxxx", spec, &fastPath{nonce: testNonce})
	if err != nil {
		t.Fatal(err)
	}
	if secret != nil || len(job.Spec.Template.Spec.Volumes) != 3 {
		t.Errorf("a job without a repository: Secret %v, volumes %v; want none, and no tree volume", secret, job.Spec.Template.Spec.Volumes)
	}
}

func TestOneContainerJob(t *testing.T) {
	plain := executor.Spec{Command: "true", Image: "busybox"}
	tests := []struct {
		name string
		edit func(*executor.Spec)
		want bool
	}{
		{"plain", func(*executor.Spec) {}, true},
		{"repository", func(s *executor.Spec) { s.Repo = executor.Repo{URL: "https://git.example/r.git", Token: "t"} }, true},
		{"secrets", func(s *executor.Spec) { s.Secrets = map[string]string{"K": "v"} }, false},
		{"input files", func(s *executor.Spec) { s.InputFiles = map[string][]byte{"a": nil} }, false},
		{"containers", func(s *executor.Spec) { s.Containers = []api.Container{{Name: "a", Command: []string{"true"}}} }, false},
		{"keep", func(s *executor.Spec) { s.Keep = "/tmp/x" }, false},
	}
	for _, tc := range tests {
		s := plain
		tc.edit(&s)
		if got := oneContainerJob(s); got != tc.want {
			t.Errorf("oneContainerJob(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFastReport(t *testing.T) {
	tests := []struct {
		name       string
		code       int32
		reason     string
		msg        string
		wantSignal string
		wantMarked bool
	}{
		{"success", 0, "Completed", endWritten + "\n", "", true},
		{"failure", 3, "Error", endWritten + "\n", "", true},
		{"terminated", 143, "Error", endWritten + "\n", "signal: terminated", true},
		{"killed at the end of grace", 137, "Error", "", "signal: killed", false},
		{"out of memory", 137, "OOMKilled", "", "", false},
		{"not run", 1, "Error", "not run: no tar\n" + endWritten + "\n", "", true},
	}
	for _, tc := range tests {
		sig, marked := fastReport(tc.code, tc.reason, tc.msg)
		if sig != tc.wantSignal || marked != tc.wantMarked {
			t.Errorf("fastReport(%s) = %q, %v; want %q, %v", tc.name, sig, marked, tc.wantSignal, tc.wantMarked)
		}
	}
}

// The wrapper is plain POSIX sh: dash (Debian's sh), bash and busybox's ash (Alpine's, busybox's) all parse it. It is
// only parsed here (sh -n): run, its stop trap would signal every process of the caller's namespace.
func TestOneContainerScriptParses(t *testing.T) {
	shells := map[string][]string{"dash": {"dash"}, "bash": {"bash", "--posix"}, "busybox ash": {"busybox", "ash"}}
	found := 0
	for name, argv := range shells {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		found++
		out, err := exec.Command(argv[0], append(argv[1:], "-n", "-c", oneContainer, "runplane", "true", testNonce)...).CombinedOutput()
		if err != nil {
			t.Errorf("%s -n: %v: %s", name, err, out)
		}
	}
	if found == 0 {
		t.Skip("no dash, bash or busybox here")
	}
}

// A server without git (runplane's image has none) still archives a job's tree, with its built-in git reader:
// the job runs in one container. Only a repository it cannot read without git (ssh) keeps the checkout container,
// rather than failing.
func TestFastPathWithoutGit(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"hello.txt": "hi\n", "bin/run.sh": "echo\n"})
	t.Setenv("PATH", t.TempDir())
	cache, err := gitsource.New(t.TempDir(), gitsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := testExecutor()
	e.opts.Heads, e.log = cache, slog.New(slog.DiscardHandler)
	tests := []struct {
		name     string
		url      string
		wantTree []string // nil: the checkout container
	}{
		{"file", gittest.URL(bare), []string{"bin/", "bin/run.sh", "hello.txt"}},
		{"ssh", "ssh://git@git.example/repo.git", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			spec.Secrets, spec.Repo = nil, executor.Repo{URL: tc.url}
			f, err := e.fastPath(t.Context(), spec)
			if err != nil {
				t.Fatalf("fastPath without git = %v", err)
			}
			if tc.wantTree == nil {
				if f != nil {
					t.Errorf("fastPath without git for %s = a one-container pod, want the checkout container", tc.url)
				}
				return
			}
			if f == nil || f.tree == nil {
				t.Fatalf("fastPath without git for %s = %v, want a one-container pod with the tree", tc.url, f)
			}
			var names []string
			tr := tar.NewReader(bytes.NewReader(f.tree))
			for {
				h, err := tr.Next()
				if err != nil {
					break
				}
				names = append(names, h.Name)
			}
			if !slices.Equal(names, tc.wantTree) {
				t.Errorf("tree without git = %q, want %q", names, tc.wantTree)
			}
		})
	}
}
