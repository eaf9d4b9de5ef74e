package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// BenchmarkSyncSinks is BenchmarkSync on two servers of this binary, interleaved: one with no event sink and one
// with two — a receiver that answers and a dead one (nothing listens) — so every job also writes its two events to
// the outbox and they are delivered meanwhile. It reports both p50s and their ratio: what events out cost the job
// engine's hot path, dead sink included.
// Run: go test -run '^$' -bench SyncSinks -benchtime 300x ./test/e2e/
func BenchmarkSyncSinks(b *testing.B) {
	task := api.Task{Name: "true", Command: "true", Synchronous: true}
	_, plain := benchServer(b, task)
	_, sinks := benchServer(b, task)
	var received atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { received.Add(1) }))
	b.Cleanup(rcv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/events"
	ln.Close()
	ctx := context.Background()
	for _, s := range []api.EventSink{{Name: "live", URL: rcv.URL}, {Name: "dead", URL: dead}} {
		if _, err := sinks.CreateEventSink(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	targets := []*client.Client{plain, sinks}
	for _, c := range targets {
		for range 5 {
			if _, _, err := c.Submit(ctx, "true", nil, client.SubmitOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	times := make([][]time.Duration, len(targets))
	b.ResetTimer()
	for range b.N {
		for i, c := range targets {
			t0 := time.Now()
			j, finished, err := c.Submit(ctx, "true", nil, client.SubmitOptions{})
			if err != nil || !finished || j.Status != api.JobSucceeded {
				b.Fatalf("sync job = %+v finished %v, %v", j, finished, err)
			}
			times[i] = append(times[i], time.Since(t0))
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(times[0], .5)), "no-sink-p50-ms")
	b.ReportMetric(ms(percentile(times[1], .5)), "sinks-p50-ms")
	b.ReportMetric(ms(percentile(times[1], .99)), "sinks-p99-ms")
	b.ReportMetric(float64(percentile(times[1], .5))/float64(percentile(times[0], .5)), "p50-sinks-vs-none")
	// Every job's two events reach the live sink; wait for them, so a delivery that is lost fails the run.
	want := int64(2 * (b.N + 5))
	deadline := time.Now().Add(time.Minute)
	for received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("the live sink received %d events, want %d", received.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
