package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// outage is how long the database stays down: longer than the replicas' leases, so that they must sort out
// whose jobs are whose when it is back.
const outage = 3 * time.Second

// TestDatabaseRestart takes the database away under load and brings it back, twice: shut down as an administrator
// would, then killed as a crash would. Meanwhile clients get a clear, retryable answer at once: 503 with a JSON
// message. The replicas reconnect on their own; every job ends, succeeded ones ran exactly once, none is lost; and
// afterwards a synchronous request to one replica returns the job another ran.
func TestDatabaseRestart(t *testing.T) {
	pg := pgtest.NewServer(t)
	rs := newReplicaSet(t, pg.CreateDatabase(t), testLease, hostFiles)
	rs.start(t, 1, "--max-concurrent-jobs", "1") // one slot, so that occupy can make it busy at the end
	rs.start(t, 2)
	marks := t.TempDir()
	ran := filepath.Join(marks, "ran")
	block, blockMark := sleepTask("block")
	createTasks(t, rs.clients[0], api.Task{Name: "mark", Command: markCommand(ran, "sleep 0.05")}, block, quickTask)

	var (
		mu       sync.Mutex
		failures []error
		accepted atomic.Int64
	)
	l := &load{rs: rs, task: "mark", pace: 2 * time.Millisecond,
		failed: func(i int, err error) bool {
			mu.Lock()
			failures = append(failures, fmt.Errorf("replica %d: %w", i, err))
			mu.Unlock()
			time.Sleep(100 * time.Millisecond) // the pause of a client before it tries again
			return true
		},
		accepted: func(n int) { accepted.Store(int64(n)) },
	}
	ctx, stopLoad := context.WithCancel(t.Context())
	defer stopLoad()
	var ids []string
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		ids = l.run(ctx, t, 1<<30)
	}()
	progress := func(what string) {
		t.Helper()
		target := accepted.Load() + 300
		waitFor(t, what, time.Minute, func() (bool, error) { return accepted.Load() >= target, nil })
	}

	for _, o := range []struct {
		name string
		down func(testing.TB)
	}{{"stopped", pg.Stop}, {"killed", pg.Kill}} {
		progress("jobs accepted before the database is " + o.name)
		o.down(t)
		downAt := time.Now()
		probeDown(t, rs, o.name)
		time.Sleep(time.Until(downAt.Add(outage)))
		pg.Restart(t)
		t.Logf("database %s at %d jobs accepted, back after %v", o.name, accepted.Load(), time.Since(downAt).Round(time.Millisecond))
		progress("jobs accepted after the database " + o.name + " is back")
	}
	stopLoad()
	<-loaded
	for i, s := range rs.srvs {
		select {
		case <-s.exited:
			t.Fatalf("replica %d exited:\n%s", i, s.output)
		default:
		}
	}

	// What the clients got while the database was down: each kind of answer once, with its count.
	kinds := map[string]int{}
	for _, err := range failures {
		var ce *client.Error
		if errors.As(err, &ce) {
			kinds[fmt.Sprintf("%d %q", ce.StatusCode, ce.Message)]++
		} else {
			kinds[err.Error()]++ // no answer at all: a hang, or the replica is gone
		}
	}
	for kind, n := range kinds {
		if !strings.HasPrefix(kind, "503 ") || strings.Contains(kind, `"internal server error"`) {
			t.Errorf("%d submissions failed with %s; want 503 with a message saying to try again, at once", n, kind)
		}
	}
	if len(failures) == 0 {
		t.Errorf("no submission failed: the load did not reach the replicas while the database was down")
	}
	t.Logf("failed submissions (each tried again): %d: %v", len(failures), kinds)

	waitAllFinal(t, rs.clients[1], time.Minute)
	jobs := allJobs(t, rs.clients[2])
	succeeded, orphaned := audit(t, ids, jobs, ran)
	t.Logf("accepted %d, store holds %d: succeeded %d, orphaned %d", len(ids), len(jobs), succeeded, orphaned)

	// Every replica listens again: a synchronous job submitted to busy replica 0 runs elsewhere and the answer
	// comes at once; and the others answer theirs.
	blocker := occupy(t, rs, 0, block.Name)
	syncVia(t, rs, 0, 5)
	if by := finishedBy(rs, `task="quick"`); by[0] != 0 {
		t.Errorf("synchronous jobs finished by replica = %v; want none by busy replica 0", by)
	}
	syncVia(t, rs, 1, 3)
	syncVia(t, rs, 2, 3)
	cancelVia(t, rs, 1, blocker, blockMark)
	waitFor(t, "no job to run", 10*time.Second, rs.idle)
	rs.stop(t)
}

// probeDown checks what each replica answers while the database is down: readiness 503, and a submission
// answered at once with 503 and a JSON error message that says what to do, not what failed inside.
func probeDown(t *testing.T, rs *replicaSet, what string) {
	t.Helper()
	for i, s := range rs.srvs {
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/readyz"},
			{http.MethodPost, client.APIPrefix + "/jobs/mark"},
			{http.MethodGet, client.APIPrefix + "/jobs?limit=1"},
		} {
			status, ctype, body, took, err := call(t.Context(), r.method, s.url+r.path, rs.token)
			desc := fmt.Sprintf("database %s: replica %d: %s %s", what, i, r.method, r.path)
			if err != nil {
				t.Errorf("%s: %v after %v", desc, err, took)
				continue
			}
			body = strings.TrimSpace(body)
			var e api.Error
			jsonErr := json.Unmarshal([]byte(body), &e)
			t.Logf("%s = %d %s in %v", desc, status, body, took.Round(time.Millisecond))
			switch {
			case took > 10*time.Second:
				t.Errorf("%s answered after %v; want at once", desc, took)
			case status != http.StatusServiceUnavailable:
				t.Errorf("%s = %d %s; want 503", desc, status, body)
			case r.path == "/readyz":
			case !strings.HasPrefix(ctype, "application/json") || jsonErr != nil || e.Error == "" ||
				slices.Contains([]string{"internal server error", "request cancelled"}, e.Error):
				t.Errorf("%s = %s %q; want a JSON error saying the service is unavailable", desc, ctype, body)
			}
		}
	}
}

// call makes one request with token, giving up after submitTimeout, and returns what came back.
func call(ctx context.Context, method, url, token string) (status int, ctype, body string, took time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, "", "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b), time.Since(start), err
}
