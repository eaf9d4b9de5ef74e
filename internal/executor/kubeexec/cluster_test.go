package kubeexec_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
)

// Kubernetes-specific behaviour, beyond the conformance suite.

// jobSpec is a spec for command in the busybox image against a one-file repository.
func (c cluster) jobSpec(t *testing.T, repo executor.Repo, command string) (executor.Spec, *os.File) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	return executor.Spec{
		JobID: "kube-test", Task: "kube", Runner: "r", Owner: "tester", Image: c.Busybox,
		Repo: repo, Command: command, Output: out, Timeout: 2 * time.Minute,
	}, out
}

func waitResult(t *testing.T, ex executor.Executor, h executor.Handle, within time.Duration) executor.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	r, err := ex.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait(%s): %v", h, err)
	}
	return r
}

func jobNameOf(h executor.Handle) string {
	_, name, _ := strings.Cut(string(h), "/")
	return name
}

// TestUnstartableImage: a job whose image cannot be pulled fails with the kubelet's reason, and its Job is deleted.
func TestUnstartableImage(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	spec, _ := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "true")
	spec.Image = "localhost:1/runplane-test/no-such-image:1"
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, ex, h, 2*time.Minute)
	if r.ExitCode == 0 || !strings.Contains(r.Reason, "no-such-image") || !strings.Contains(r.Reason, "ImagePull") {
		t.Errorf("job with an image that cannot be pulled: %+v; want a failure naming the image and ImagePullBackOff", r)
	}
	kubetest.WaitFor(t, time.Minute, "its Job to be deleted", func() bool {
		_, err := c.Client.BatchV1().Jobs(ns).Get(context.Background(), jobNameOf(h), metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// TestUnschedulable: a job whose pod cannot be scheduled fails after StartTimeout with the scheduler's reason.
func TestUnschedulable(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, func(o *kubeexec.Options) { o.StartTimeout = 3 * time.Second })
	spec, _ := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "true")
	spec.Kubernetes = &api.TaskKubernetes{NodeSelector: map[string]string{"runplane.dev/no-such-node": "x"}}
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, ex, h, time.Minute)
	if r.ExitCode == 0 || !strings.Contains(r.Reason, "did not start within 3s") || !strings.Contains(r.Reason, "Unschedulable") {
		t.Errorf("unschedulable job: %+v; want a failure after 3s naming Unschedulable", r)
	}
	kubetest.WaitFor(t, time.Minute, "its Job to be deleted", func() bool {
		_, err := c.Client.BatchV1().Jobs(ns).Get(context.Background(), jobNameOf(h), metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// TestBadConfig: a job whose pod the API refuses to create (here: a service account that does not exist) fails
// after StartTimeout with the Job controller's reason, and its Job is deleted.
func TestBadConfig(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, func(o *kubeexec.Options) { o.StartTimeout = 5 * time.Second })
	spec, _ := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "true")
	spec.Kubernetes = &api.TaskKubernetes{ServiceAccount: "no-such-account"}
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, ex, h, time.Minute)
	if r.ExitCode == 0 || !strings.Contains(r.Reason, "did not start within 5s") || !strings.Contains(r.Reason, "FailedCreate") ||
		!strings.Contains(r.Reason, `serviceaccount "no-such-account" not found`) {
		t.Errorf("job with a service account that does not exist: %+v; want a failure after 5s with the Job controller's reason", r)
	}
	kubetest.WaitFor(t, time.Minute, "its Job to be deleted", func() bool {
		_, err := c.Client.BatchV1().Jobs(ns).Get(context.Background(), jobNameOf(h), metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// TestRecover: a job keeps running while no executor watches it; a new executor re-adopts it by its handle and
// gets its result and its whole log.
func TestRecover(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	repo := c.repo(t, map[string]map[string]string{"main": {"a": "b"}})
	first, stopFirst := context.WithCancel(context.Background())
	ex1 := c.newExecutorCtx(t, first, ns)
	spec, out := c.jobSpec(t, repo, `echo before; while [ ! -e /tmp/go ]; do sleep 0.2; done; echo after; exit 4`)
	h, err := ex1.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, time.Minute, "the job to start", func() bool {
		b, _ := os.ReadFile(out.Name())
		return strings.Contains(string(b), "before")
	})
	stopFirst() // the first server is gone; its job runs on

	ex2 := c.newExecutor(t, ns, nil)
	// A server that stopped before recording the handle: the job is found by its id.
	if found, err := ex2.Find(t.Context(), spec.JobID); err != nil || found != h {
		t.Errorf("Find(%s) = %q, %v; want %q", spec.JobID, found, err, h)
	}
	if _, err := ex2.Find(t.Context(), "no-such-job"); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Find of a job without attempts = %v, want ErrNotFound", err)
	}
	if err := ex2.Recover(t.Context(), executor.Handle("kube:"+ns+"/rp-no-such-job-xxxxx"), nil); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Recover of a Job that does not exist = %v, want ErrNotFound", err)
	}
	var replay executortest.LockedBuffer
	if err := ex2.Recover(t.Context(), h, &replay); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	c.exec(t, ns, jobNameOf(h), "touch /tmp/go")
	r := waitResult(t, ex2, h, time.Minute)
	if r.ExitCode != 4 || replay.String() != "before\nafter\n" {
		t.Errorf("re-adopted job: exit %d, log %q; want 4, %q", r.ExitCode, replay.String(), "before\nafter\n")
	}
}

// TestStartChecksImages: the executor refuses an image its allowlist does not allow, before creating anything.
func TestStartChecksImages(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, func(o *kubeexec.Options) { o.Images = onlyImage(c.Busybox) })
	spec, _ := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "true")
	spec.Image = "evil.example/miner:1"
	if _, err := ex.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "evil.example/miner:1") {
		t.Errorf("Start with an image outside the allowlist = %v, want an error naming it", err)
	}
	jobs, err := c.Client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 0 {
		t.Errorf("Jobs after a refused start: %d (%v), want none", len(jobs.Items), err)
	}
}

// TestSecretBelongsToJob: the attempt's Secret is owned by its Job (deleted with it if all else fails), and is
// deleted as soon as the job's container started.
func TestSecretBelongsToJob(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	spec, _ := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "true")
	spec.Secrets = map[string]string{"K": "v"}
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Client.CoreV1().Secrets(ns).Get(t.Context(), jobNameOf(h), metav1.GetOptions{})
	if err == nil && (len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Job" || s.OwnerReferences[0].Name != jobNameOf(h)) {
		t.Errorf("the attempt's Secret is owned by %+v, want its Job", s.OwnerReferences)
	}
	if r := waitResult(t, ex, h, 2*time.Minute); r.ExitCode != 0 {
		t.Fatalf("job: %+v", r)
	}
	kubetest.WaitFor(t, 30*time.Second, "the Secret to be deleted", func() bool {
		_, err := c.Client.CoreV1().Secrets(ns).Get(t.Context(), jobNameOf(h), metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := c.Client.BatchV1().Jobs(ns).Get(t.Context(), jobNameOf(h), metav1.GetOptions{}); err != nil {
		t.Errorf("the Job is gone (%v); want it kept for its TTL", err)
	}
}

// TestStartFailsWhenJobCannotBeCreated: an error from the API (here: no such namespace) fails Start with a message
// naming what could not be created, and leaves nothing behind.
func TestStartFailsWhenJobCannotBeCreated(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ex := c.newExecutor(t, "rp-test-no-such-namespace", nil)
	spec, _ := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "true")
	spec.Secrets = map[string]string{"K": "secret-value-never-shown"}
	h, err := ex.Start(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "rp-test-no-such-namespace") || strings.Contains(err.Error(), "secret-value-never-shown") {
		t.Fatalf("Start in a namespace that does not exist = %q, %v; want an error naming it, without the secret", h, err)
	}
}

// TestWholeLogOfShortJobs: jobs that write a lot and end at once keep every byte. The kubelet ends a log stream
// as soon as it sees the container gone, which can be before the runtime has written the end of the log file;
// the executor reads on until it has the length `runplane pod run` reported.
func TestWholeLogOfShortJobs(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	ex := c.newExecutor(t, ns, nil)
	repo := c.repo(t, map[string]map[string]string{"main": {"a": "b"}})
	var want strings.Builder
	for i := 1; i <= 30000; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	want.WriteString("end without newline")
	const jobs = 4
	results := make(chan error, jobs)
	for i := range jobs {
		go func() {
			spec, _ := c.jobSpec(t, repo, `seq 1 30000; printf 'end without newline'`)
			spec.JobID = fmt.Sprintf("whole-log-%d", i)
			var buf executortest.LockedBuffer
			spec.Output = &buf
			h, err := ex.Start(t.Context(), spec)
			if err != nil {
				results <- err
				return
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			r, err := ex.Wait(ctx, h)
			switch got := buf.String(); {
			case err != nil:
				results <- err
			case r.ExitCode != 0 || got != want.String():
				results <- fmt.Errorf("job %d: exit %d, %d bytes ending %q; want 0, %d bytes", i, r.ExitCode, len(got), got[max(0, len(got)-30):], want.Len())
			default:
				results <- nil
			}
		}()
	}
	for range jobs {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
}

// requestLog records the requests a client sends to the API server.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "GET /api/v1/...?watch=true"
}

func (l *requestLog) RoundTrip(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

func (l *requestLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs[n:]...)
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWatchNeverPolls: the executor watches Jobs and pods (informers) and follows the log, and while a job runs it
// sends the API server nothing at all: it never polls.
func TestWatchNeverPolls(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	ns := c.Namespace(t)
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	var log requestLog
	rc.Wrap(log.RoundTrip)
	client, err := kubeexec.NewClient(rc)
	if err != nil {
		t.Fatal(err)
	}
	ex := c.newExecutor(t, ns, func(o *kubeexec.Options) { o.Client = client })
	spec, out := c.jobSpec(t, c.repo(t, map[string]map[string]string{"main": {"a": "b"}}), "echo started; sleep 6; echo done")
	h, err := ex.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, time.Minute, "the job to start", func() bool {
		b, _ := os.ReadFile(out.Name())
		return strings.Contains(string(b), "started")
	})
	time.Sleep(200 * time.Millisecond) // the log stream and the Secret's deletion, both at the container's start
	mark := log.len()
	time.Sleep(3 * time.Second)
	if reqs := log.since(mark); len(reqs) > 0 {
		t.Errorf("while the job ran, the executor sent %d requests: %q; want none", len(reqs), reqs)
	}
	if r := waitResult(t, ex, h, time.Minute); r.ExitCode != 0 {
		t.Fatalf("job: %+v", r)
	}
	// The end came from the container's state: the Job controller, which batches pod updates for a second, has
	// not marked the Job complete yet.
	job, err := c.Client.BatchV1().Jobs(ns).Get(t.Context(), jobNameOf(h), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cond := range job.Status.Conditions {
		if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
			t.Errorf("the Job was complete (at %v) when the executor reported the job's end; want its end known first", cond.LastTransitionTime)
		}
	}
	var watches []string
	for _, r := range log.since(0) {
		if strings.Contains(r, "watch=true") {
			watches = append(watches, r)
		}
	}
	for _, want := range []string{"/apis/batch/v1/namespaces/" + ns + "/jobs", "/api/v1/namespaces/" + ns + "/pods"} {
		if !slices.ContainsFunc(watches, func(r string) bool { return strings.Contains(r, want+"?") }) {
			t.Errorf("no watch of %s among %q", want, watches)
		}
	}
}
