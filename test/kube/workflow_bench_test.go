package kube_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
)

// BenchmarkKubeWorkflow measures a 3-step serial workflow of trivial steps (start → run finished, a synchronous
// start) next to the same three steps as jobs submitted one after another by a client, each waited on
// synchronously, through the same server in the same run, interleaved so both see the same machine. The jobs are
// of a task shaped as the steps are (one container of the same image and command, no runner), so the difference
// is what the workflow adds: the run engine's hand-off from a step's end to the next step's submission, and the
// step's metadata API token (a Secret per attempt). handoff is the median time from a step's job ending to the
// next step's job being created. Three jobs of a command task (a runner and a command) are timed too, for what
// a step's pod costs over a command job's: its keep container (a containers: job keeps its output files).
//
//	KEEP=1 make test-kube; eval "$(hack/kube/cluster.sh env)"; go test -run '^$' -bench KubeWorkflow -benchtime 1x ./test/kube
func BenchmarkKubeWorkflow(b *testing.B) {
	if os.Getenv("RUNPLANE_KUBE_TEST") != "1" {
		b.Skip("needs a Kubernetes cluster: run make test-kube (hack/test-kube.sh)")
	}
	e := needCluster(b)
	ns := e.Namespace(b)
	s := e.workflowServer(b, ns, func(c *server.Config) { c.MaxConcurrentJobs = 64 })
	c := s.client(b)
	step := api.Container{Name: "step", Image: e.Busybox, Command: []string{"sh", "-c", "echo done"}}
	if _, err := c.CreateTask(b.Context(), api.Task{Name: "step", Containers: []api.Container{step}}); err != nil {
		b.Fatal(err)
	}
	// Informational: the same command as a command task's jobs (a runner, no containers: list), whose pods have
	// no keep container, so one container start fewer than a step's or a containers task's.
	url := gittest.ServeHTTPAt(b, e.HostIP, gittest.NewRepo(b, map[string]string{"README": "bench"}), "", "")
	if _, err := c.CreateRunner(b.Context(), api.Runner{Name: "r", Image: e.Busybox, GitURL: url}); err != nil {
		b.Fatal(err)
	}
	e.task(b, c, api.Task{Name: "command", Command: "echo done"})
	w := api.Workflow{Name: "serial", Steps: []api.Step{
		{Name: "one", Image: step.Image, Command: step.Command},
		{Name: "two", DependsOn: api.Strings{"one"}, Image: step.Image, Command: step.Command},
		{Name: "three", DependsOn: api.Strings{"two"}, Image: step.Image, Command: step.Command},
	}}
	if _, err := c.CreateWorkflow(b.Context(), w); err != nil {
		b.Fatal(err)
	}

	// handoffs: a step's job's end → the next step's job created; stepJobs, clientJobs: a job created → ended.
	var handoffs, stepJobs, clientJobs []time.Duration
	took := func(j api.Job) time.Duration {
		if j.CompletionTime == nil {
			b.Fatalf("job %s has no completion time", j.ID)
		}
		return j.CompletionTime.Sub(j.CreateTime)
	}
	viaWorkflow := func() time.Duration {
		start := time.Now()
		run, finished, err := c.StartRun(b.Context(), "serial", nil, client.SubmitOptions{Wait: wait(5 * time.Minute)})
		if err != nil || !finished || run.Status != api.RunSucceeded {
			b.Fatalf("run: %v, finished %v, %s %q", err, finished, run.Status, run.Reason)
		}
		d := time.Since(start)
		var prev *api.Job
		for _, st := range run.Steps {
			j, err := c.GetJob(b.Context(), st.Job)
			if err != nil {
				b.Fatal(err)
			}
			stepJobs = append(stepJobs, took(j))
			if prev != nil {
				handoffs = append(handoffs, j.CreateTime.Sub(*prev.CompletionTime))
			}
			prev = &j
		}
		return d
	}
	viaClient := func(task string) time.Duration {
		start := time.Now()
		for range 3 {
			j, finished, err := c.Submit(b.Context(), task, nil, client.SubmitOptions{Wait: wait(5 * time.Minute)})
			if err != nil || !finished || j.Status != api.JobSucceeded {
				b.Fatalf("job: %v, finished %v, %s %q", err, finished, j.Status, j.Reason)
			}
			if task == "step" {
				clientJobs = append(clientJobs, took(j))
			}
		}
		return time.Since(start)
	}

	// Warm both paths (the first pods after bring-up are slow).
	viaWorkflow()
	viaClient("step")
	viaClient("command")
	handoffs, stepJobs, clientJobs = nil, nil, nil
	const rounds = 7
	var wf, cl, cmd []time.Duration
	var paired []float64 // each round's workflow over its client loop: the machine's load drifts between rounds
	for i := range rounds {
		// Alternate which goes first, so that neither always follows the other's pods' clean-up.
		if i%2 == 0 {
			wf = append(wf, viaWorkflow())
			cl = append(cl, viaClient("step"))
		} else {
			cl = append(cl, viaClient("step"))
			wf = append(wf, viaWorkflow())
		}
		cmd = append(cmd, viaClient("command"))
		paired = append(paired, float64(wf[i])/float64(cl[i]))
	}
	med := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	medf := func(d []float64) float64 { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(wf).Seconds(), "workflow-s")
	b.ReportMetric(med(cl).Seconds(), "client-3-jobs-s")
	b.ReportMetric(float64(med(wf))/float64(med(cl)), "ratio")
	b.ReportMetric(medf(paired), "paired-ratio")
	b.ReportMetric(med(cmd).Seconds(), "client-3-command-jobs-s")
	b.ReportMetric(float64(med(handoffs).Microseconds())/1000, "handoff-ms")
	b.ReportMetric(med(stepJobs).Seconds(), "step-job-s")
	b.ReportMetric(med(clientJobs).Seconds(), "client-job-s")
	b.Logf("3-step serial workflow vs 3 sync jobs one after another, median of %d: workflow %v, client %v (ratio %.2f, paired %.2f); step hand-off median %v",
		rounds, med(wf).Round(time.Millisecond), med(cl).Round(time.Millisecond), float64(med(wf))/float64(med(cl)), medf(paired), med(handoffs).Round(time.Millisecond))
	b.Logf("job created → ended, median: step %v, client's %v; 3 command jobs (no keep container) %v", med(stepJobs).Round(time.Millisecond),
		med(clientJobs).Round(time.Millisecond), med(cmd).Round(time.Millisecond))
	b.Logf("all: workflow %v; client %v; hand-offs %v", wf, cl, handoffs)
}
