package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/audit"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store/sqlite"
)

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// start runs l until the test ends; the store is closed only after Run returned (cleanups run last-in first-out).
func start(t *testing.T, l *audit.Log) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}

func list(t *testing.T, st *sqlite.Store) []api.AuditLog {
	t.Helper()
	es, err := st.ListAudit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// logSink keeps what a Log logs, so a test can wait for a message.
type logSink struct {
	mu     sync.Mutex
	recs   []slog.Record
	signal chan struct{}
}

func newLogSink() *logSink { return &logSink{signal: make(chan struct{}, 1)} }

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *logSink) WithGroup(string) slog.Handler            { return s }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	s.recs = append(s.recs, r.Clone())
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
	return nil
}

func (s *logSink) find(msg string) (slog.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.Message == msg {
			return r, true
		}
	}
	return slog.Record{}, false
}

// waitFor returns the first record logged with msg, waiting for it up to a deadline.
func (s *logSink) waitFor(t *testing.T, msg string) slog.Record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if r, ok := s.find(msg); ok {
			return r
		}
		select {
		case <-s.signal:
		case <-deadline:
			t.Fatalf("no log message %q", msg)
		}
	}
}

func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

// countingStore counts the writes that reach the store and their sizes; it injects nothing.
type countingStore struct {
	next    audit.Store
	mu      sync.Mutex
	batches []int
}

func (c *countingStore) AppendAudit(ctx context.Context, es ...api.AuditLog) error {
	c.mu.Lock()
	c.batches = append(c.batches, len(es))
	c.mu.Unlock()
	return c.next.AppendAudit(ctx, es...)
}

func (c *countingStore) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.batches...)
}

// gateStore injects a slow store: it holds the first write until release is closed. The held write then goes
// through even if Run's context ended meanwhile, as a write the store had already taken does.
type gateStore struct {
	next    audit.Store
	once    sync.Once
	entered chan struct{} // closed when the first write arrives
	release chan struct{}
}

func newGate(next audit.Store) *gateStore {
	return &gateStore{next: next, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateStore) AppendAudit(ctx context.Context, es ...api.AuditLog) error {
	first := false
	g.once.Do(func() { first = true; close(g.entered) })
	if first {
		<-g.release
		ctx = context.WithoutCancel(ctx)
	}
	return g.next.AppendAudit(ctx, es...)
}

// failingStore injects a store failure while fail is set.
type failingStore struct {
	next audit.Store
	fail atomic.Bool
}

var errDiskFull = errors.New("disk full")

func (f *failingStore) AppendAudit(ctx context.Context, es ...api.AuditLog) error {
	if f.fail.Load() {
		return errDiskFull
	}
	return f.next.AppendAudit(ctx, es...)
}

func entry(target string) api.AuditLog {
	return api.AuditLog{UserID: "u1", Username: "alice", Provider: api.ProviderLocal, EventType: "create",
		EventCategory: api.ResourceRunners, EventTarget: target, Status: api.AuditSuccess, Source: "10.0.0.1"}
}

func TestRecordFlush(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	zone := time.FixedZone("CEST", 2*3600)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, zone)
	var mu sync.Mutex
	tick := 0
	now := func() time.Time { // every call one second later, in a zone other than UTC
		mu.Lock()
		defer mu.Unlock()
		tick++
		return t0.Add(time.Duration(tick) * time.Second)
	}
	l := audit.New(st, audit.Options{Now: now})
	start(t, l)

	preset := entry("kept")
	preset.ID = "00000000-0000-0000-0000-000000000001"
	preset.CreateTime = t0.Add(-time.Hour).UTC()
	l.Record(context.Background(), preset)
	l.Record(context.Background(), entry("first"))
	failed := entry("second")
	failed.Status, failed.Reason = api.AuditDenied, "forbidden: write access to runners required"
	l.Record(context.Background(), failed)
	l.Flush()

	got := list(t, st)
	if len(got) != 3 {
		t.Fatalf("ListAudit after Flush = %d entries, want 3", len(got))
	}
	// Newest first: second (t0+2s), first (t0+1s), then the preset entry an hour earlier.
	want := []api.AuditLog{failed, entry("first"), preset}
	want[0].CreateTime = t0.Add(2 * time.Second).UTC()
	want[1].CreateTime = t0.Add(time.Second).UTC()
	want[0].ID, want[1].ID = got[0].ID, got[1].ID
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAudit after Flush (-want +got):\n%s", diff)
	}
	for _, e := range got[:2] {
		if len(e.ID) != 36 {
			t.Errorf("entry %q: ID = %q, want a UUID filled by Record", e.EventTarget, e.ID)
		}
		if e.CreateTime.Location() != time.UTC {
			t.Errorf("entry %q: CreateTime %v is not UTC", e.EventTarget, e.CreateTime)
		}
	}
	if got[0].ID == got[1].ID {
		t.Errorf("two entries got the same ID %q", got[0].ID)
	}
}

// TestFlushWithNothingQueued checks that Flush returns at once when there is nothing to write.
func TestFlushWithNothingQueued(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	l := audit.New(st, audit.Options{})
	start(t, l)
	l.Flush()
	if got := list(t, st); len(got) != 0 {
		t.Errorf("ListAudit = %d entries, want 0", len(got))
	}
}

// TestBurstIsBatched records 2,000 entries from 16 goroutines while a write is in flight: everything recorded
// meanwhile goes to the store in batches of at most Options.Batch, not one write per entry.
func TestBurstIsBatched(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	count := &countingStore{next: st}
	gate := newGate(count)
	l := audit.New(gate, audit.Options{})
	start(t, l)

	l.Record(context.Background(), entry("first"))
	<-gate.entered // Run is writing "first" and is held there
	const writers, each = 16, 125
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				l.Record(context.Background(), entry(fmt.Sprintf("w%d-%d", w, i)))
			}
		})
	}
	wg.Wait()
	close(gate.release)
	l.Flush()

	got := list(t, st)
	if len(got) != 1+writers*each {
		t.Fatalf("ListAudit = %d entries, want %d", len(got), 1+writers*each)
	}
	ids := map[string]bool{}
	targets := map[string]bool{}
	for _, e := range got {
		ids[e.ID] = true
		targets[e.EventTarget] = true
	}
	if len(ids) != len(got) || len(targets) != len(got) {
		t.Errorf("%d entries have %d distinct ids and %d distinct targets, want all distinct", len(got), len(ids), len(targets))
	}
	// The held write, then the 2,000 queued meanwhile in batches of the default 500.
	if diff := cmp.Diff([]int{1, 500, 500, 500, 500}, count.sizes()); diff != "" {
		t.Errorf("AppendAudit batch sizes (-want +got):\n%s", diff)
	}
}

// TestBatchOption checks that Options.Batch bounds each write.
func TestBatchOption(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	count := &countingStore{next: st}
	l := audit.New(count, audit.Options{Batch: 300})
	for i := range 2000 {
		l.Record(context.Background(), entry(fmt.Sprint(i)))
	}
	start(t, l) // everything is queued before Run starts
	l.Flush()
	if got := len(list(t, st)); got != 2000 {
		t.Errorf("ListAudit = %d entries, want 2000", got)
	}
	if diff := cmp.Diff([]int{300, 300, 300, 300, 300, 300, 200}, count.sizes()); diff != "" {
		t.Errorf("AppendAudit batch sizes (-want +got):\n%s", diff)
	}
}

// TestFullBufferDrops checks that Record never blocks on a slow store: past Options.Buffer queued entries it drops
// them, and the drop is logged with a count.
// TestFullBufferWaits: past a full queue, Record waits for room instead of dropping; an entry whose request ends
// while it waits is dropped, counted in the metric and logged.
func TestFullBufferWaits(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	gate := newGate(st)
	logs := newLogSink()
	reg := prometheus.NewRegistry()
	l := audit.New(gate, audit.Options{Buffer: 10, Logger: slog.New(logs), Registerer: reg})
	start(t, l)

	l.Record(context.Background(), entry("held"))
	<-gate.entered
	for i := range 9 {
		l.Record(context.Background(), entry(fmt.Sprint(i))) // room for these: the held one and 9 fill the buffer
	}
	waited := make(chan struct{})
	go func() {
		l.Record(context.Background(), entry("waited")) // blocks until the held write frees room
		close(waited)
	}()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	l.Record(gone, entry("abandoned")) // its request ended: dropped at once
	select {
	case <-waited:
		t.Fatalf("Record returned while the queue was full")
	default:
	}
	close(gate.release)
	<-waited
	l.Flush()

	var written []string
	for _, e := range list(t, st) {
		written = append(written, e.EventTarget)
	}
	slices.Sort(written)
	if diff := cmp.Diff([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "held", "waited"}, written); diff != "" {
		t.Errorf("entries written (-want +got):\n%s", diff)
	}
	r := logs.waitFor(t, "audit entries dropped: the queue was full")
	if r.Level != slog.LevelError {
		t.Errorf("drop logged at %v, want ERROR", r.Level)
	}
	if d := attr(r, "dropped"); d.Kind() != slog.KindInt64 || d.Int64() != 1 {
		t.Errorf("drop logged with dropped=%v, want 1", d)
	}
	if got := counterValue(t, reg, "runplane_audit_entries_dropped_total"); got != 1 {
		t.Errorf("runplane_audit_entries_dropped_total = %v, want 1", got)
	}
}

// TestFullBufferMaxWait: an entry that cannot find room within MaxWait is dropped and counted.
func TestFullBufferMaxWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		l := audit.New(hangingStore{}, audit.Options{Buffer: 1, MaxWait: time.Second, Registerer: reg})
		l.Record(t.Context(), entry("queued")) // Run is not running: it stays queued
		begin := time.Now()
		l.Record(t.Context(), entry("dropped"))
		if took := time.Since(begin); took != time.Second {
			t.Errorf("Record with a full queue returned after %v, want MaxWait (1s)", took)
		}
		if got := counterValue(t, reg, "runplane_audit_entries_dropped_total"); got != 1 {
			t.Errorf("runplane_audit_entries_dropped_total = %v, want 1", got)
		}
	})
}

// counterValue is the value of the counter registered as name.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestRefusedLoginsCounted: refused logins of one user from one address within a window become one entry that
// says how many there were; another user or address gets its own.
func TestRefusedLoginsCounted(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	l := audit.New(st, audit.Options{Linger: time.Millisecond})
	start(t, l)
	refused := func(user, source string) api.AuditLog {
		return api.AuditLog{Username: user, Provider: api.ProviderLocal, EventType: "login", EventCategory: "auth",
			EventTarget: user, Status: api.AuditFailure, Reason: "too many failed logins", Source: source}
	}
	for range 500 {
		l.RecordRefused(context.Background(), refused("root", "10.0.0.1"))
	}
	l.RecordRefused(context.Background(), refused("root", "10.0.0.2"))
	l.RecordRefused(context.Background(), refused("alice", "10.0.0.1"))
	l.Flush()
	got := map[string]string{}
	for _, e := range list(t, st) {
		got[e.Username+"@"+e.Source] = e.Reason
	}
	if len(got) != 3 {
		t.Fatalf("entries = %v, want 3 (one per user and address)", got)
	}
	for key, n := range map[string]int{"root@10.0.0.1": 500, "root@10.0.0.2": 1, "alice@10.0.0.1": 1} {
		if want := fmt.Sprintf("too many failed logins (%d attempts refused from ", n); !strings.HasPrefix(got[key], want) {
			t.Errorf("entry %s reason %q, want it to start %q", key, got[key], want)
		}
	}
}

// TestBound: every text field is cut to its limit on a rune boundary; short fields are kept as they are.
func TestBound(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1<<19) // 1 MiB
	tests := []struct {
		name string
		in   api.AuditLog
		want api.AuditLog
	}{
		{"short kept", entry("x"), entry("x")},
		{"username", api.AuditLog{Username: long}, api.AuditLog{Username: strings.Repeat("é", 126) + "…"}},
		{"target", api.AuditLog{EventTarget: long}, api.AuditLog{EventTarget: strings.Repeat("é", 254) + "…"}},
		{"reason", api.AuditLog{Reason: strings.Repeat("a", 2000)}, api.AuditLog{Reason: strings.Repeat("a", 1021) + "…"}},
		{"NUL then cut", api.AuditLog{Source: strings.Repeat("\x00", 300)}, api.AuditLog{Source: strings.Repeat("\uFFFD", 84) + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, audit.Bound(tt.in)); diff != "" {
				t.Errorf("Bound (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzBound: whatever the input, every field comes out valid UTF-8, without NUL, within its limit.
func FuzzBound(f *testing.F) {
	f.Add("root", "10.0.0.1", "wrong password")
	f.Add(strings.Repeat("\xe2\x82", 200), "\x00", strings.Repeat("é", 600))
	f.Fuzz(func(t *testing.T, user, source, reason string) {
		e := audit.Bound(api.AuditLog{Username: user, Source: source, Reason: reason, EventTarget: user + reason})
		for name, v := range map[string]struct {
			s   string
			max int
		}{"username": {e.Username, audit.MaxField}, "source": {e.Source, audit.MaxField},
			"reason": {e.Reason, audit.MaxReason}, "target": {e.EventTarget, audit.MaxTarget}} {
			if len(v.s) > v.max || !utf8.ValidString(v.s) || strings.Contains(v.s, "\x00") {
				t.Errorf("Bound: %s = %q (%d bytes), want valid UTF-8 without NUL, at most %d bytes", name, v.s, len(v.s), v.max)
			}
		}
		if len(user) <= audit.MaxField && utf8.ValidString(user) && !strings.Contains(user, "\x00") && e.Username != user {
			t.Errorf("Bound changed a short clean username %q to %q", user, e.Username)
		}
	})
}

// TestRunFlushesOnCancel checks that entries queued when Run's context ends are written before Run returns.
// Run sees a queued entry and the end of its context at the same moment, and picks either first; the loop makes
// both orders happen.
func TestRunFlushesOnCancel(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	want := 0
	for i := range 20 {
		l := audit.New(st, audit.Options{})
		for j := range 3 {
			l.Record(context.Background(), entry(fmt.Sprintf("%d-%d", i, j)))
		}
		want += 3
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := l.Run(ctx); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if got := len(list(t, st)); got != want {
			t.Fatalf("round %d: ListAudit after Run returned = %d entries, want %d", i, got, want)
		}
	}
}

// TestRunFlushesOnCancelDuringWrite ends Run's context while a write is in flight and more entries are queued:
// those are written too, not handed to the store with the dead context.
func TestRunFlushesOnCancelDuringWrite(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	gate := newGate(st)
	l := audit.New(gate, audit.Options{Batch: 2})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	l.Record(context.Background(), entry("held"))
	<-gate.entered
	for i := range 5 {
		l.Record(context.Background(), entry(fmt.Sprint(i)))
	}
	cancel()
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := len(list(t, st)); got != 6 {
		t.Errorf("ListAudit after Run returned = %d entries, want 6", got)
	}
}

// TestStoreErrorIsNotFatal checks that a failed write is logged, its entries given up, and Run goes on writing
// later entries.
func TestStoreErrorIsNotFatal(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	fs := &failingStore{next: st}
	fs.fail.Store(true)
	logs := newLogSink()
	l := audit.New(fs, audit.Options{Logger: slog.New(logs)})
	start(t, l)

	l.Record(context.Background(), entry("lost"))
	l.Flush() // returns although the write failed
	r := logs.waitFor(t, "audit entries not written")
	if e := attr(r, "err"); e.Kind() != slog.KindAny || !errors.Is(e.Any().(error), errDiskFull) {
		t.Errorf("failure logged with err=%v, want %v", e, errDiskFull)
	}
	if n := attr(r, "entries"); n.Int64() != 1 {
		t.Errorf("failure logged with entries=%v, want 1", n)
	}

	fs.fail.Store(false)
	l.Record(context.Background(), entry("kept"))
	l.Flush()
	got := list(t, st)
	if len(got) != 1 || got[0].EventTarget != "kept" {
		t.Errorf("ListAudit = %+v, want only the entry recorded after the store recovered", got)
	}
}

// hangingStore injects a store that never answers: it returns only when its context ends.
type hangingStore struct{}

func (hangingStore) AppendAudit(ctx context.Context, _ ...api.AuditLog) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestShutdownGrace checks that Run's final flush gives a store that does not answer a short grace (5s) and then
// returns, logging what was not written, rather than holding up shutdown.
func TestShutdownGrace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		logs := newLogSink()
		l := audit.New(hangingStore{}, audit.Options{Logger: slog.New(logs)})
		l.Record(context.Background(), entry("x"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		begin := time.Now()
		if err := l.Run(ctx); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if took := time.Since(begin); took != 5*time.Second {
			t.Errorf("Run returned after %v, want the 5s grace", took)
		}
		r, ok := logs.find("audit entries not written")
		if !ok {
			t.Fatalf("the entries given up were not logged")
		}
		if e, _ := attr(r, "err").Any().(error); !errors.Is(e, context.DeadlineExceeded) {
			t.Errorf("failure logged with err=%v, want %v", e, context.DeadlineExceeded)
		}
	})
}

// TestLingerGathers checks that entries recorded within Options.Linger of the first one go to the store in one
// write, and not before the linger is over.
func TestLingerGathers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		count := &countingStore{next: st}
		l := audit.New(count, audit.Options{Linger: 100 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		for i := range 5 {
			l.Record(context.Background(), entry(fmt.Sprint(i)))
			time.Sleep(10 * time.Millisecond)
		}
		synctest.Wait()
		if got := count.sizes(); len(got) != 0 {
			t.Errorf("writes before the linger ended: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
		l.Flush()
		if diff := cmp.Diff([]int{5}, count.sizes()); diff != "" {
			t.Errorf("AppendAudit batch sizes (-want +got):\n%s", diff)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestRecordCleansText checks that text from requests (a failed login's username) reaches the store as valid
// UTF-8 without NUL bytes, which PostgreSQL would refuse with the whole batch.
func TestRecordCleansText(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	l := audit.New(st, audit.Options{Linger: time.Millisecond})
	start(t, l)
	e := entry("ok")
	e.Username = "ma\x00lory\xff"
	l.Record(context.Background(), e)
	l.Flush()
	got := list(t, st)
	if len(got) != 1 || got[0].Username != "ma\uFFFDlory\uFFFD" {
		t.Errorf("stored entries = %+v, want the username cleaned to %q", got, "ma\uFFFDlory\uFFFD")
	}
}

// poisonStore injects a store that refuses any write holding an entry with target "poison".
type poisonStore struct{ next audit.Store }

func (p poisonStore) AppendAudit(ctx context.Context, es ...api.AuditLog) error {
	for _, e := range es {
		if e.EventTarget == "poison" {
			return errDiskFull
		}
	}
	return p.next.AppendAudit(ctx, es...)
}

// TestRefusedEntryAlone: an entry the store refuses is dropped (counted, logged) without the batch it came in.
func TestRefusedEntryAlone(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	reg := prometheus.NewRegistry()
	logs := newLogSink()
	l := audit.New(poisonStore{st}, audit.Options{Logger: slog.New(logs), Registerer: reg})
	for _, target := range []string{"a", "poison", "b"} {
		l.Record(context.Background(), entry(target))
	}
	start(t, l)
	l.Flush()
	var written []string
	for _, e := range list(t, st) {
		written = append(written, e.EventTarget)
	}
	slices.Sort(written)
	if diff := cmp.Diff([]string{"a", "b"}, written); diff != "" {
		t.Errorf("entries written (-want +got):\n%s", diff)
	}
	if n := attr(logs.waitFor(t, "audit entries not written"), "entries"); n.Int64() != 1 {
		t.Errorf("failure logged with entries=%v, want 1", n)
	}
	if got := counterValue(t, reg, "runplane_audit_entries_dropped_total"); got != 1 {
		t.Errorf("runplane_audit_entries_dropped_total = %v, want 1", got)
	}
}
