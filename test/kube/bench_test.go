package kube_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
)

// BenchmarkKubeJob measures submit → finished of a trivial job through runplane (a synchronous submission; the
// server watches the pod) next to a bare `kubectl apply` of a Job running the same command in the same image,
// waited on with `kubectl wait --for=condition=complete`, in the same run: single jobs one after the other
// (interleaved, so both see the same machine) and bursts of 30 at once.
//
// Two servers in turn: one with git on PATH, and one without (as the chart's, whose image has no git: it makes
// the job's tree with its built-in git reader).
//
//	RUNPLANE_KUBE_BENCH=1 make test-kube   (or, with a cluster up: go test -run '^$' -bench KubeJob -benchtime 1x ./test/kube)
//	go test -run '^$' -bench KubeJob/without-git -benchtime 1x ./test/kube
func BenchmarkKubeJob(b *testing.B) {
	if os.Getenv("RUNPLANE_KUBE_TEST") != "1" {
		b.Skip("needs a Kubernetes cluster: run make test-kube (hack/test-kube.sh)")
	}
	b.Run("git", func(b *testing.B) { benchKubeJob(b, false) })
	b.Run("without-git", func(b *testing.B) { benchKubeJob(b, true) })
}

func benchKubeJob(b *testing.B, noGit bool) {
	kubectl := os.Getenv("RUNPLANE_KUBECTL")
	if kubectl == "" {
		b.Fatal("RUNPLANE_KUBECTL is not set")
	}
	e := needCluster(b)
	ns := e.Namespace(b)
	// Like the bare Job: a public repository, no secrets (a job with secrets costs a Secret more).
	url := gittest.ServeHTTPAt(b, e.HostIP, gittest.NewRepo(b, map[string]string{"README": "bench"}), "", "")
	if noGit {
		b.Setenv("PATH", b.TempDir()) // the repository's server found its git already
	}
	s := e.newServer(b, ns, func(c *server.Config) { c.MaxConcurrentJobs = 64 })
	c := s.client(b)
	if _, err := c.CreateRunner(b.Context(), api.Runner{Name: "r", Image: e.Busybox, GitURL: url}); err != nil {
		b.Fatal(err)
	}
	e.task(b, c, api.Task{Name: "trivial", Command: "echo done", Synchronous: true, SyncTimeout: api.Duration(5 * time.Minute)})

	viaRunplane := func() time.Duration {
		start := time.Now()
		j, finished, err := c.Submit(b.Context(), "trivial", nil, client.SubmitOptions{})
		if err != nil || !finished || j.Status != api.JobSucceeded {
			b.Fatalf("runplane job: %v, finished %v, %s %q", err, finished, j.Status, j.Reason)
		}
		return time.Since(start)
	}
	n := 0
	bare := func(count int) time.Duration {
		var yaml strings.Builder
		var names []string
		for range count {
			n++
			name := fmt.Sprintf("bare-%d", n)
			names = append(names, "job/"+name)
			fmt.Fprintf(&yaml, bareJob, name, ns, e.Busybox)
		}
		start := time.Now()
		apply := exec.Command(kubectl, "apply", "-f", "-")
		apply.Stdin = strings.NewReader(yaml.String())
		if out, err := apply.CombinedOutput(); err != nil {
			b.Fatalf("kubectl apply: %v: %s", err, out)
		}
		args := append([]string{"-n", ns, "wait", "--for=condition=complete", "--timeout=5m"}, names...)
		if out, err := exec.Command(kubectl, args...).CombinedOutput(); err != nil {
			b.Fatalf("kubectl wait: %v: %s", err, out)
		}
		return time.Since(start)
	}
	burst := func(count int) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range count {
			wg.Go(func() { viaRunplane() })
		}
		wg.Wait()
		return time.Since(start)
	}

	// Warm both paths (images, the first Job after bring-up is slow).
	viaRunplane()
	bare(1)
	const singles = 10
	var rp, kc []time.Duration
	for range singles {
		rp = append(rp, viaRunplane())
		kc = append(kc, bare(1))
	}
	rpBurst, kcBurst := burst(30), bare(30)
	med := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(rp).Seconds(), "runplane-single-s")
	b.ReportMetric(med(kc).Seconds(), "kubectl-single-s")
	b.ReportMetric(float64(med(rp))/float64(med(kc)), "single-ratio")
	b.ReportMetric(rpBurst.Seconds(), "runplane-burst30-s")
	b.ReportMetric(kcBurst.Seconds(), "kubectl-burst30-s")
	b.ReportMetric(float64(rpBurst)/float64(kcBurst), "burst-ratio")
	b.Logf("single job, median of %d: runplane %v, kubectl apply+wait %v; burst of 30: runplane %v, kubectl %v",
		singles, med(rp).Round(time.Millisecond), med(kc).Round(time.Millisecond), rpBurst.Round(time.Millisecond), kcBurst.Round(time.Millisecond))
	b.Logf("all singles: runplane %v; kubectl %v", rp, kc)
}

// bareJob is the Job a user would write by hand for the same command: no checkout, no init container.
const bareJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  namespace: %s
spec:
  backoffLimit: 0
  ttlSecondsAfterFinished: 300
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 10
      containers:
      - name: job
        image: %s
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo done"]
---
`
