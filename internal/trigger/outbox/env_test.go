package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store/sqlite"
	"github.com/runplane/runplane/internal/trigger/outbox"
)

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fastOptions deliver at a test's pace: polls every 5ms, backs off from 20ms to 160ms.
func fastOptions(log *slog.Logger) outbox.Options {
	return outbox.Options{Poll: 5 * time.Millisecond, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 160 * time.Millisecond, Timeout: 2 * time.Second, Batch: 4, Logger: log}
}

// logBuffer is a logger writing text to a buffer the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// runOutbox runs o until the returned stop is called or the test ends.
func runOutbox(t *testing.T, o *outbox.Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return 10s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// received is one request a receiver got.
type received struct {
	event  map[string]any
	header http.Header
	at     time.Time
}

// receiver is a sink: a real HTTP server on 127.0.0.1 that records what it is sent. status, when set, picks the
// status of the nth request (from 0); 0 means 200.
type receiver struct {
	srv    *httptest.Server
	status func(n int) int

	mu    sync.Mutex
	n     int
	got   []received // the requests answered 2xx
	tried []time.Time
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := r.n
	r.n++
	r.tried = append(r.tried, time.Now())
	r.mu.Unlock()
	code := http.StatusOK
	if r.status != nil && r.status(n) != 0 {
		code = r.status(n)
	}
	if code/100 != 2 {
		w.WriteHeader(code)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		ev = map[string]any{"unparsable": string(body)}
	}
	r.mu.Lock()
	r.got = append(r.got, received{event: ev, header: req.Header.Clone(), at: time.Now()})
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (r *receiver) events() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) attempts() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.tried...)
}

// ids returns the ids of the events received, in order.
func (r *receiver) ids() []string {
	var ids []string
	for _, g := range r.events() {
		id, _ := g.event["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// firstIDs is ids without repeats, in the order of their first arrival: what a receiver that deduplicates by the
// events' ids, as at-least-once delivery asks of it, keeps.
func (r *receiver) firstIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, id := range r.ids() {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// waitFor polls cond until it holds, failing the test after 15s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func createSink(t *testing.T, st *sqlite.Store, s api.EventSink) {
	t.Helper()
	if err := st.CreateEventSink(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address nothing listens on: a sink that is down.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
