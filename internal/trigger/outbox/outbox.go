package outbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Store is what the outbox reads and writes.
type Store interface {
	store.Outbox
	ListEventSinks(ctx context.Context) ([]api.EventSink, error)
	GetJob(ctx context.Context, id string) (store.Job, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
	// GetRunner resolves the secrets sinks' headers name.
	GetRunner(ctx context.Context, name string) (api.Runner, error)
}

// Options configure an Outbox; the zero value works.
type Options struct {
	// Source is every event's source unless its producer gave one: the same on every replica, so receivers
	// deduplicate on (source, id). Empty: DefaultSource.
	Source string
	// ServerID names this server in the leases of the deliveries it sends; empty: a random id.
	ServerID string
	// Client sends the events; nil: a client that follows no redirects. Timeout bounds each request anyway.
	Client *http.Client
	// Timeout bounds one delivery, from connecting to reading the answer's status; 0: 10s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait after a sink failed: MinBackoff after its first failure in a row,
	// doubling up to MaxBackoff. 0: 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often Run looks for new events when no Wake comes; 0: 1s.
	Poll time.Duration
	// Batch is how many deliveries of one sink are claimed at once; 0: 16.
	Batch int
	// MaxConcurrent is how many sinks are sent to at once; 0: 8.
	MaxConcurrent int
	// LeaseTTL is how long claimed deliveries stay this server's; 0: Batch × Timeout plus a minute. A server
	// that stops while sending leaves them to others when it ends.
	LeaseTTL time.Duration
	// Retention is how long events every sink received are kept; 0: 24h.
	Retention time.Duration
	Logger    *slog.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// DefaultSource is the source of events when Options.Source is empty.
const DefaultSource = "/runplane"

// Outbox emits events into the store's outbox and, in Run, delivers them. It is safe for concurrent use.
type Outbox struct {
	st      Store
	opts    Options
	log     *slog.Logger
	metrics *metrics
	wake    chan struct{}
	// sinks exist, as Run last saw: Wake is a no-op without, so that the job engine's calls cost nothing then.
	haveSinks atomic.Bool

	mu    sync.Mutex
	sinks map[string]*sinkState
}

var _ Emitter = (*Outbox)(nil)

// New returns an Outbox over st.
func New(st Store, opts Options) *Outbox {
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if opts.ServerID == "" {
		host, _ := os.Hostname()
		opts.ServerID = host + "-" + rand.Text()[:8]
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 16
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 8
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = time.Duration(opts.Batch)*opts.Timeout + time.Minute
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{st: st, opts: opts, log: log, metrics: newMetrics(opts.Registerer), wake: make(chan struct{}, 1),
		sinks: map[string]*sinkState{}}
}

// Emit stores e in the outbox (see Emitter).
func (o *Outbox) Emit(ctx context.Context, e Event) error {
	if e.Source == "" {
		e.Source = o.opts.Source
	}
	if e.Time.IsZero() {
		e.Time = o.opts.Now()
	}
	if err := e.Validate(); err != nil {
		return err
	}
	body, err := e.MarshalJSON()
	if err != nil {
		return fmt.Errorf("outbox: emit %q: %w", e.ID, err)
	}
	created, err := o.st.AppendEvent(ctx, store.OutboxEvent{ID: e.ID, Subject: e.Subject, Type: e.Type, Time: e.Time,
		Event: body})
	if err != nil {
		return fmt.Errorf("outbox: emit %q: %w", e.ID, err)
	}
	if created {
		o.wakeUp()
	}
	return nil
}

// Wake makes Run look for events now instead of at its next poll, if there is a sink to send them to. It never
// blocks, and costs an atomic load while no sink exists: the job engine calls it as each job ends.
func (o *Outbox) Wake() {
	if o.haveSinks.Load() {
		o.wakeUp()
	}
}

func (o *Outbox) wakeUp() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
