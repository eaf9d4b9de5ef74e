package kubemirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/runplane/runplane/api"
)

// DefaultResync is how often the mirror compares every object of both sides whatever it was told. Changes reach it
// at once, keyed by object, from the cluster's watches and from runplane's store (Changed, Notifying): the resync
// catches what neither said (a write by a replica without the notifying store, an event lost), not the common case.
const DefaultResync = 5 * time.Minute

// Options configure a Mirror. Config, API, Token and Store are required.
type Options struct {
	// Config reaches the cluster.
	Config *rest.Config
	// API is runplane's REST API (httpapi.Handler); every write to the store goes through it.
	API http.Handler
	// Token returns a credential (a session token, sent as Authorization: Bearer) of the identity the mirror acts
	// as: the server's service identity. Called for every write.
	Token func(ctx context.Context) (string, error)
	// Store is read to see what the REST API changed.
	Store Store
	// Resync is how often every object is compared whatever the watches and Changed said; 0: DefaultResync.
	Resync time.Duration
	// InstallCRDs applies runplane's CRDs when Run starts (--install-crds).
	InstallCRDs bool
	// Logger receives what the mirror did and what failed; nil discards.
	Logger *slog.Logger
}

// Mirror keeps runplane's platform resources and their Kubernetes objects one (see the package doc).
type Mirror struct {
	opts Options
	dc   dynamic.Interface
	api  door
	log  *slog.Logger
	q    workqueue.TypedRateLimitingInterface[Ref]
	// static are runplane's own kinds, by Ref.Kind; set by Run before its worker starts.
	static map[string]watched
	// apis are the promises' CRDs the mirror installed and watches, by promise name; only the worker uses it.
	apis map[string]*promiseAPI
	// comps are the composition types the mirror installed and watches, by resource; only the worker uses it.
	comps map[string]*promiseAPI
}

// watched is a kind and the informer that watches it.
type watched struct {
	k   kind
	inf cache.SharedIndexInformer
}

// New returns a Mirror; Run runs it.
func New(opts Options) (*Mirror, error) {
	if opts.Config == nil || opts.API == nil || opts.Token == nil || opts.Store == nil {
		return nil, errors.New("kubemirror: Config, API, Token and Store are required")
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dc, err := dynamic.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("kubemirror: %w", err)
	}
	return &Mirror{opts: opts, dc: dc, api: door{api: opts.API, token: opts.Token}, log: opts.Logger,
		q: newQueue(), apis: map[string]*promiseAPI{}, comps: map[string]*promiseAPI{}}, nil
}

// Close releases what New made (its work queue's goroutines) when Run never runs; after Run it does nothing more.
// Changed and Wake after Close are dropped. Safe to call more than once.
func (m *Mirror) Close() { m.q.ShutDown() }

// syncWarnAfter is how long the mirror waits for a kind's watch to sync before it says why it may never: the
// cluster does not serve the kind (its CRD is not installed: `helm upgrade` leaves a chart's crds/ as they were).
var syncWarnAfter = 30 * time.Second

// waitSynced waits until w's watch has synced, warning every syncWarnAfter that it has not; false when ctx ended
// first.
func (m *Mirror) waitSynced(ctx context.Context, w watched) bool {
	for {
		wctx, cancel := context.WithTimeout(ctx, syncWarnAfter)
		ok := cache.WaitForCacheSync(wctx.Done(), w.inf.HasSynced)
		cancel()
		if ok || ctx.Err() != nil {
			return ok
		}
		m.log.WarnContext(ctx, "the cluster does not serve a kind the mirror watches (is its CRD installed? `helm upgrade` "+
			"leaves a chart's crds/ as they were: kubectl apply -f the chart's crds/, or start the server with --install-crds)",
			"crd", w.k.gvr.Resource+"."+w.k.gvr.Group, "version", w.k.gvr.Version)
	}
}

// Run installs the CRDs when asked, watches runplane's kinds and keeps both sides in step until ctx ends. It runs
// once: its queue shuts down with it.
func (m *Mirror) Run(ctx context.Context) error {
	defer m.q.ShutDown()
	if m.opts.InstallCRDs {
		if err := InstallCRDs(ctx, m.dc); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while installing: not a failure
			}
			return err
		}
		m.log.InfoContext(ctx, "installed the CRDs")
	}
	st := m.opts.Store
	m.static = map[string]watched{
		api.KindDirectoryStateStore:   {k: stateStoreKind(st, api.KindDirectoryStateStore)},
		api.KindGitStateStore:         {k: stateStoreKind(st, api.KindGitStateStore)},
		api.KindDestination:           {k: destinationKind(st)},
		api.KindPromise:               {k: promiseKind(st)},
		api.KindCompositionDefinition: {k: definitionKind(st)},
	}
	for _, name := range staticKinds {
		w := m.static[name]
		w.inf = newInformer(m.dc, w.k.gvr)
		if _, err := w.inf.AddEventHandler(m.handler(name, "")); err != nil {
			return fmt.Errorf("kubemirror: %w", err)
		}
		m.static[name] = w
		go w.inf.RunWithContext(ctx)
	}
	defer m.stopAPIs()
	for _, name := range staticKinds {
		if !m.waitSynced(ctx, m.static[name]) {
			return nil // ctx ended
		}
	}
	m.log.InfoContext(ctx, "mirroring platform resources to the cluster")
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.work(ctx)
	}()
	tick := time.NewTicker(m.opts.Resync)
	defer tick.Stop()
	for {
		m.Wake()
		select {
		case <-ctx.Done():
			m.q.ShutDown()
			<-done
			return nil
		case <-tick.C:
		}
	}
}

// staticKinds are runplane's own kinds in the order a resync queues them: what others refer to first.
var staticKinds = []string{api.KindDirectoryStateStore, api.KindGitStateStore, api.KindDestination, api.KindPromise,
	api.KindCompositionDefinition}
