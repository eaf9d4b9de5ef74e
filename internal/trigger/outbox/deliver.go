package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// fanOutBatch is how many events one fan-out step reads.
const fanOutBatch = 100

// sinkState is what this server knows of a sink between rounds.
type sinkState struct {
	busy     bool      // a goroutine is sending to it
	failures int       // failed deliveries in a row
	until    time.Time // no attempt before this (backing off)
}

// Run fans out and delivers events until ctx ends, then returns nil once the deliveries in flight ended. Errors
// of the store or the sinks are logged and retried; they never end Run.
func (o *Outbox) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, o.opts.MaxConcurrent)
	tick := time.NewTicker(o.opts.Poll)
	defer tick.Stop()
	var pruned time.Time
	for {
		if err := o.fanOut(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("fan out events", "error", err)
		}
		// Only sinks with deliveries left are claimed for: a claim is a write, which an idle server should not
		// make every poll.
		if due, err := o.observeBacklog(ctx); err != nil {
			if ctx.Err() == nil {
				o.log.Warn("read the event backlog", "error", err)
			}
		} else if sinks, err := o.st.ListEventSinks(ctx); err != nil {
			if ctx.Err() == nil {
				o.log.Warn("list event sinks", "error", err)
			}
		} else {
			o.haveSinks.Store(len(sinks) > 0)
			o.dispatch(ctx, &wg, sem, sinks, due)
		}
		if now := o.opts.Now(); now.Sub(pruned) >= min(o.opts.Retention/4, time.Hour) {
			pruned = now
			if n, err := o.st.PruneOutbox(ctx, now.Add(-o.opts.Retention)); err != nil && ctx.Err() == nil {
				o.log.Warn("prune delivered events", "error", err)
			} else if n > 0 {
				o.log.Debug("pruned delivered events", "events", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-o.wake:
		}
	}
}

// fanOut gives every pending event its CloudEvent and its deliveries to the sinks it matches.
func (o *Outbox) fanOut(ctx context.Context) error {
	for {
		evs, err := o.st.PendingEvents(ctx, fanOutBatch)
		if err != nil || len(evs) == 0 {
			return err
		}
		sinks, err := o.st.ListEventSinks(ctx)
		if err != nil {
			return err
		}
		fan := make([]store.FannedEvent, 0, len(evs))
		for _, e := range evs {
			f := store.FannedEvent{Seq: e.Seq, Sinks: []string{}}
			if e.Event == nil {
				if f.Event, err = o.build(ctx, e); err != nil {
					return fmt.Errorf("build event %q: %w", e.ID, err)
				}
			}
			for _, s := range sinks {
				if s.MatchesType(e.Type) {
					f.Sinks = append(f.Sinks, s.Name)
				}
			}
			fan = append(fan, f)
		}
		if err := o.st.FanOut(ctx, o.opts.Now(), fan); err != nil {
			return err
		}
		if len(evs) < fanOutBatch {
			return nil
		}
	}
}

// dispatch starts a goroutine for each sink that has deliveries left and is neither busy nor backing off, as long
// as there is room.
func (o *Outbox) dispatch(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}, sinks []api.EventSink, due map[string]int) {
	now := o.opts.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	live := map[string]bool{}
	for _, s := range sinks {
		live[s.Name] = true
		st := o.sinks[s.Name]
		if st == nil {
			st = &sinkState{}
			o.sinks[s.Name] = st
		}
		if st.busy || now.Before(st.until) || due[s.Name] == 0 {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // every slot is sending; a later round starts this one
		}
		st.busy = true
		wg.Go(func() {
			defer func() { <-sem }()
			o.deliverSink(ctx, s, st)
		})
	}
	for name, st := range o.sinks {
		if !live[name] && !st.busy {
			delete(o.sinks, name)
			o.metrics.forget(name)
		}
	}
}

// deliverSink sends sink its due deliveries, a batch at a time, until none is left or one fails: then the sink
// backs off, and so does what it had left of the batch.
func (o *Outbox) deliverSink(ctx context.Context, sink api.EventSink, st *sinkState) {
	defer func() {
		o.mu.Lock()
		st.busy = false
		o.mu.Unlock()
	}()
	headers, herr := o.headers(ctx, sink)
	for ctx.Err() == nil {
		now := o.opts.Now()
		lease := store.Lease{Owner: o.opts.ServerID, Until: now.Add(o.opts.LeaseTTL)}
		ds, err := o.st.ClaimDeliveries(ctx, sink.Name, now, lease, o.opts.Batch)
		if err != nil {
			if ctx.Err() == nil {
				o.log.Warn("claim deliveries", "sink", sink.Name, "error", err)
			}
			return
		}
		for i, d := range ds {
			if ctx.Err() != nil || !o.opts.Now().Add(o.opts.Timeout).Before(lease.Until) {
				o.release(sink.Name, ds[i:], o.opts.Now(), "")
				return
			}
			err := herr
			if err == nil {
				err = o.post(ctx, sink, headers, d)
			}
			if err == nil {
				if err := o.st.DeliveryDone(context.WithoutCancel(ctx), sink.Name, d.Event.Seq, o.opts.Now()); err != nil {
					o.log.Warn("record delivery", "sink", sink.Name, "event", d.Event.ID, "error", err)
				}
				o.metrics.delivered.WithLabelValues(sink.Name).Inc()
				o.mu.Lock()
				st.failures = 0
				o.mu.Unlock()
				continue
			}
			if ctx.Err() != nil { // stopping: not the sink's failure
				o.release(sink.Name, ds[i:], o.opts.Now(), "")
				return
			}
			o.metrics.failed.WithLabelValues(sink.Name).Inc()
			o.mu.Lock()
			st.failures = max(st.failures+1, d.Attempts+1)
			wait := backoff(o.opts.MinBackoff, o.opts.MaxBackoff, st.failures)
			next := o.opts.Now().Add(wait)
			st.until = next
			o.mu.Unlock()
			o.log.Warn("event delivery failed; backing off", "sink", sink.Name, "event", d.Event.ID,
				"attempt", d.Attempts+1, "retry_in", wait, "error", err)
			o.release(sink.Name, ds[i:i+1], next, err.Error())
			o.release(sink.Name, ds[i+1:], next, "")
			return
		}
		if len(ds) < o.opts.Batch {
			return
		}
	}
}

// release gives claimed deliveries back, due at next; failure, if any, counts an attempt.
func (o *Outbox) release(sink string, ds []store.Delivery, next time.Time, failure string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range ds {
		if err := o.st.RetryDelivery(ctx, sink, d.Event.Seq, next, failure); err != nil {
			o.log.Warn("release delivery", "sink", sink, "event", d.Event.ID, "error", err)
		}
	}
}

// backoff is the wait after n failures in a row: min, doubling, at most max.
func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		return max
	}
	return d
}

// errSecret is a header whose secret cannot be read. Its message names the header, runner and key, never a value.
var errSecret = errors.New("secret not found")

// headers resolves the sink's headers; secret values are read from their runners now, so a changed secret
// applies to the next delivery.
func (o *Outbox) headers(ctx context.Context, sink api.EventSink) (http.Header, error) {
	h := http.Header{}
	runners := map[string]api.Runner{}
	for name, v := range sink.Headers {
		if v.SecretRef == nil {
			h.Set(name, v.Value)
			continue
		}
		ref := v.SecretRef
		r, ok := runners[ref.Runner]
		if !ok {
			var err error
			if r, err = o.st.GetRunner(ctx, ref.Runner); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("header %s: read runner %q: %w", name, ref.Runner, err)
			}
			runners[ref.Runner] = r
		}
		val, ok := r.Secret[ref.Key]
		if !ok {
			return nil, fmt.Errorf("header %s: runner %q has no secret %q: %w", name, ref.Runner, ref.Key, errSecret)
		}
		h.Set(name, val)
	}
	return h, nil
}

// post sends one event. Its error says what failed without the URL's query or any header.
func (o *Outbox) post(ctx context.Context, sink api.EventSink, headers http.Header, d store.Delivery) error {
	body := d.Event.Event
	if !sink.IncludeResult && d.Event.Kind != "" {
		var err error
		if body, err = withoutResult(body); err != nil {
			return fmt.Errorf("event %q: %w", d.Event.ID, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sink.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: bad request", redact(sink.URL))
	}
	req.Header = headers.Clone()
	req.Header.Set("Content-Type", ContentType)
	resp, err := o.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", redact(sink.URL), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: %s", redact(sink.URL), resp.Status)
	}
	return nil
}

// redact is a URL without its query, which may hold a token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(sink URL)"
	}
	u.RawQuery, u.ForceQuery, u.User = "", false, nil
	return u.String()
}
