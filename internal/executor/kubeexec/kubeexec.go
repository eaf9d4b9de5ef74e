package kubeexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/runplane/runplane/internal/executor"
)

// Executor runs job attempts as Kubernetes Jobs. It is safe for concurrent use; Run must be running for Start,
// Wait and Recover to make progress.
type Executor struct {
	opts   Options
	log    *slog.Logger
	client *Client
	ns     string

	podInf, jobInf cache.SharedIndexInformer
	pods           corelisters.PodLister
	jobs           batchlisters.JobLister
	synced         chan struct{}

	noArchive sync.Once // logs once that this server has no git to make archives with

	mu       sync.Mutex
	attempts map[string]*attempt // by Job name
}

var (
	_ executor.Executor       = (*Executor)(nil)
	_ executor.OutputReplayer = (*Executor)(nil)
	_ executor.Durable        = (*Executor)(nil)
	_ executor.Finder         = (*Executor)(nil)
)

// New returns an Executor; nothing talks to the cluster until Run.
func New(opts Options) (*Executor, error) {
	if opts.Client == nil {
		return nil, errors.New("kubeexec: no Kubernetes client")
	}
	if opts.JobImage == "" {
		return nil, errors.New("kubeexec: no job image (runplane's own image, for the checkout init container)")
	}
	if opts.Heads == nil {
		return nil, errors.New("kubeexec: no Heads to check branches with")
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.JobImagePullPolicy == "" {
		opts.JobImagePullPolicy = corev1.PullIfNotPresent
	}
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 5 * time.Minute
	}
	if opts.MaxKeep <= 0 {
		opts.MaxKeep = 64 << 20
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Executor{
		opts: opts, log: log, client: opts.Client, ns: opts.Namespace,
		synced: make(chan struct{}), attempts: map[string]*attempt{},
	}
	e.podInf = newInformer(e.client, e.client.Pods(e.ns))
	e.jobInf = newInformer(e.client, e.client.Jobs(e.ns))
	e.pods = corelisters.NewPodLister(e.podInf.GetIndexer())
	e.jobs = batchlisters.NewJobLister(e.jobInf.GetIndexer())
	if _, err := e.podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.podChanged(obj) },
		UpdateFunc: func(_, obj any) { e.podChanged(obj) },
		DeleteFunc: func(obj any) { e.podDeleted(obj) },
	}); err != nil {
		return nil, fmt.Errorf("kubeexec: %w", err)
	}
	if _, err := e.jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.jobChanged(obj) },
		UpdateFunc: func(_, obj any) { e.jobChanged(obj) },
		DeleteFunc: func(obj any) { e.jobDeleted(obj) },
	}); err != nil {
		return nil, fmt.Errorf("kubeexec: %w", err)
	}
	return e, nil
}

// Namespace is where this executor's Jobs run.
func (e *Executor) Namespace() string { return e.ns }

// Run watches the executor's Jobs and Pods until ctx ends. It returns an error if the watches cannot start.
func (e *Executor) Run(ctx context.Context) error {
	var informers sync.WaitGroup
	defer informers.Wait()
	informers.Go(func() { e.podInf.RunWithContext(ctx) })
	informers.Go(func() { e.jobInf.RunWithContext(ctx) })
	cache.WaitFor(ctx, "", e.podInf.HasSyncedChecker(), e.jobInf.HasSyncedChecker())
	for _, w := range []struct {
		what string
		inf  cache.SharedIndexInformer
	}{{"Pods", e.podInf}, {"Jobs", e.jobInf}} {
		if !w.inf.HasSynced() {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kubeexec: watch %s in namespace %s: not synced", w.what, e.ns)
		}
	}
	close(e.synced)
	e.log.Info("watching Kubernetes jobs", "namespace", e.ns)
	<-ctx.Done()
	// The Jobs run on without this process: stop watching them (a next one re-adopts them with Recover).
	e.mu.Lock()
	for _, a := range e.attempts {
		a.mu.Lock()
		a.stopTimer()
		if a.cancelLogs != nil {
			a.cancelLogs()
		}
		a.mu.Unlock()
	}
	e.mu.Unlock()
	return nil
}

func (e *Executor) waitSynced(ctx context.Context) error {
	select {
	case <-e.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kubeexec: not watching the cluster yet: %w", context.Cause(ctx))
	}
}

// Start creates the attempt's Secret and Job and returns at once.
func (e *Executor) Start(ctx context.Context, spec executor.Spec) (executor.Handle, error) {
	if spec.Image == "" && len(spec.Containers) == 0 {
		return "", errors.New("the runner has no image: the Kubernetes executor runs jobs in the runner's image")
	}
	name := jobName(spec.JobID)
	secret, job, err := e.objects(name, spec, nil) // checks the spec before anything is done
	if err != nil {
		return "", err
	}
	if e.opts.Images != nil {
		// The job's own containers; the checkout and keep containers run runplane's image, which is no runner's.
		steps, _ := stepsOf(spec) // objects built them already
		for _, s := range steps {
			if err := e.opts.Images.Check(s.Image); err != nil {
				return "", err
			}
		}
	}
	if err := e.waitSynced(ctx); err != nil {
		return "", err
	}
	fast, err := e.fastPath(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	if fast != nil {
		if secret, job, err = e.objects(name, spec, fast); err != nil {
			return "", err
		}
	} else if spec.Repo.URL != "" {
		if _, err := e.opts.Heads.Head(ctx, spec.Repo); err != nil {
			return "", fmt.Errorf("checkout: %w", err)
		}
	}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	a := e.track(name, out, job.Annotations)
	a.secret = secret != nil
	if job.Annotations[annKeep] != "" {
		a.mu.Lock()
		a.keep, a.warnings = spec.Keep, nil
		a.mu.Unlock()
	}
	if err := e.create(ctx, secret, job); err != nil {
		e.forget(name)
		return "", err
	}
	a.armStartTimer(e.opts.StartTimeout, func() { e.startTimedOut(a) })
	return handleFor(e.ns, name), nil
}

// create makes the Secret, then the Job, then gives the Secret to the Job so they are deleted together.
func (e *Executor) create(ctx context.Context, secret *corev1.Secret, job *batchv1.Job) error {
	if secret != nil {
		if _, err := e.client.Secrets(e.ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create Kubernetes Secret %s/%s: %w", e.ns, secret.Name, err)
		}
	}
	created, err := e.client.Jobs(e.ns).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		if secret != nil {
			e.deleteSecret(secret.Name)
		}
		return fmt.Errorf("create Kubernetes Job %s/%s: %w", e.ns, job.Name, err)
	}
	if secret != nil {
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":false}]}}`,
			created.Name, created.UID)
		if _, err := e.client.Secrets(e.ns).Patch(ctx, secret.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			// The job runs either way; the Secret is deleted when the attempt ends (finish) instead of by the GC.
			e.log.Warn("give Secret to its Job", "secret", secret.Name, "err", err)
		}
	}
	return nil
}

func (e *Executor) deleteSecret(name string) {
	err := e.client.Secrets(e.ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		e.log.Warn("delete Secret", "secret", name, "err", err)
	}
}

// Wait blocks until the attempt ended and its log is all in its Output.
func (e *Executor) Wait(ctx context.Context, h executor.Handle) (executor.Result, error) {
	a := e.lookup(h)
	if a == nil {
		return executor.Result{}, executor.ErrNotFound
	}
	select {
	case <-a.done:
		return a.result(), nil
	case <-ctx.Done():
		return executor.Result{}, context.Cause(ctx)
	}
}

// Stop deletes the attempt's pod with grace (the kubelet sends SIGTERM, which runplane-pid1 passes to the
// whole process tree, then SIGKILL after grace) and its Job.
func (e *Executor) Stop(ctx context.Context, h executor.Handle, grace time.Duration) error {
	ns, name, ok := parseHandle(h)
	if !ok || ns != e.ns {
		return nil
	}
	pod := ""
	if a := e.get(name); a != nil {
		a.mu.Lock()
		finished := a.final
		a.stopping = true
		pod = a.pod
		a.mu.Unlock()
		if finished {
			return nil
		}
	} else if _, err := e.jobs.Jobs(e.ns).Get(name); apierrors.IsNotFound(err) {
		return nil
	}
	e.log.Debug("stop", "job", name, "pod", pod, "grace", grace)
	if pod != "" {
		err := e.client.Pods(e.ns).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(seconds(grace))})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("stop: delete pod %s/%s: %w", e.ns, pod, err)
		}
	}
	err := e.client.Jobs(e.ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stop: delete Job %s/%s: %w", e.ns, name, err)
	}
	return nil
}

// Recover re-adopts a Job started by an earlier process by its name. Its whole log is written to output again
// (ReplaysOutput).
func (e *Executor) Recover(ctx context.Context, h executor.Handle, output io.Writer) error {
	ns, name, ok := parseHandle(h)
	if !ok || ns != e.ns {
		return executor.ErrNotFound
	}
	if err := e.waitSynced(ctx); err != nil {
		return err
	}
	job, err := e.jobs.Jobs(e.ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The cache may not have seen a Job created a moment ago by another replica.
		job, err = e.client.Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return executor.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("recover %s: %w", h, err)
	}
	if output == nil {
		output = io.Discard
	}
	a := e.track(name, output, job.Annotations)
	a.armStartTimer(time.Until(job.CreationTimestamp.Add(e.opts.StartTimeout)), func() { e.startTimedOut(a) })
	pods, _ := e.pods.Pods(e.ns).List(labels.SelectorFromSet(labels.Set{labelAttempt: name}))
	for _, p := range pods {
		e.observePod(a, p)
	}
	if len(pods) == 0 {
		e.observeJob(a, job)
	}
	return nil
}

// Find returns the handle of job id's newest attempt, by the runplane.dev/job label (and the exact id in its
// annotation); ErrNotFound if it has none.
func (e *Executor) Find(ctx context.Context, id string) (executor.Handle, error) {
	if err := e.waitSynced(ctx); err != nil {
		return "", err
	}
	jobs, err := e.jobs.Jobs(e.ns).List(labels.SelectorFromSet(labels.Set{labelJob: labelValue(id)}))
	if err != nil {
		return "", fmt.Errorf("find attempts of %s: %w", id, err)
	}
	var newest *batchv1.Job
	for _, j := range jobs {
		if j.Annotations[annJob] == id && (newest == nil || newest.CreationTimestamp.Before(&j.CreationTimestamp)) {
			newest = j
		}
	}
	if newest == nil {
		return "", executor.ErrNotFound
	}
	return handleFor(e.ns, newest.Name), nil
}

// ReplaysOutput: Recover writes the attempt's output from its beginning (the pod's whole log).
func (e *Executor) ReplaysOutput() bool { return true }

func (e *Executor) lookup(h executor.Handle) *attempt {
	ns, name, ok := parseHandle(h)
	if !ok || ns != e.ns {
		return nil
	}
	return e.get(name)
}

func (e *Executor) get(name string) *attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.attempts[name]
}

// keepFinished is how long a finished attempt's result stays available to Wait.
const keepFinished = 10 * time.Minute

// track starts following attempt name, whose Job has annotations ann (its steps, what it must warn about).
func (e *Executor) track(name string, out io.Writer, ann map[string]string) *attempt {
	a := newAttempt(name, out, stepsFromAnnotations(ann))
	a.nonce = ann[annLogEnd]
	if a.multi && ann[annKeep] != "" {
		a.steps = append(a.steps, step{Container: containerKeep, keep: true, index: len(a.steps)})
		a.st = append(a.st, newStepState())
		// Recover: this server does not know where the files go (Start sets it).
		a.warnings = []string{warnNotKept + "the server that started the job stopped before it ended"}
	}
	a.onFinal = func() {
		time.AfterFunc(keepFinished, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.attempts[name] == a {
				delete(e.attempts, name)
			}
		})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts[name] = a
	return a
}

func (e *Executor) forget(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.attempts[name]; a != nil {
		a.stopTimer()
		a.closeOut()
		delete(e.attempts, name)
	}
}

// Durable: Jobs run on without the server that started them; the next one re-adopts them (Recover).
func (e *Executor) Durable() bool { return true }
