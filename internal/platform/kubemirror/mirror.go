package kubemirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/runplane/runplane/api"
)

// DefaultResync is how often the mirror compares the store with the cluster when nothing woke it.
const DefaultResync = 2 * time.Second

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
	// Resync bounds how long a change made through the REST API takes to reach the cluster; 0: DefaultResync.
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
	wake chan struct{}
	// apis are the promises' CRDs the mirror installed and watches, by promise name; only Run's goroutine uses it.
	apis map[string]*promiseAPI
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
		wake: make(chan struct{}, 1), apis: map[string]*promiseAPI{}}, nil
}

// Wake makes the mirror compare the two sides now (a REST change it should not wait for a resync to see).
func (m *Mirror) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run installs the CRDs when asked, watches runplane's kinds and keeps both sides in step until ctx ends.
func (m *Mirror) Run(ctx context.Context) error {
	if m.opts.InstallCRDs {
		if err := InstallCRDs(ctx, m.dc); err != nil {
			return err
		}
		m.log.InfoContext(ctx, "installed the CRDs")
	}
	informers := map[schema.GroupVersionResource]cache.SharedIndexInformer{}
	for _, gvr := range staticGVRs {
		inf := newInformer(m.dc, gvr)
		if _, err := inf.AddEventHandler(m.handler()); err != nil {
			return fmt.Errorf("kubemirror: %w", err)
		}
		informers[gvr] = inf
		go inf.RunWithContext(ctx)
	}
	defer m.stopAPIs()
	for gvr, inf := range informers {
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kubemirror: watch %s: not synced", gvr.Resource)
		}
	}
	m.log.InfoContext(ctx, "mirroring platform resources to the cluster")
	kinds := []struct {
		k   kind
		inf cache.SharedIndexInformer
	}{
		{stateStoreKind(m.opts.Store, api.KindDirectoryStateStore), informers[dirStoreGVR]},
		{stateStoreKind(m.opts.Store, api.KindGitStateStore), informers[gitStoreGVR]},
		{destinationKind(m.opts.Store), informers[destGVR]},
		{promiseKind(m.opts.Store), informers[promiseGVR]},
	}
	tick := time.NewTicker(m.opts.Resync)
	defer tick.Stop()
	for {
		for _, x := range kinds {
			if err := m.syncKind(ctx, x.k, x.inf.GetStore()); err != nil && ctx.Err() == nil {
				m.log.WarnContext(ctx, "mirror", "err", err)
			}
		}
		if err := m.syncAPIs(ctx); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "mirror promise APIs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-tick.C:
		}
	}
}

// handler wakes the loop on every change in the cluster.
func (m *Mirror) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.Wake() },
		UpdateFunc: func(any, any) { m.Wake() },
		DeleteFunc: func(any) { m.Wake() },
	}
}
