package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/platform/statestore"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// Store is the slice of the store the controller needs.
type Store interface {
	store.Promises
	ListDestinations(ctx context.Context) ([]api.Destination, error)
	GetStateStore(ctx context.Context, name string) (api.StateStore, error)
	// GetRunner reads the runner whose secret a git state store's secretRef names.
	GetRunner(ctx context.Context, name string) (api.Runner, error)
	GetJob(ctx context.Context, id string) (store.Job, error)
}

// Runs starts pipeline runs and tells when they end; *runs.Engine implements it.
type Runs interface {
	Start(ctx context.Context, r runs.Request) (store.Run, bool, error)
	// Await returns the run once final, or as it is after max or when ctx ends.
	Await(ctx context.Context, id string, max time.Duration) (store.Run, error)
	Cancel(ctx context.Context, id, by string) (store.Run, error)
}

// Files reads what a pipeline's job kept of its output directory; *jobfiles.Store implements it.
type Files interface {
	List(id string) ([]jobfiles.File, error)
	OpenFile(id, p string) (*os.File, fs.FileInfo, error)
}

// Writers opens a state store's writer; *statestore.Writers implements it.
type Writers interface {
	For(s api.StateStore) (statestore.Writer, error)
}

// Defaults for Options.
const (
	DefaultReconcileInterval = 10 * time.Hour
	DefaultResync            = 10 * time.Minute
	DefaultWorkers           = 4
	// Owner is the user pipeline runs are started as (runs.Request.Owner and OwnerID).
	Owner = "kratix"
	// PausedLabel stops every workflow of the request (or promise) that carries it with value "true", as Kratix's.
	PausedLabel = "kratix.io/paused"
)

// Options tune a Controller. The zero value works, except that Writers is needed for pipelines with output.
type Options struct {
	// ReconcileInterval is how long after its configure workflow completed a request's (or promise's) runs again,
	// unless its promise's spec.workflows.config.reconciliationInterval says otherwise; 0: DefaultReconcileInterval.
	ReconcileInterval time.Duration
	// MaxAttempts bounds the retries a pipeline may ask for (workflow-control.yaml retryAfter); 0: the file's
	// maxAttempts, or no bound.
	MaxAttempts int64
	// Resync is how often every promise and request is looked at whatever happened (changes made through another
	// replica, runs it started); 0: DefaultResync.
	Resync time.Duration
	// Workers bound the objects reconciled at once; 0: DefaultWorkers.
	Workers int
	// Access, if not nil, gives pipelines that ask for rbac their service accounts and permissions (Kubernetes).
	Access Access
	// Secrets, if not nil, reads the Kubernetes Secrets GitStateStores' secretRefs name (the server runs with a
	// cluster); nil (embedded mode): a secretRef names the runner whose secret holds the keys.
	Secrets Secrets
	// JobNamespace is the one namespace every pipeline's job runs in, when the executor has one (Kubernetes: the
	// server's job namespace); a promise whose spec.workflows.config.pipelineNamespace names another is refused
	// (CheckPromise). "" (embedded: jobs run on this machine) accepts any, to no effect.
	JobNamespace string
	// Timeout bounds each pipeline's job; 0: the server's default job timeout.
	Timeout time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Controller runs the workflows of promises and resource requests. Create it with New and run it with Run; its
// httpapi.PromiseReconciler methods and Act are safe for concurrent use and work before Run starts (what they
// queue is done once Run runs).
type Controller struct {
	st      Store
	runs    Runs
	files   Files
	writers Writers
	opts    Options
	log     *slog.Logger
	q       *queue

	mu       sync.Mutex
	watching map[string]bool      // runs a goroutine awaits
	live     map[string]string    // by idempotency key: the id of each run a goroutine awaits
	canceled map[string]bool      // by idempotency key: live runs of a replaced round, canceled (no one takes their end)
	ended    map[string]store.Run // by idempotency key: runs seen final, until the next reconcile takes them
	granted  map[string]int64     // promise → the generation whose access was synced (grant)
	apis     map[apiKey]*promise.API
	// destinations counts the changes to destinations this process was told of; rehomed[k] is the count when
	// k's unplaced output was last placed again.
	destinations uint64
	rehomed      map[key]uint64
	watchers     sync.WaitGroup
}

var _ httpapi.PromiseReconciler = (*Controller)(nil)

// New returns a controller over st, starting pipelines through rs, reading their output from files and writing it
// through ws.
func New(st Store, rs Runs, files Files, ws Writers, opts Options) *Controller {
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = DefaultReconcileInterval
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{st: st, runs: rs, files: files, writers: ws, opts: opts, log: log, q: newQueue(),
		watching: map[string]bool{}, live: map[string]string{}, canceled: map[string]bool{}, ended: map[string]store.Run{}, apis: map[apiKey]*promise.API{},
		rehomed: map[key]uint64{}, granted: map[string]int64{}}
}

// Run reconciles every stored promise and request, then each as it changes, as its runs end, when a retry or
// reconcile falls due, and every Resync. It returns when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.watchers.Wait()
	defer c.q.stop()
	c.resync(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	for range c.opts.Workers {
		wg.Go(func() { c.work(ctx) })
	}
	tick := time.NewTicker(c.opts.Resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			c.resync(ctx)
		}
	}
}

// resync queues every promise and request.
func (c *Controller) resync(ctx context.Context) {
	ps, err := c.st.ListPromises(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("list promises", "err", err)
		}
		return
	}
	for _, p := range ps {
		c.q.add(promiseKey(p.Metadata.Name))
		rs, err := c.st.ListResourceRequests(ctx, p.Metadata.Name, "")
		if err != nil {
			c.log.Warn("list resource requests", "promise", p.Metadata.Name, "err", err)
			continue
		}
		for _, r := range rs {
			c.q.add(requestKey(p.Metadata.Name, r.Metadata.Namespace, r.Metadata.Name))
		}
	}
}

// work reconciles queued keys until ctx ends.
func (c *Controller) work(ctx context.Context) {
	for {
		k, ok := c.q.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-c.q.ready:
			}
			continue
		}
		err := c.reconcile(ctx, k)
		c.q.done(k)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, store.ErrConflict):
			c.q.add(k) // someone else wrote it meanwhile: look again at once
		default:
			c.log.Warn("reconcile", "object", k.String(), "err", err)
			c.q.at(k, c.opts.Now().Add(5*time.Second), c.opts.Now())
		}
	}
}

func (c *Controller) reconcile(ctx context.Context, k key) error {
	if k.Request {
		return c.reconcileRequest(ctx, k)
	}
	return c.reconcilePromise(ctx, k)
}

// watch queues k once run id, started with idempotency key runKey, is final (waiting in the background, once per
// run); the final run is kept for ended.
func (c *Controller) watch(ctx context.Context, id, runKey string, k key) {
	c.mu.Lock()
	if c.watching[id] {
		c.mu.Unlock()
		return
	}
	c.watching[id] = true
	c.live[runKey] = id
	c.mu.Unlock()
	c.watchers.Go(func() {
		defer func() {
			c.mu.Lock()
			delete(c.watching, id)
			delete(c.live, runKey)
			delete(c.canceled, runKey)
			c.mu.Unlock()
		}()
		for ctx.Err() == nil {
			run, err := c.runs.Await(ctx, id, time.Hour)
			if err != nil {
				break
			}
			if run.Status.Final() {
				c.mu.Lock()
				if !c.canceled[runKey] {
					c.ended[runKey] = run
				}
				c.mu.Unlock()
				break
			}
		}
		c.q.add(k)
	})
}

// takeEnded returns (and forgets) the final run of idempotency key runKey if a watch saw it end: the reconcile
// that takes in a run's end need not start it again to find it.
func (c *Controller) takeEnded(runKey string) (store.Run, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	run, ok := c.ended[runKey]
	delete(c.ended, runKey)
	return run, ok
}

// ReconcilePromise queues the promise's workflows and, when its spec changed, every request's configure workflow;
// for ChangeDeleting it takes the deletion over (ErrDeleteDeferred) when a delete workflow must run or files must
// be removed.
func (c *Controller) ReconcilePromise(ctx context.Context, change httpapi.Change, p store.Promise) error {
	switch change {
	case httpapi.ChangeDeleting:
		return c.deletingPromise(ctx, p)
	case httpapi.ChangeDeleted:
		return c.revoke(ctx, p.Metadata.Name)
	}
	c.q.add(promiseKey(p.Metadata.Name))
	if err := c.grant(ctx, p); err != nil {
		c.log.Warn("grant pipeline rbac (retried before its pipelines run)", "promise", p.Metadata.Name, "err", err)
	}
	if change == httpapi.ChangeUpdated {
		rs, err := c.st.ListResourceRequests(ctx, p.Metadata.Name, "")
		if err != nil {
			return fmt.Errorf("promise %s: list requests: %w", p.Metadata.Name, err)
		}
		for _, r := range rs {
			c.q.add(requestKey(p.Metadata.Name, r.Metadata.Namespace, r.Metadata.Name))
		}
	}
	return nil
}

// ReconcileRequest queues the request's configure workflow; for ChangeDeleting it takes the deletion over
// (ErrDeleteDeferred) when a delete workflow must run or files must be removed.
func (c *Controller) ReconcileRequest(ctx context.Context, change httpapi.Change, p store.Promise, r store.ResourceRequest) error {
	switch change {
	case httpapi.ChangeDeleting:
		return c.deletingRequest(ctx, p, r)
	case httpapi.ChangeDeleted:
		return nil
	}
	c.q.add(requestKey(p.Metadata.Name, r.Metadata.Namespace, r.Metadata.Name))
	return nil
}
