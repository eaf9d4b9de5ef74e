package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

const benchRuleSets = 100 // rule sets loaded while events are dispatched

// eventsRoundN is how many events (and, beside them, jobs) a round posts: 200, or RUNPLANE_BENCH_EVENTS_ROUND.
// A round of 200 lasts 0.1–0.3 s on the 2-vCPU VM, where one pause of the machine's other work moves its rate by a
// fifth; longer rounds average more of it out (the CPU figures stay per 200).
var eventsRoundN = func() int {
	if n, err := strconv.Atoi(os.Getenv("RUNPLANE_BENCH_EVENTS_ROUND")); err == nil && n > 0 {
		return n
	}
	return 200
}()

// per200 is a round's CPU time in ms as for 200 items.
func per200(ms float64) float64 { return ms * 200 / float64(eventsRoundN) }

// BenchmarkEventsDispatch measures CloudEvents accepted and dispatched per second with 100 rule sets loaded,
// beside plain asynchronous job submissions per second, in alternate rounds on one server (issue 14, item 7:
// target ≥ 0.8×). A round posts 200 events (binary mode, one per request) from fanClients clients; each event's
// type is matched by exactly one of the 100 rule sets (each also tried against the other 99), whose action runs
// `true` as a one-step run. "Dispatched" is: the event accepted (202, stored) → the dispatcher matched it
// against every rule set → its action's run created with its job (queued, through the same entry point as a run
// started by hand) → the event marked dispatched. The round's dispatch time ends at the last event's dispatch
// mark, as the server recorded it (the events' dispatch_time, read once the round is over): nothing polls the
// server while it dispatches. The baseline round submits 200 async jobs of `true` and ends when the 200th
// submission is answered (the job exists, queued). In both, the jobs (the runs' jobs) run meanwhile, as they
// come; both rounds then wait, polling the finished-jobs metric every 100 ms, until every job has finished (the
// "done" rates), and check every job and run succeeded (untimed), so the next round starts from an idle engine.
// Run: go test -run '^$' -bench EventsDispatch -benchtime 5x ./test/e2e/
// With RUNPLANE_BENCH_BASELINE naming another runplane binary, a server of it is measured too, its rounds
// alternating with this one's (its metrics prefixed baseline-); each target also reports the median of its
// rounds' ratios, which one round slowed by the machine's other work moves less than the mean.
// With RUNPLANE_E2E_TAGS=pprof RUNPLANE_BENCH_ENV=RUNPLANE_PPROF_ADDR=127.0.0.1:6061 the server serves
// net/http/pprof there, e.g. for `curl 127.0.0.1:6061/debug/pprof/profile?seconds=30` during the rounds.
func BenchmarkEventsDispatch(b *testing.B) {
	targets := benchTargets(b, api.Task{Name: "true-async", Command: "true"})
	ctx := context.Background()
	for _, tg := range targets {
		for i := range benchRuleSets {
			rs := api.EventRules{Name: fmt.Sprintf("rules-%03d", i), APIVersion: "v2", Actions: []api.KeptnAction{{
				Name:   "run",
				Events: []api.KeptnEvent{{Name: fmt.Sprintf(`^dev\.bench\.t%03d$`, i)}},
				Tasks:  []api.KeptnTask{{Name: "true", Image: "alpine", Cmd: []string{"true"}}},
			}}}
			if _, err := tg.c.CreateEventRules(ctx, rs); err != nil {
				b.Fatal(err)
			}
		}
	}
	posters := make([]*eventPoster, len(targets))
	for i, tg := range targets {
		posters[i] = newEventPoster(tg.srv.url, tg.c.Token())
	}
	ev, jobs := make([]rates, len(targets)), make([]rates, len(targets))
	ratios := make([][]float64, len(targets)) // each round's dispatched-vs-jobs, per target
	for round := range b.N {
		// With a baseline, its rounds come right beside this binary's, so both see the same minute of the machine;
		// which one goes first alternates from round to round.
		for k := range targets {
			i := k
			if round%2 == 1 {
				i = len(targets) - 1 - k
			}
			tg := targets[i]
			e, j := eventsRound(b, tg.srv, tg.c, posters[i], round), submitRound(b, tg.srv, tg.c)
			ev[i].add(e)
			jobs[i].add(j)
			ratios[i] = append(ratios[i], e.dispatched/j.accepted)
		}
	}
	n := float64(b.N)
	for i, tg := range targets {
		ev, jobs := ev[i], jobs[i]
		b.ReportMetric(ev.accepted/n, tg.name+"events-accepted/s")
		b.ReportMetric(ev.dispatched/n, tg.name+"events-dispatched/s")
		b.ReportMetric(ev.done/n, tg.name+"events-done/s")
		b.ReportMetric(jobs.accepted/n, tg.name+"jobs-accepted/s")
		b.ReportMetric(jobs.done/n, tg.name+"jobs-done/s")
		b.ReportMetric(ev.dispatched/jobs.accepted, tg.name+"dispatched-vs-jobs")
		b.ReportMetric(ev.accepted/jobs.accepted, tg.name+"accepted-vs-jobs")
		b.ReportMetric(ev.done/jobs.done, tg.name+"done-vs-jobs")
		b.ReportMetric(ev.cpuAccept/n, tg.name+"server-cpu-ms/200-events-accepted")
		b.ReportMetric(jobs.cpuAccept/n, tg.name+"server-cpu-ms/200-jobs-accepted")
		b.ReportMetric(ev.cpuDone/n, tg.name+"server-cpu-ms/200-events-done")
		b.ReportMetric(jobs.cpuDone/n, tg.name+"server-cpu-ms/200-jobs-done")
		b.ReportMetric(medianOf(ratios[i]), tg.name+"median-round-dispatched-vs-jobs")
	}
	b.ReportMetric(0, "ns/op")
}

// medianOf is the middle of v (the mean of the two middle values of an even count).
func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rates are one round's items per second until the last was accepted (202), dispatched (its run exists and the
// event is marked: events only) and done (its job finished); and the CPU time the server process (with the jobs'
// processes it reaped) spent from the round's start until the last was accepted, and until all were done, in ms.
type rates struct{ accepted, dispatched, done, cpuAccept, cpuDone float64 }

func (r *rates) add(x rates) {
	r.accepted, r.dispatched, r.done = r.accepted+x.accepted, r.dispatched+x.dispatched, r.done+x.done
	r.cpuAccept, r.cpuDone = r.cpuAccept+x.cpuAccept, r.cpuDone+x.cpuDone
}

// cpuMS is the CPU time process pid and its reaped children used so far, in ms (Linux's /proc/<pid>/stat).
func cpuMS(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// After the command name, which ends at the last ')': state is field 3, utime..cstime are fields 14..17.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	ticks := 0.0
	for _, s := range f[11:15] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += v
	}
	return ticks * 10 // USER_HZ is 100 on Linux
}

// donePoll is how often a round looks whether its jobs have finished: sparsely, as it costs the server CPU.
const donePoll = 100 * time.Millisecond

// eventsRound posts eventsRoundN events (source bench-r<round>) and measures them until each one is dispatched
// and until every run's job finished; it checks each event started exactly one run, which succeeded.
func eventsRound(b *testing.B, srv *serverProc, c *client.Client, p *eventPoster, round int) rates {
	ctx := context.Background()
	source := fmt.Sprintf("bench-r%d", round)
	before := finishedJobs(b, srv.url)
	pid := srv.cmd.Process.Pid
	cpu0 := cpuMS(b, pid)
	start := time.Now()
	fanOut(b, eventsRoundN, func(i int) error {
		return p.post(ctx, fmt.Sprintf("r%d-e%d", round, i), fmt.Sprintf("dev.bench.t%03d", i%benchRuleSets), source, `{"n":1}`)
	})
	var r rates
	r.accepted = float64(eventsRoundN) / time.Since(start).Seconds()
	r.cpuAccept = per200(cpuMS(b, pid) - cpu0)
	for finishedJobs(b, srv.url) < before+eventsRoundN {
		time.Sleep(donePoll)
	}
	r.done = float64(eventsRoundN) / time.Since(start).Seconds()
	r.cpuDone = per200(cpuMS(b, pid) - cpu0)
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
		time.Sleep(donePoll)
	}
	last, err := p.lastDispatch(ctx, source, eventsRoundN)
	if err != nil {
		b.Fatal(err)
	}
	r.dispatched = float64(eventsRoundN) / last.Sub(start).Seconds()
	runs, err := c.AllRuns(ctx, client.RunListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range runs {
		if r.Trigger != nil && r.Trigger.Source == source {
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
	pid := srv.cmd.Process.Pid
	cpu0 := cpuMS(b, pid)
	start := time.Now()
	fanOut(b, eventsRoundN, func(i int) error {
		j, _, err := c.Submit(ctx, "true-async", nil, client.SubmitOptions{Wait: &zero})
		ids[i] = j.ID
		return err
	})
	var r rates
	r.accepted = float64(eventsRoundN) / time.Since(start).Seconds()
	r.cpuAccept = per200(cpuMS(b, pid) - cpu0)
	for finishedJobs(b, srv.url) < before+eventsRoundN {
		time.Sleep(donePoll)
	}
	r.done = float64(eventsRoundN) / time.Since(start).Seconds()
	r.cpuDone = per200(cpuMS(b, pid) - cpu0)
	fanOut(b, eventsRoundN, func(i int) error {
		j, err := c.GetJob(ctx, ids[i])
		if err == nil && j.Status != api.JobSucceeded {
			err = fmt.Errorf("job %s: %s %s", j.ID, j.Status, j.Reason)
		}
		return err
	})
	return r
}

// lastDispatch reads the n events of source and returns the latest of their dispatch times; an error unless
// there are n, each dispatched.
func (p *eventPoster) lastDispatch(ctx context.Context, source string, n int) (time.Time, error) {
	r, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/events?source=%s&limit=%d", p.url, source, 2*n), nil)
	if err != nil {
		return time.Time{}, err
	}
	r.Header.Set("Authorization", "Bearer "+p.token)
	res, err := p.hc.Do(r)
	if err != nil {
		return time.Time{}, err
	}
	defer res.Body.Close()
	var list []api.Event
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		return time.Time{}, fmt.Errorf("list events of %s: %d: %w", source, res.StatusCode, err)
	}
	if len(list) != n {
		return time.Time{}, fmt.Errorf("events of %s: %d, want %d", source, len(list), n)
	}
	var last time.Time
	for _, e := range list {
		if e.DispatchTime == nil {
			return time.Time{}, fmt.Errorf("event %s of %s not dispatched", e.ID, source)
		}
		if e.DispatchTime.After(last) {
			last = *e.DispatchTime
		}
	}
	return last, nil
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
