package kubeexec_test

import (
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
)

// TestOneContainerPod: a plain command job (no secrets) runs in one container, in the checkout (executable files
// kept executable, a workspace it may write into), and gets back exactly what it wrote: a last line without a
// newline, and lines that look like the log's end marker followed by more output. A job that reads the pod's own
// nonce (PID 1's arguments) and prints its marker, then more, gets it all back when the marker reaches the log
// reader with what follows it, and ends its own log at the marker when it comes alone (the reader cannot know more
// would follow): a job can only cut its own output short, never pass off anything else's.
// Its Secret, which carried the tree, is gone once the job started.
func TestOneContainerPod(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	repo := c.repo(t, map[string]map[string]string{"main": {"hello.txt": "hello\n", "bin/run.sh": "#!/bin/sh\necho \"ran $1\"\n", ".hidden": "h"}})
	tests := []struct {
		name, command, want string
		cut                 string // if not empty, the other output allowed: the job ended its log at a marker it forged
	}{
		{"checkout", `cat hello.txt .hidden; echo; ./bin/run.sh x; if [ -e .git ]; then echo git; fi`, "hello\nh\nran x\n", ""},
		{"writes its workspace", `echo new > new.txt && mkdir -p d && echo more > d/f && cat new.txt d/f && rm hello.txt && ls`, "new\nmore\nbin\nd\nnew.txt\n", ""},
		{"no final newline", `echo a; printf b`, "a\nb", ""},
		{"stderr in order", `echo 1; echo 2 >&2; echo 3`, "1\n2\n3\n", ""},
		{"a marker of another nonce", `printf 'a\n::runplane-end 00112233445566778899aabb 0::\n'`, "a\n::runplane-end 00112233445566778899aabb 0::\n", ""},
		// The nonce is in PID 1's arguments: a job that looks can print the marker; read with more, it is output.
		{"its own marker, then more", `n=$(tr '\0' '\n' </proc/1/cmdline | tail -n 1); printf 'a\n::runplane-end %s 0::\nb\n' "$n"`, "a\n::runplane-end NONCE 0::\nb\n", "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, out := c.jobSpec(t, repo, tc.command)
			h, err := ex.Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, ex, h, 2*time.Minute)
			b, _ := os.ReadFile(out.Name())
			job, err := c.Client.BatchV1().Jobs(ns).Get(t.Context(), jobNameOf(h), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "NONCE", job.Annotations["runplane.dev/log-end"])
			if r.ExitCode != 0 || string(b) != want && (tc.cut == "" || string(b) != tc.cut) {
				t.Errorf("job %q: %+v, output %q; want exit 0, %q", tc.command, r, b, want)
			}
			if pod := job.Spec.Template.Spec; len(pod.InitContainers) != 0 || len(pod.Containers) != 1 {
				t.Errorf("pod of %d init and %d containers, want 0 and 1", len(pod.InitContainers), len(pod.Containers))
			}
			kubetest.WaitFor(t, 30*time.Second, "the Secret to be deleted", func() bool {
				_, err := c.Client.CoreV1().Secrets(ns).Get(t.Context(), jobNameOf(h), metav1.GetOptions{})
				return apierrors.IsNotFound(err)
			})
		})
	}
}

// TestOneContainerStop: stopping a one-container job passes SIGTERM to its command (a trap runs, its exit code
// counts), and one that ignores it is killed after the grace period, with its output so far and without waiting
// for an end marker that will never come.
func TestOneContainerStop(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	repo := c.repo(t, map[string]map[string]string{"main": {"a": "b"}})
	tests := []struct {
		name, command string
		grace         time.Duration
		wantExit      int
		wantReason    string
		wantOut       string
	}{
		{"trap", `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 1; done`, time.Minute, 7, "", "ready\ngot-term\n"},
		{"plain", `echo ready; sleep 1000`, time.Minute, 143, "signal: terminated", "ready\n"},
		{"ignored", `trap '' TERM; echo ready; while :; do sleep 1; done`, 2 * time.Second, 137, "signal: killed", "ready\n"},
		{"background", `sleep 1000 & sh -c 'sleep 1000' & echo ready; wait`, time.Minute, 143, "signal: terminated", "ready\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, out := c.jobSpec(t, repo, tc.command)
			h, err := ex.Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			kubetest.WaitFor(t, 2*time.Minute, "the job to start", func() bool {
				b, _ := os.ReadFile(out.Name())
				return strings.Contains(string(b), "ready")
			})
			start := time.Now()
			if err := ex.Stop(t.Context(), h, tc.grace); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, ex, h, time.Minute)
			took := time.Since(start)
			b, _ := os.ReadFile(out.Name())
			// The job's own sh may say that its child was killed, as it would anywhere.
			b = []byte(strings.ReplaceAll(string(b), "Terminated\n", ""))
			if r.ExitCode != tc.wantExit || r.Reason != tc.wantReason || string(b) != tc.wantOut {
				t.Errorf("stopped job %q: exit %d, reason %q, output %q; want %d, %q, %q", tc.command, r.ExitCode, r.Reason, b, tc.wantExit, tc.wantReason, tc.wantOut)
			}
			if took > 30*time.Second {
				t.Errorf("stopping took %v", took)
			}
		})
	}
}
