package kubeexec

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// TestPodShape: which of a multi-container job's containers are init containers, and how the ones started
// together are ordered (markers) and ask for resources.
func TestPodShape(t *testing.T) {
	cmd := func(name string) api.Container {
		return api.Container{Name: name, Command: []string{"sh", "-c", "echo " + name}}
	}
	entry := func(name string) api.Container { return api.Container{Name: name, Image: "kratix/pipeline:1"} }
	pid := toolsDir + "/" + pid1.Name
	done := func(i string) string { return "--done=" + stepsDir + "/" + i + ".done" }
	after := func(i string) string { return "--after=" + stepsDir + "/" + i + ".done" }
	tests := []struct {
		name       string
		containers []api.Container
		keep       bool
		init       []string
		regular    []string
		// the flags of runplane-pid1 in each regular job container, in order
		flags     [][]string
		keepAfter string // RUNPLANE_KEEP_AFTER of the keep container
	}{
		{name: "one container", containers: []api.Container{cmd("a")},
			init: []string{"checkout"}, regular: []string{"a"}, flags: [][]string{{"--"}}},
		{name: "all with commands", containers: []api.Container{cmd("a"), cmd("b"), cmd("c")},
			init: []string{"checkout"}, regular: []string{"a", "b", "c"},
			flags: [][]string{{done("0"), "--"}, {done("1"), after("0"), "--"}, {done("2"), after("1"), "--"}}},
		{name: "entrypoint last", containers: []api.Container{cmd("a"), entry("b")},
			init: []string{"checkout", "a"}, regular: []string{"b"}},
		{name: "entrypoint in the middle", containers: []api.Container{cmd("a"), entry("b"), cmd("c"), cmd("d")},
			init: []string{"checkout", "a", "b"}, regular: []string{"c", "d"},
			flags: [][]string{{done("2"), "--"}, {done("3"), after("2"), "--"}}},
		{name: "keep", containers: []api.Container{cmd("a"), cmd("b")}, keep: true,
			init: []string{"checkout"}, regular: []string{"a", "b", "keep"},
			flags: [][]string{{done("0"), "--"}, {done("1"), after("0"), "--"}}, keepAfter: stepsDir + "/1.done"},
		{name: "keep after one", containers: []api.Container{cmd("a")}, keep: true,
			init: []string{"checkout"}, regular: []string{"a", "keep"}, flags: [][]string{{done("0"), "--"}}, keepAfter: stepsDir + "/0.done"},
		{name: "keep, entrypoint last", containers: []api.Container{cmd("a"), entry("b")}, keep: true,
			init: []string{"checkout", "a", "b"}, regular: []string{"keep"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			spec.Command, spec.Containers = "", tc.containers
			spec.Kubernetes = &api.TaskKubernetes{Resources: &api.ResourceRequirements{
				Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "64Mi"}}}
			if tc.keep {
				spec.Keep = t.TempDir()
			}
			_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template.Spec
			names := func(cs []corev1.Container) (n []string) {
				for _, c := range cs {
					n = append(n, c.Name)
				}
				return n
			}
			if !slices.Equal(names(pod.InitContainers), tc.init) || !slices.Equal(names(pod.Containers), tc.regular) {
				t.Fatalf("init %q, regular %q; want %q, %q", names(pod.InitContainers), names(pod.Containers), tc.init, tc.regular)
			}
			for _, c := range pod.InitContainers[1:] {
				if slices.ContainsFunc(c.Command, func(a string) bool { return strings.HasPrefix(a, "--after=") }) {
					t.Errorf("init container %s waits for a marker", c.Name)
				}
				if c.Resources.Requests.Cpu().String() != "100m" {
					t.Errorf("init container %s requests %v, want the declared requests", c.Name, c.Resources.Requests)
				}
			}
			stepsVolume := slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "steps" })
			if stepsVolume != (len(tc.flags) > 1 || tc.keepAfter != "") {
				t.Errorf("steps volume: %v", stepsVolume)
			}
			jobs := 0
			for _, c := range pod.Containers {
				if c.Name == containerKeep {
					var got string
					for _, e := range c.Env {
						if e.Name == inpod.EnvKeepAfter {
							got = e.Value
						}
					}
					if got != tc.keepAfter {
						t.Errorf("keep waits for %q, want %q", got, tc.keepAfter)
					}
					continue
				}
				if tc.flags == nil {
					continue // an entrypoint
				}
				want := append(append([]string{pid}, tc.flags[jobs]...), "sh", "-c", "echo "+c.Name)
				if !slices.Equal(c.Command, want) {
					t.Errorf("container %s: command %q, want %q", c.Name, c.Command, want)
				}
				// Their requests would add up: only the first asks; every one keeps its limits.
				wantCPU, wantMem := "0", "0"
				if jobs == 0 {
					wantCPU, wantMem = "100m", "<none>"
				}
				mem := "<none>"
				if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
					mem = q.String()
				}
				if c.Resources.Requests.Cpu().String() != wantCPU || mem != wantMem || c.Resources.Limits.Memory().String() != "64Mi" {
					t.Errorf("container %s: resources %+v; want requests cpu %s memory %s, limit memory 64Mi", c.Name, c.Resources, wantCPU, wantMem)
				}
				jobs++
			}
		})
	}
}

// TestAwaitCheckout runs a command job's container command with sh: the command runs only once the checkout is
// ready, as given (never spliced into the script), and not at all when the checkout failed.
func TestAwaitCheckout(t *testing.T) {
	tests := []struct {
		name     string
		marker   string
		command  string
		wantCode int
		wantOut  string
		wantLog  string
	}{
		{"ready", inpod.ReadyFile, `cat "$WS/file"; echo "$0" '$1'`, 0, "checked out\nsh $1\n", ""},
		{"exit code", inpod.ReadyFile, `exit 7; echo never`, 7, "", ""},
		{"quotes stay", inpod.ReadyFile, `echo "a'b" 'c"d' '$(id)'`, 0, "a'b c\"d $(id)\n", ""},
		{"failed", inpod.FailedFile, `echo ran`, 1, "", "not run: the checkout failed\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tools, ws := t.TempDir(), t.TempDir()
			tlog := filepath.Join(t.TempDir(), "termination-log")
			// runplane-pid1 as the checkout would copy it: here a script that runs what follows "--".
			if err := os.WriteFile(filepath.Join(tools, pid1.Name), []byte("#!/bin/sh\nshift\nexec \"$@\"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			script := strings.NewReplacer(toolsDir, tools, "/dev/termination-log", tlog).Replace(awaitCheckout)
			c := exec.Command("sh", "-c", script, "runplane", tc.command)
			c.Env = append(os.Environ(), "WS="+ws)
			var out strings.Builder
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			// The checkout's work, then its marker: a command that ran before would not find the file.
			if err := os.WriteFile(filepath.Join(ws, "file"), []byte("checked out\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tools, tc.marker), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_ = c.Wait()
			b, _ := os.ReadFile(tlog)
			if code := c.ProcessState.ExitCode(); code != tc.wantCode || out.String() != tc.wantOut || string(b) != tc.wantLog {
				t.Errorf("exit %d, output %q, termination log %q; want %d, %q, %q", code, out.String(), b, tc.wantCode, tc.wantOut, tc.wantLog)
			}
		})
	}
}

// TestContainerStatusesTogether: containers started together count as started when their command did (by
// runplane-pid1's report, or the end of the one before while it runs), and one that did not run has its name only.
func TestContainerStatusesTogether(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ran := func(code int32, from, to float64) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code,
			StartedAt: metav1.NewTime(t0), FinishedAt: metav1.NewTime(at(to + 1)),
			Message: pid1.Report{OutputBytes: 1, Started: at(from), Ended: at(to)}.String()}}
	}
	notRun := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, StartedAt: metav1.NewTime(t0),
		FinishedAt: metav1.NewTime(at(5)), Message: pid1.Report{NotRun: "an earlier container failed"}.String()}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at(0.5))}}
	type want struct {
		code       *int
		start, end float64
	}
	code := func(c int) *int { return &c }
	tests := []struct {
		name    string
		a, b, c corev1.ContainerState
		want    []want
	}{
		{"all ran", ran(0, 1, 2), ran(0, 2.5, 3), ran(0, 3.5, 4), []want{{code(0), 1, 2}, {code(0), 2.5, 3}, {code(0), 3.5, 4}}},
		{"the second failed", ran(0, 1, 2), ran(3, 2.5, 3), notRun, []want{{code(0), 1, 2}, {code(3), 2.5, 3}, {}}},
		{"the second runs", ran(0, 1, 2), running, running, []want{{code(0), 1, 2}, {nil, 2, 0}, {}}},
		{"the first runs", running, running, running, []want{{nil, 0.5, 0}, {}, {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps := []step{{Name: "a", Container: "a"}, {Name: "b", Container: "b"}, {Name: "c", Container: "c"}}
			pod := &corev1.Pod{
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b"}, {Name: "c"}}},
				Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{ // sorted by name, as the kubelet does
					{Name: "a", State: tc.a}, {Name: "b", State: tc.b}, {Name: "c", State: tc.c}}},
			}
			got := containerStatuses(pod, steps)
			for i, w := range tc.want {
				g := got[i]
				notStarted := w.code == nil && w.start == 0
				switch {
				case notStarted && (g.ExitCode != nil || g.StartTime != nil || g.CompletionTime != nil):
					t.Errorf("%s: %+v, want not started (name only)", g.Name, g)
				case notStarted:
				case (w.code == nil) != (g.ExitCode == nil) || w.code != nil && *w.code != *g.ExitCode:
					t.Errorf("%s: exit code %v, want %v", g.Name, g.ExitCode, w.code)
				case g.StartTime == nil || !g.StartTime.Equal(at(w.start)):
					t.Errorf("%s: start %v, want %v", g.Name, g.StartTime, at(w.start))
				case w.code != nil && (g.CompletionTime == nil || !g.CompletionTime.Equal(at(w.end))):
					t.Errorf("%s: end %v, want %v", g.Name, g.CompletionTime, at(w.end))
				}
			}
		})
	}
}
