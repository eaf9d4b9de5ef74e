// Package audit records the audit log entries that are not written with a change: failed, refused and
// change-less requests, and logins. A change's own entry is written by the store in the change's transaction
// (store.WithAudit); everything else goes through a Log, which queues entries and writes them in batches (one
// write per batch, so a burst of failed logins costs the store a handful of writes, not one per attempt).
//
// Nothing is dropped silently: when the queue is full, Record waits for room (the request that records the entry
// waits with it), and only an entry whose request ended or that waited Options.MaxWait is dropped, counted in
// runplane_audit_entries_dropped_total and logged. Refused (throttled) logins are counted, not queued one by one:
// one entry per user, provider, address and window says how many there were.
//
// Entries never hold a password, token or secret value: callers build them from names, ids and outcomes only,
// and this package adds nothing. Every text field is bounded (Bound). An entry queued when the process is killed
// may be lost; Run flushes what is queued when its context ends.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/api"
)

// Store is where entries go.
type Store interface {
	// AppendAudit stores entries in one write.
	AppendAudit(ctx context.Context, entries ...api.AuditLog) error
}

// Options tune a Log. The zero value works.
type Options struct {
	// Buffer bounds the queued entries (default 10,000); past it Record waits for room.
	Buffer int
	// MaxWait bounds how long Record waits for room before it drops the entry (default 5s).
	MaxWait time.Duration
	// Batch bounds the entries written at once (default 500).
	Batch int
	// Linger is how long Run lets entries gather after the first one arrives before writing them (default 50ms):
	// under load, fewer and larger writes leave the store to the jobs.
	Linger time.Duration
	// Window is the period over which refused logins are counted into one entry (default 1m).
	Window time.Duration
	// MaxCounted bounds the (user, provider, address) keys counted at once (default 10,000); a refused login past
	// it is recorded on its own.
	MaxCounted int
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives runplane_audit_entries_dropped_total; nil registers nothing.
	Registerer prometheus.Registerer
}

// Log queues audit entries for Run to write. It is safe for concurrent use.
type Log struct {
	st      Store
	opts    Options
	slots   chan struct{} // one per queued or in-flight entry: Record waits here for room
	dropped prometheus.Counter

	mu      sync.Mutex
	queue   []api.AuditLog
	drops   int // since the last log line
	counted map[countKey]*counted
	wake    chan struct{}
	idle    *sync.Cond // signalled when the queue is empty and nothing is being written
	writing bool
}

// countKey is what refused logins are counted by.
type countKey struct{ username, provider, source, eventType string }

type counted struct {
	entry       api.AuditLog
	n           int
	first, last time.Time
}

// New returns a Log writing to st.
func New(st Store, opts Options) *Log {
	if opts.Buffer <= 0 {
		opts.Buffer = 10_000
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 5 * time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Linger <= 0 {
		opts.Linger = 50 * time.Millisecond
	}
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	if opts.MaxCounted <= 0 {
		opts.MaxCounted = 10_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{st: st, opts: opts, wake: make(chan struct{}, 1), slots: make(chan struct{}, opts.Buffer),
		counted: map[countKey]*counted{}}
	l.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "runplane_audit_entries_dropped_total",
		Help: "Audit entries dropped because the audit queue stayed full (each is also logged).",
	})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(l.dropped)
	}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// Record queues e, giving it an id and a time when it has none, and bounding its text (Bound). When the queue is
// full it waits for room until ctx ends or MaxWait passes; then it drops e, counts and logs the drop.
func (l *Log) Record(ctx context.Context, e api.AuditLog) {
	e = l.stamp(e)
	timer := time.NewTimer(l.opts.MaxWait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
	default:
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			l.drop()
			return
		case <-timer.C:
			l.drop()
			return
		}
	}
	l.enqueue(e)
}

// RecordRefused counts e, a refused (throttled) login, into the one entry its user, provider and address get per
// Window; the entry, written when the window ends, says how many there were in its Reason.
func (l *Log) RecordRefused(ctx context.Context, e api.AuditLog) {
	e = l.stamp(e)
	k := countKey{e.Username, e.Provider, e.Source, e.EventType}
	l.mu.Lock()
	if c, ok := l.counted[k]; ok {
		c.n++
		c.last = e.CreateTime
		l.mu.Unlock()
		return
	}
	if len(l.counted) < l.opts.MaxCounted {
		l.counted[k] = &counted{entry: e, n: 1, first: e.CreateTime, last: e.CreateTime}
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.Record(ctx, e)
}

// stamp fills e's id and time and bounds it.
func (l *Log) stamp(e api.AuditLog) api.AuditLog {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.CreateTime.IsZero() {
		e.CreateTime = l.opts.Now().UTC()
	}
	return Bound(e)
}

func (l *Log) enqueue(e api.AuditLog) {
	l.mu.Lock()
	l.queue = append(l.queue, e)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Log) drop() {
	l.dropped.Inc()
	l.mu.Lock()
	l.drops++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}: // the flush logs it
	default:
	}
}

// releaseCounted queues the counted entries, each with its count: those whose window ended, or all. An entry
// that finds the queue full stays counted until the next window.
func (l *Log) releaseCounted(all bool) {
	now := l.opts.Now()
	l.mu.Lock()
	var out []api.AuditLog
	for k, c := range l.counted {
		if !all && now.Sub(c.first) < l.opts.Window {
			continue
		}
		select {
		case l.slots <- struct{}{}:
		default:
			continue
		}
		e := c.entry
		e.Reason = Bound(api.AuditLog{Reason: fmt.Sprintf("%s (%d attempts refused from %s to %s)", e.Reason, c.n,
			c.first.UTC().Format(time.RFC3339), c.last.UTC().Format(time.RFC3339))}).Reason
		out = append(out, e)
		delete(l.counted, k)
	}
	l.mu.Unlock()
	for _, e := range out {
		l.enqueue(e)
	}
}

// Limits Bound applies, in bytes.
const (
	MaxField  = 256  // ids, names, provider, type, category, status, source
	MaxTarget = 512  // the object acted on
	MaxReason = 1024 // the outcome's message
)

// Bound returns e with every text field valid UTF-8 without NUL bytes (which some stores refuse, with the whole
// batch) and cut to its limit, marked with "…": a 1 MB username sent to /login stays a short line in the log.
func Bound(e api.AuditLog) api.AuditLog {
	for _, f := range []struct {
		s   *string
		max int
	}{
		{&e.ID, MaxField}, {&e.UserID, MaxField}, {&e.Username, MaxField}, {&e.Provider, MaxField},
		{&e.EventType, MaxField}, {&e.EventCategory, MaxField}, {&e.EventTarget, MaxTarget},
		{&e.Status, MaxField}, {&e.Reason, MaxReason}, {&e.Source, MaxField},
	} {
		*f.s = cut(clean(*f.s), f.max)
	}
	return e
}

// clean replaces invalid UTF-8 and NUL bytes with U+FFFD.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// cut shortens valid UTF-8 s to at most max bytes on a rune boundary, ending in "…" when it cut.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	n := max - len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// Run writes queued entries until ctx ends, then writes what is left (counted logins included, with a short
// grace) and returns nil.
func (l *Log) Run(ctx context.Context) error {
	tick := time.NewTicker(l.opts.Window / 4)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			l.releaseCounted(false)
		case <-l.wake:
			linger := time.NewTimer(l.opts.Linger)
			select {
			case <-linger.C:
			case <-ctx.Done():
				linger.Stop()
			}
			l.flush(ctx, false)
		case <-ctx.Done():
			l.releaseCounted(true)
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.flush(fctx, true)
			cancel()
			return nil
		}
	}
}

// Flush writes the counted logins, then blocks until every entry recorded before the call has been written (or
// failed), for tests and shutdown.
func (l *Log) Flush() {
	l.releaseCounted(true)
	l.mu.Lock()
	for len(l.queue) > 0 || l.writing {
		l.idle.Wait()
	}
	l.mu.Unlock()
}

// write stores batch. If the store refuses the batch, each entry is tried on its own, so that one entry the store
// cannot take does not take the others with it; what is still refused is counted as dropped and logged.
func (l *Log) write(ctx context.Context, batch []api.AuditLog) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := l.st.AppendAudit(wctx, batch...)
	if err == nil {
		return
	}
	lost := batch
	if len(batch) > 1 && wctx.Err() == nil {
		lost = nil
		for _, e := range batch {
			if err1 := l.st.AppendAudit(wctx, e); err1 != nil {
				lost, err = append(lost, e), err1
			}
		}
	}
	if len(lost) > 0 {
		l.dropped.Add(float64(len(lost)))
		l.opts.Logger.ErrorContext(ctx, "audit entries not written", "entries", len(lost), "err", err)
	}
}

// flush writes the queue in batches. Unless it is Run's final flush, it stops when ctx ends and leaves the rest
// to the final flush: a batch given a dead context would be dropped by the store, not written.
func (l *Log) flush(ctx context.Context, final bool) {
	for {
		l.mu.Lock()
		n := min(len(l.queue), l.opts.Batch)
		if n == 0 {
			drops := l.drops
			l.drops = 0
			l.idle.Broadcast()
			l.mu.Unlock()
			if drops > 0 {
				l.opts.Logger.ErrorContext(ctx, "audit entries dropped: the queue was full", "dropped", drops)
			}
			return
		}
		if !final && ctx.Err() != nil {
			l.mu.Unlock()
			return
		}
		batch := append([]api.AuditLog(nil), l.queue[:n]...)
		l.queue = l.queue[n:]
		if len(l.queue) == 0 {
			l.queue = nil
		}
		l.writing = true
		l.mu.Unlock()
		// A batch taken off the queue is written even if ctx ends meanwhile: dropping it would lose entries.
		l.write(ctx, batch)
		for range batch {
			<-l.slots
		}
		l.mu.Lock()
		l.writing = false
		l.mu.Unlock()
	}
}
