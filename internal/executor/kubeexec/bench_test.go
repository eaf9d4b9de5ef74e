package kubeexec_test

import (
	"slices"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// BenchmarkKubeContainers measures Start → Wait of a trivial job through the executor: a command job, a job of
// one container and one of three containers (issue 13, 9 (c): three containers in one pod should cost about one
// pod start, ≤ 1.3× one container), interleaved so that all see the same machine.
//
//	eval "$(hack/kube/cluster.sh env)"; go test -run '^$' -bench KubeContainers -benchtime 1x ./internal/executor/kubeexec
func BenchmarkKubeContainers(b *testing.B) {
	c := cluster{needBench(b)}
	ns := c.Namespace(b)
	ex := c.newExecutor(b, ns, nil)
	repo := c.repoTB(b, map[string]string{"README": "bench"})
	run := func(containers ...api.Container) time.Duration {
		spec := executor.Spec{JobID: "bench", Task: "bench", Runner: "r", Owner: "o", Image: c.Busybox, Repo: repo,
			Command: "echo done", Containers: containers, Timeout: 5 * time.Minute}
		if containers != nil {
			spec.Command = ""
		}
		start := time.Now()
		h, err := ex.Start(b.Context(), spec)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ex.Wait(b.Context(), h)
		if err != nil || r.ExitCode != 0 {
			b.Fatalf("job: %v, %+v", err, r)
		}
		return time.Since(start)
	}
	one := []api.Container{sh("a", "echo done")}
	three := []api.Container{sh("a", "echo a > $RUNPLANE_OUTPUT_DIR/a"), sh("b", "cat $RUNPLANE_OUTPUT_DIR/a"), sh("c", "echo done")}
	run()
	run(three...)
	const n = 10
	var cmd, c1, c3 []time.Duration
	for range n {
		cmd = append(cmd, run())
		c1 = append(c1, run(one...))
		c3 = append(c3, run(three...))
	}
	med := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(cmd).Seconds(), "command-s")
	b.ReportMetric(med(c1).Seconds(), "1-container-s")
	b.ReportMetric(med(c3).Seconds(), "3-container-s")
	b.ReportMetric(float64(med(c3))/float64(med(c1)), "3-vs-1-ratio")
	b.Logf("median of %d: command job %v, 1 container %v, 3 containers %v", n,
		med(cmd).Round(time.Millisecond), med(c1).Round(time.Millisecond), med(c3).Round(time.Millisecond))
	b.Logf("all: command %v; 1 container %v; 3 containers %v", cmd, c1, c3)
}

func needBench(b *testing.B) *kubetest.Cluster { return kubetest.Need(b) }

// repoTB publishes one branch, main, with files, where pods can fetch it.
func (c cluster) repoTB(tb testing.TB, files map[string]string) executor.Repo {
	tb.Helper()
	return executor.Repo{URL: gittest.ServeHTTPAt(tb, c.HostIP, gittest.NewRepo(tb, files), "", "")}
}

// BenchmarkKubeStepToken measures Start → Wait of the job of a workflow step (one container, no checkout)
// without and with its metadata API token, which travels in a Secret of the attempt, interleaved: what the
// token costs each step of a run on Kubernetes (issue 13, 9 (c)).
//
//	eval "$(hack/kube/cluster.sh env)"; go test -run '^$' -bench KubeStepToken -benchtime 1x ./internal/executor/kubeexec
func BenchmarkKubeStepToken(b *testing.B) {
	c := cluster{needBench(b)}
	ns := c.Namespace(b)
	ex := c.newExecutor(b, ns, nil)
	run := func(secrets map[string]string) time.Duration {
		spec := executor.Spec{JobID: "bench", Task: "bench", Owner: "o", Containers: []api.Container{{Name: "step", Image: c.Busybox,
			Command: []string{"sh", "-c", "echo done"}}}, Secrets: secrets, Timeout: 5 * time.Minute}
		start := time.Now()
		h, err := ex.Start(b.Context(), spec)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ex.Wait(b.Context(), h)
		if err != nil || r.ExitCode != 0 {
			b.Fatalf("job: %v, %+v", err, r)
		}
		return time.Since(start)
	}
	token := map[string]string{api.EnvStepToken: "eyJ.bench.token"}
	run(nil)
	run(token)
	const n = 10
	var without, with []time.Duration
	for range n {
		without = append(without, run(nil))
		with = append(with, run(token))
	}
	med := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(without).Seconds(), "no-token-s")
	b.ReportMetric(med(with).Seconds(), "token-s")
	b.ReportMetric(float64(med(with))/float64(med(without)), "ratio")
	b.Logf("median of %d: without a token %v, with %v", n, med(without).Round(time.Millisecond), med(with).Round(time.Millisecond))
	b.Logf("all: without %v; with %v", without, with)
}
