// Package audit records the audit log without slowing the requests it records: Record queues an entry and
// returns, and Run writes queued entries to the store in batches (one write per batch, so a burst of job
// submissions costs the store a handful of writes, not one per job).
//
// Entries never hold a password, token or secret value: callers build them from names, ids and outcomes only,
// and this package adds nothing. An entry queued when the process is killed may be lost; Run flushes what is
// queued when its context ends.
package audit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
)

// Store is where entries go.
type Store interface {
	// AppendAudit stores entries in one write.
	AppendAudit(ctx context.Context, entries ...api.AuditLog) error
}

// Options tune a Log. The zero value works.
type Options struct {
	// Buffer bounds the queued entries; past it Record drops entries and counts them (default 10,000).
	Buffer int
	// Batch bounds the entries written at once (default 500).
	Batch int
	// Linger is how long Run lets entries gather after the first one arrives before writing them (default 50ms):
	// under load, fewer and larger writes leave the store to the jobs.
	Linger time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Log queues audit entries for Run to write. It is safe for concurrent use.
type Log struct {
	st      Store
	opts    Options
	mu      sync.Mutex
	queue   []api.AuditLog
	dropped int
	wake    chan struct{}
	idle    *sync.Cond // signalled when the queue is empty and nothing is being written
	writing bool
}

// New returns a Log writing to st.
func New(st Store, opts Options) *Log {
	if opts.Buffer <= 0 {
		opts.Buffer = 10_000
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{st: st, opts: opts, wake: make(chan struct{}, 1)}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// Record queues e, giving it an id and a time when it has none. It never blocks on the store.
func (l *Log) Record(e api.AuditLog) {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.CreateTime.IsZero() {
		e.CreateTime = l.opts.Now().UTC()
	}
	// Names come from requests (a failed login's username): keep them printable and valid UTF-8, so no store
	// refuses the batch they are in.
	for _, f := range []*string{&e.UserID, &e.Username, &e.Provider, &e.EventType, &e.EventCategory, &e.EventTarget,
		&e.Status, &e.Reason, &e.Source} {
		*f = clean(*f)
	}
	l.mu.Lock()
	if len(l.queue) >= l.opts.Buffer {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.queue = append(l.queue, e)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// clean replaces invalid UTF-8 and NUL bytes with U+FFFD.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// Run writes queued entries until ctx ends, then writes what is left (with a short grace) and returns nil.
func (l *Log) Run(ctx context.Context) error {
	for {
		select {
		case <-l.wake:
			linger := time.NewTimer(l.opts.Linger)
			select {
			case <-linger.C:
			case <-ctx.Done():
				linger.Stop()
			}
			l.flush(ctx, false)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.flush(fctx, true)
			cancel()
			return nil
		}
	}
}

// Flush blocks until every entry recorded before the call has been written (or failed), for tests and shutdown.
func (l *Log) Flush() {
	l.mu.Lock()
	for len(l.queue) > 0 || l.writing {
		l.idle.Wait()
	}
	l.mu.Unlock()
}

// flush writes the queue in batches. Unless it is Run's final flush, it stops when ctx ends and leaves the rest
// to the final flush: a batch given a dead context would be dropped by the store, not written.
func (l *Log) flush(ctx context.Context, final bool) {
	for {
		l.mu.Lock()
		n := min(len(l.queue), l.opts.Batch)
		if n == 0 {
			dropped := l.dropped
			l.dropped = 0
			l.idle.Broadcast()
			l.mu.Unlock()
			if dropped > 0 {
				l.opts.Logger.ErrorContext(ctx, "audit entries dropped: the queue was full", "dropped", dropped)
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
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := l.st.AppendAudit(wctx, batch...)
		cancel()
		if err != nil {
			l.opts.Logger.ErrorContext(ctx, "audit entries not written", "entries", len(batch), "err", err)
		}
		l.mu.Lock()
		l.writing = false
		l.mu.Unlock()
	}
}
