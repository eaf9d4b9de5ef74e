package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// sinkDown is how long the sink of TestSinkDown30s refuses connections (issue 14, item 7).
const sinkDown = 30 * time.Second

// TestSinkDown30s: an event sink whose receiver is down for 30 s — nothing listens on its port, so each delivery
// is refused — while jobs run and change state, receives every event once it is back: each job's started and
// succeeded events, by id. The outbox's real backoff applies (1 s doubling; it is not configurable), so the
// first delivery after the sink is back comes within about 30 s more. Duplicates are what at-least-once permits
// (a delivery whose answer was lost is sent again); they are counted and logged, not failed.
func TestSinkDown30s(t *testing.T) {
	t.Parallel()
	// The receiver's port: taken, then freed, so that deliveries are refused until the receiver listens on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	srv := startServe(t, t.TempDir(), "--isolation", "none")
	c := login(t, srv.url)
	ctx := t.Context()
	repo := gittest.URL(gittest.NewRepo(t, map[string]string{"README": "sink down\n"}))
	if _, err := c.CreateRunner(ctx, api.Runner{Name: "r", GitURL: repo}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTask(ctx, api.Task{Name: "mark", Runner: "r", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEventSink(ctx, api.EventSink{Name: "ops", URL: "http://" + addr + "/events",
		Types: []string{"dev.runplane.job."}}); err != nil {
		t.Fatal(err)
	}
	down := time.Now()

	// A stream of jobs while the sink is down: one every second for 20 s, each with two events to deliver.
	var want []string
	for range 20 {
		j, _, err := c.Submit(ctx, "mark", nil, client.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, "job/"+j.ID+"/started", "job/"+j.ID+"/succeeded")
		time.Sleep(time.Second) // the stream's pace, not a wait for state
	}
	waitFor(t, "every job to finish", time.Minute, func() (bool, error) {
		_, live, err := c.ListJobsPage(ctx, client.JobListOptions{Status: []api.JobStatus{api.JobQueued, api.JobRunning}, Limit: 1})
		return live == 0, err
	})
	failures, err := metric(srv.url, "runplane_events_delivery_failures_total")
	if err != nil {
		t.Fatal(err)
	}
	if failures == 0 {
		t.Fatalf("no delivery failed while the sink was down")
	}

	// Back up after 30 s: a receiver on the same port records each event's id.
	time.Sleep(time.Until(down.Add(sinkDown)))
	var (
		mu   sync.Mutex
		got  = map[string]int{}
		seen = map[string]string{} // id → source
	)
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the sink's port %s was taken meanwhile: %v", addr, err)
	}
	back := time.Now()
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct{ ID, Source string }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &e); err != nil || e.ID == "" {
			t.Errorf("the sink received %q, not a structured CloudEvent", b)
		}
		mu.Lock()
		got[e.ID]++
		seen[e.ID] = e.Source
		mu.Unlock()
	})}
	go rcv.Serve(ln)
	t.Cleanup(func() { rcv.Close() })

	waitFor(t, "every event at the sink once it is back", 2*time.Minute, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range want {
			if got[id] == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for id, n := range got {
		dups += n - 1
		if seen[id] == "" {
			t.Errorf("event %s came without a source", id)
		}
	}
	t.Logf("sink down %v with %d failed deliveries; all %d events arrived %v after it was back, %d duplicates",
		back.Sub(down).Round(time.Second), int(failures), len(want), time.Since(back).Round(time.Second), dups)
}
