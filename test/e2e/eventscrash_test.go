package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// TestEventsCrashSafety kills the server (SIGKILL, SQLite) under a stream of CloudEvents and webhook deliveries,
// restarts it, and has every sender retry what it sent (as senders do when the answer never came): no accepted
// (202) event and no accepted (200) delivery is lost, a retry answers what the first delivery started, and no
// action runs twice — each event starts one run, each delivery one job, and each of those ran at most once (once
// if it succeeded; one cut by the crash ends failed "orphaned").
func TestEventsCrashSafety(t *testing.T) {
	data := t.TempDir()
	srv := startServe(t, data, "--isolation", "none")
	eventsCrash(t, []*serverProc{srv}, func() *serverProc { return startServe(t, data, "--isolation", "none") })
}

// TestEventsReplicaCrash is TestEventsCrashSafety on PostgreSQL with two replicas, the senders spread over both:
// one is killed, and the other dispatches what it left and answers the retries.
func TestEventsReplicaCrash(t *testing.T) {
	rs := newReplicaSet(t, pgtest.NewDatabase(t), testLease, hostFiles)
	rs.start(t, 2)
	eventsCrash(t, rs.srvs, func() *serverProc { return rs.srvs[1] })
}

// eventsCrash sends events and webhook deliveries to srvs, kills srvs[0] once enough are accepted, and checks
// what after (the restarted server, or a surviving replica) makes of them.
func eventsCrash(t *testing.T, srvs []*serverProc, after func() *serverProc) {
	marks := t.TempDir() // each action appends "ev <event id>" or "wh <job id>" here
	ran := filepath.Join(marks, "ran")
	srv := srvs[0]
	c := login(t, srv.url)
	ctx := t.Context()
	repo := gittest.URL(gittest.NewRepo(t, map[string]string{"README": "events crash\n"}))
	if _, err := c.CreateRunner(ctx, api.Runner{Name: "r", GitURL: repo}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTask(ctx, api.Task{Name: "hook", Runner: "r",
		Command: fmt.Sprintf(`echo "wh $RUNPLANE_JOB_ID" >> %s; sleep 0.2`, ran)}); err != nil {
		t.Fatal(err)
	}
	const secret = "crash-test-shared-key"
	hook, err := c.CreateWebhook(ctx, api.Webhook{Task: "hook", Secret: secret, Scheme: api.WebhookSchemeInfrahub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEventRules(ctx, api.EventRules{Name: "crash", APIVersion: "v2", Actions: []api.KeptnAction{{
		Name:   "mark",
		Events: []api.KeptnEvent{{Name: `^dev\.crash\.`}},
		Tasks: []api.KeptnTask{{Name: "mark", Image: "alpine", Env: []api.KeptnEnv{{Name: "EID", Value: "$.id", ValueFrom: "event"}},
			Cmd: []string{"sh", "-c", fmt.Sprintf(`echo "ev $EID" >> %s; sleep 0.2`, ran)}}},
	}}}); err != nil {
		t.Fatal(err)
	}

	// 4 event senders and 2 webhook senders; the server is killed once 40 events and 15 deliveries are accepted.
	var (
		mu         sync.Mutex
		sentEvents []string
		accEvents  = map[string]bool{}
		sentHooks  []string
		accHooks   = map[string]string{} // delivery id → job id
		wg         sync.WaitGroup
		gone       atomic.Bool
	)
	killed := make(chan struct{})
	var once sync.Once
	maybeKill := func() {
		if len(accEvents) >= 40 && len(accHooks) >= 15 {
			once.Do(func() { gone.Store(true); srv.kill(); close(killed) })
		}
	}
	posters := make([]*eventPoster, len(srvs))
	for i, x := range srvs {
		posters[i] = newEventPoster(x.url, c.Token())
	}
	for w := range 4 {
		poster := posters[w%len(srvs)]
		wg.Go(func() {
			for i := 0; i < 200 && !gone.Load(); i++ {
				id := fmt.Sprintf("ev-%d-%d", w, i)
				mu.Lock()
				sentEvents = append(sentEvents, id)
				mu.Unlock()
				if err := poster.post(ctx, id, "dev.crash.tick", "crash-test", `{"n":1}`); err != nil {
					return // not accepted: the server is gone
				}
				mu.Lock()
				accEvents[id] = true
				maybeKill()
				mu.Unlock()
			}
		})
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	for w := range 2 {
		wg.Go(func() {
			for i := 0; i < 100 && !gone.Load(); i++ {
				id := fmt.Sprintf("msg_%d_%d", w, i)
				mu.Lock()
				sentHooks = append(sentHooks, id)
				mu.Unlock()
				job, err := deliverSigned(ctx, hc, srvs[w%len(srvs)].url, hook.ID, secret, id)
				if err != nil {
					return
				}
				mu.Lock()
				accHooks[id] = job
				maybeKill()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d events and %d deliveries accepted before the senders ended", len(accEvents), len(accHooks))
	}
	if len(srvs) == 1 {
		waitFor(t, "the killed server's job processes to exit", 10*time.Second, func() (bool, error) {
			return len(processesMentioning(marks)) == 0, nil
		})
	}

	srv2 := after()
	c2 := login(t, srv2.url)
	// Before any sender retries: every accepted event is stored and every accepted delivery's job exists.
	for id := range accEvents {
		var e api.Event
		if err := getWithToken(ctx, srv2.url+"/api/v1/events/"+id+"?source=crash-test", c2.Token(), &e); err != nil || e.ID != id {
			t.Errorf("accepted event %s after the kill: %+v, %v", id, e, err)
		}
	}
	for id, job := range accHooks {
		if _, err := c2.GetJob(ctx, job); err != nil {
			t.Errorf("accepted delivery %s's job %s after the kill: %v", id, job, err)
		}
	}
	poster := newEventPoster(srv2.url, c2.Token())
	// Every sender retries everything it sent; an accepted one is a duplicate, answered with what it started.
	for _, id := range sentEvents {
		if err := poster.post(ctx, id, "dev.crash.tick", "crash-test", `{"n":1}`); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	jobOf := map[string]string{}
	for _, id := range sentHooks {
		job, err := deliverSigned(ctx, hc, srv2.url, hook.ID, secret, id)
		if err != nil {
			t.Fatalf("retry delivery %s: %v", id, err)
		}
		if first, ok := accHooks[id]; ok && first != job {
			t.Errorf("delivery %s retried answered job %s, want the first answer's %s", id, job, first)
		}
		jobOf[id] = job
	}

	var runs []api.Run
	waitFor(t, "a final run for every event", 3*time.Minute, func() (bool, error) {
		var err error
		if runs, err = c2.AllRuns(ctx, client.RunListOptions{Workflow: "crash"}); err != nil {
			return false, err
		}
		final := 0
		for _, r := range runs {
			if r.Status.Final() {
				final++
			}
		}
		return final == len(runs) && len(runs) >= len(sentEvents), nil
	})
	waitFor(t, "every job to be final", 3*time.Minute, func() (bool, error) {
		_, live, err := c2.ListJobsPage(ctx, client.JobListOptions{Status: []api.JobStatus{api.JobQueued, api.JobRunning}, Limit: 1})
		return live == 0, err
	})

	times := map[string]int{}
	b, _ := os.ReadFile(ran)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		times[line]++
	}
	runsOf := map[string][]api.Run{}
	for _, r := range runs {
		if r.Trigger == nil {
			t.Fatalf("run %s has no trigger", r.ID)
		}
		runsOf[r.Trigger.Delivery] = append(runsOf[r.Trigger.Delivery], r)
	}
	var evOK, evOrphaned int
	for _, id := range sentEvents {
		rs := runsOf[id]
		if len(rs) != 1 {
			t.Errorf("event %s (accepted before the crash: %v) started %d runs, want 1", id, accEvents[id], len(rs))
			continue
		}
		switch n := times["ev "+id]; {
		case rs[0].Status == api.RunSucceeded && n == 1:
			evOK++
		case rs[0].Status == api.RunFailed && n <= 1 && strings.Contains(rs[0].Reason+stepMessages(rs[0]), "orphaned"):
			evOrphaned++
		default:
			t.Errorf("event %s: run %s %s %q, its action ran %d times", id, rs[0].ID, rs[0].Status, rs[0].Reason, n)
		}
	}
	var hookOK, hookOrphaned int
	for _, id := range sentHooks {
		j, err := c2.GetJob(ctx, jobOf[id])
		if err != nil {
			t.Errorf("delivery %s's job %s: %v", id, jobOf[id], err)
			continue
		}
		switch n := times["wh "+j.ID]; {
		case j.Status == api.JobSucceeded && n == 1:
			hookOK++
		case j.Status == api.JobFailed && j.Reason == api.ReasonOrphaned && n <= 1:
			hookOrphaned++
		default:
			t.Errorf("delivery %s: job %s %s %q ran %d times", id, j.ID, j.Status, j.Reason, n)
		}
	}
	for line, n := range times {
		if n > 1 {
			t.Errorf("%q ran %d times", line, n)
		}
	}
	t.Logf("events: %d sent, %d accepted before the crash; runs succeeded %d, orphaned %d", len(sentEvents), len(accEvents), evOK, evOrphaned)
	t.Logf("deliveries: %d sent, %d accepted before the crash; jobs succeeded %d, orphaned %d", len(sentHooks), len(accHooks), hookOK, hookOrphaned)
	srv2.stop(t)
}

// getWithToken GETs url with token and decodes the answer; an error unless it is 200.
func getWithToken(ctx context.Context, url, token string, v any) error {
	r, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// stepMessages joins the messages of a run's steps.
func stepMessages(r api.Run) string {
	var s []string
	for _, st := range r.Steps {
		s = append(s, st.Message)
	}
	return strings.Join(s, " ")
}

// deliverSigned sends a webhook delivery signed as Infrahub (Standard Webhooks) signs it and returns the job it
// started; an error unless the answer is 200.
func deliverSigned(ctx context.Context, hc *http.Client, url, hook, secret, id string) (string, error) {
	body := `{"data":{"kind":"InfraDevice","action":"updated"},"event":"infrahub.node.updated"}`
	r, err := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/webhooks/run/"+hook, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + ts + "." + body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", ts)
	r.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	res, err := hc.Do(r)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("delivery %s: %d %s", id, res.StatusCode, b)
	}
	var created api.JobCreated
	if err := json.Unmarshal(b, &created); err != nil || created.ID == "" {
		return "", fmt.Errorf("delivery %s: answer %s: %v", id, b, err)
	}
	return created.ID, nil
}
