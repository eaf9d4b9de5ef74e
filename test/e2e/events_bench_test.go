package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

const (
	benchRuleSets = 100 // rule sets loaded while events are dispatched
	eventsRoundN  = 200 // events (and, beside them, jobs) per round
)

// BenchmarkEventsDispatch measures CloudEvents accepted and dispatched per second with 100 rule sets loaded,
// beside plain asynchronous job submissions per second, in alternate rounds on one server (issue 14, item 7:
// target ≥ 0.8×). A round posts 200 events (binary mode, one per request) from fanClients clients; each event's
// type is matched by exactly one of the 100 rule sets (each also tried against the other 99), whose action runs
// `true` as a one-step run. "Dispatched" is: the event accepted (202, stored) → the dispatcher matched it
// against every rule set → its action's run created (queued, through the same entry point as a run started by
// hand); the round's time ends when the 200th run exists. The baseline round submits 200 async jobs of `true`
// and ends when the 200th submission is answered (the job exists, queued). Between rounds (untimed) every job
// and run of the round finishes, so the next starts from an idle engine.
// Run: go test -run '^$' -bench EventsDispatch -benchtime 3x ./test/e2e/
func BenchmarkEventsDispatch(b *testing.B) {
	srv, c := benchServer(b, api.Task{Name: "true-async", Command: "true"})
	ctx := context.Background()
	for i := range benchRuleSets {
		rs := api.EventRules{Name: fmt.Sprintf("rules-%03d", i), APIVersion: "v2", Actions: []api.KeptnAction{{
			Name:   "run",
			Events: []api.KeptnEvent{{Name: fmt.Sprintf(`^dev\.bench\.t%03d$`, i)}},
			Tasks:  []api.KeptnTask{{Name: "true", Image: "alpine", Cmd: []string{"true"}}},
		}}}
		if _, err := c.CreateEventRules(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	poster := newEventPoster(srv.url, c.Token())
	var ev, jobs rates
	for round := range b.N {
		ev.add(eventsRound(b, srv, c, poster, round))
		jobs.add(submitRound(b, srv, c))
	}
	n := float64(b.N)
	b.ReportMetric(ev.accepted/n, "events-accepted/s")
	b.ReportMetric(ev.dispatched/n, "events-dispatched/s")
	b.ReportMetric(ev.done/n, "events-done/s")
	b.ReportMetric(jobs.accepted/n, "jobs-accepted/s")
	b.ReportMetric(jobs.done/n, "jobs-done/s")
	b.ReportMetric(ev.dispatched/jobs.accepted, "dispatched-vs-jobs")
	b.ReportMetric(ev.accepted/jobs.accepted, "accepted-vs-jobs")
	b.ReportMetric(ev.done/jobs.done, "done-vs-jobs")
	b.ReportMetric(0, "ns/op")
}

// rates are one round's items per second until the last was accepted (202), dispatched (its run exists: events
// only) and done (its job or run finished).
type rates struct{ accepted, dispatched, done float64 }

func (r *rates) add(x rates) {
	r.accepted, r.dispatched, r.done = r.accepted+x.accepted, r.dispatched+x.dispatched, r.done+x.done
}

// eventsRound posts eventsRoundN events and measures them until each one's run exists and until every run ended;
// it checks each event started exactly one run, which succeeded.
func eventsRound(b *testing.B, srv *serverProc, c *client.Client, p *eventPoster, round int) rates {
	ctx := context.Background()
	_, before, err := c.ListRunsPage(ctx, client.RunListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	fanOut(b, eventsRoundN, func(i int) error {
		return p.post(ctx, fmt.Sprintf("r%d-e%d", round, i), fmt.Sprintf("dev.bench.t%03d", i%benchRuleSets), "bench", `{"n":1}`)
	})
	var r rates
	r.accepted = eventsRoundN / time.Since(start).Seconds()
	for {
		_, n, err := c.ListRunsPage(ctx, client.RunListOptions{Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if n >= before+eventsRoundN {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.dispatched = eventsRoundN / time.Since(start).Seconds()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, live, err := c.ListRunsPage(ctx, client.RunListOptions{Status: []api.RunStatus{api.RunQueued, api.RunRunning}, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if live == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d runs still live 5m after the round", live)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.done = eventsRoundN / time.Since(start).Seconds()
	runs, err := c.AllRuns(ctx, client.RunListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range runs {
		if r.Trigger != nil && strings.HasPrefix(r.Trigger.Delivery, fmt.Sprintf("r%d-", round)) {
			seen[r.Trigger.Delivery]++
			if r.Status != api.RunSucceeded {
				b.Fatalf("run %s of event %s: %s %s", r.ID, r.Trigger.Delivery, r.Status, r.Reason)
			}
		}
	}
	for i := range eventsRoundN {
		if id := fmt.Sprintf("r%d-e%d", round, i); seen[id] != 1 {
			b.Fatalf("event %s started %d runs, want 1", id, seen[id])
		}
	}
	return r
}

// submitRound submits eventsRoundN async jobs and measures them until the last is answered (the job exists,
// queued) and until all finished; it checks each succeeded.
func submitRound(b *testing.B, srv *serverProc, c *client.Client) rates {
	ctx := context.Background()
	before := finishedJobs(b, srv.url)
	ids := make([]string, eventsRoundN)
	zero := time.Duration(0)
	start := time.Now()
	fanOut(b, eventsRoundN, func(i int) error {
		j, _, err := c.Submit(ctx, "true-async", nil, client.SubmitOptions{Wait: &zero})
		ids[i] = j.ID
		return err
	})
	var r rates
	r.accepted = eventsRoundN / time.Since(start).Seconds()
	for finishedJobs(b, srv.url) < before+eventsRoundN {
		time.Sleep(20 * time.Millisecond)
	}
	r.done = eventsRoundN / time.Since(start).Seconds()
	fanOut(b, eventsRoundN, func(i int) error {
		j, err := c.GetJob(ctx, ids[i])
		if err == nil && j.Status != api.JobSucceeded {
			err = fmt.Errorf("job %s: %s %s", j.ID, j.Status, j.Reason)
		}
		return err
	})
	return r
}

// eventPoster posts CloudEvents in binary mode, as a client of POST /api/v1/events would.
type eventPoster struct {
	url, token string
	hc         *http.Client
}

func newEventPoster(url, token string) *eventPoster {
	return &eventPoster{url: url, token: token, hc: &http.Client{Timeout: time.Minute}}
}

// post posts one event and fails unless it is accepted (202).
func (p *eventPoster) post(ctx context.Context, id, typ, source, data string) error {
	_, err := p.try(ctx, id, typ, source, data)
	return err
}

// try posts one event and answers its status; an error for a status other than 202, or none.
func (p *eventPoster) try(ctx context.Context, id, typ, source, data string) (int, error) {
	r, err := http.NewRequestWithContext(ctx, "POST", p.url+"/api/v1/events", strings.NewReader(data))
	if err != nil {
		return 0, err
	}
	r.Header.Set("Authorization", "Bearer "+p.token)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("ce-specversion", "1.0")
	r.Header.Set("ce-id", id)
	r.Header.Set("ce-source", source)
	r.Header.Set("ce-type", typ)
	res, err := p.hc.Do(r)
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return res.StatusCode, fmt.Errorf("event %s: %d %s", id, res.StatusCode, body)
	}
	return res.StatusCode, nil
}
