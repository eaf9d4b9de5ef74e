package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// What the tests of several replicas share: replicas over one store, a load spread over them, and the audit of
// what the load left.

// testLease is the replicas' lease in the tests: short, so that the jobs of a killed replica are recovered within
// seconds.
const testLease = "RUNPLANE_LEASE_TTL=2s"

// replicaSet is `runplane serve` processes sharing one store and one keys dir, as an operator runs them: each with
// a data dir and port of its own. With no store it is SQLite, which only one of them may use.
type replicaSet struct {
	env     []string
	token   string
	srvs    []*serverProc
	clients []*client.Client // one per replica, all with the token of one login: the replicas share its key
}

// newReplicaSet prepares replicas over the PostgreSQL database dsn ("" for SQLite) with env added.
func newReplicaSet(t testing.TB, dsn string, env ...string) *replicaSet {
	env = append([]string{"RUNPLANE_KEYS_DIR=" + t.TempDir()}, env...)
	if dsn != "" {
		env = append(env, "RUNPLANE_STORE="+dsn)
	}
	return &replicaSet{env: env}
}

// start starts n more replicas with args, all at once: their migrations and key files race, as in a rollout.
func (rs *replicaSet) start(t testing.TB, n int, args ...string) {
	t.Helper()
	srvs := make([]*serverProc, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { srvs[i], errs[i] = launchServe(t, t.TempDir(), rs.env, args...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, s := range srvs {
		if rs.token == "" {
			rs.token = login(t, s.url).Token()
		}
		c, err := client.New(s.url, client.WithToken(rs.token))
		if err != nil {
			t.Fatal(err)
		}
		rs.srvs, rs.clients = append(rs.srvs, s), append(rs.clients, c)
	}
}

// stop stops every replica still running, gracefully, at once.
func (rs *replicaSet) stop(t testing.TB) {
	var wg sync.WaitGroup
	for _, s := range rs.srvs {
		wg.Go(func() { s.stop(t) })
	}
	wg.Wait()
}

// createTasks creates the runner "r" over a fresh git repo and tasks using it.
func createTasks(t testing.TB, c *client.Client, tasks ...api.Task) {
	t.Helper()
	repo := gittest.URL(gittest.NewRepo(t, map[string]string{"README": "e2e\n"}))
	if _, err := c.CreateRunner(t.Context(), api.Runner{Name: "r", GitURL: repo}); err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		tk.Runner = "r"
		if _, err := c.CreateTask(t.Context(), tk); err != nil {
			t.Fatal(err)
		}
	}
}

// hostFiles is the environment of servers whose jobs append to a file of the test's (markCommand): the proof that
// each job ran exactly once. A sandbox hides the test's files from jobs, so these servers run jobs without one;
// containment is test/e2e/hostile_test.go's to test.
const hostFiles = "RUNPLANE_ISOLATION=none"

// markCommand is a task that appends its job's id to the file ran with a shell builtin, then runs rest, if any.
func markCommand(ran, rest string) string {
	cmd := fmt.Sprintf(`echo "$RUNPLANE_JOB_ID" >> %s`, ran)
	if rest != "" {
		cmd += "; " + rest
	}
	return cmd
}

// load submits jobs of one task from loadClients clients at once, submission i going to replica i mod n.
type load struct {
	rs   *replicaSet
	task string
	// failed decides about a submission that failed on replica i: true tries it again on the next replica,
	// false gives it up. Nil fails the test on any failure.
	failed func(i int, err error) bool
	// accepted, when set, is called after each accepted submission with the number accepted so far.
	accepted func(n int)
	// pace, when set, spaces all submissions (of every client) by at least this much.
	pace time.Duration
}

const (
	loadClients = 16
	// submitTimeout is how long a submission may take before the test calls it hung.
	submitTimeout = 30 * time.Second
)

// run submits n jobs, stopping early when ctx ends, and returns the ids of those accepted.
func (l *load) run(ctx context.Context, t testing.TB, n int) []string {
	var (
		mu  sync.Mutex
		ids []string
		wg  sync.WaitGroup
	)
	var tick <-chan time.Time
	if l.pace > 0 {
		tk := time.NewTicker(l.pace)
		defer tk.Stop()
		tick = tk.C
	}
	for w := range loadClients {
		wg.Go(func() {
			for i := w; i < n; i += loadClients {
				for r := i % len(l.rs.clients); ; r = (r + 1) % len(l.rs.clients) {
					if tick != nil {
						select {
						case <-tick:
						case <-ctx.Done():
						}
					}
					if ctx.Err() != nil {
						return
					}
					sctx, cancel := context.WithTimeout(ctx, submitTimeout)
					j, _, err := l.rs.clients[r].Submit(sctx, l.task, nil, client.SubmitOptions{})
					cancel()
					if err == nil {
						mu.Lock()
						ids = append(ids, j.ID)
						k := len(ids)
						mu.Unlock()
						if l.accepted != nil {
							l.accepted(k)
						}
						break
					}
					if ctx.Err() != nil {
						return // the load was stopped; whether this one was accepted, the audit of the store tells
					}
					if l.failed == nil {
						t.Errorf("submit to replica %d: %v", r, err)
						break
					}
					if !l.failed(r, err) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	return ids
}

// countJobs returns how many jobs have one of statuses, reading the total of a one-job page.
func countJobs(ctx context.Context, c *client.Client, statuses ...api.JobStatus) (int, error) {
	s := make([]string, len(statuses))
	for i, st := range statuses {
		s[i] = string(st)
	}
	u := c.BaseURL() + client.APIPrefix + "/jobs?limit=1&status=" + strings.Join(s, ",")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	cr := resp.Header.Get("Content-Range") // "jobs 0-0/12" or "jobs */0"
	_, total, ok := strings.Cut(cr, "/")
	if !ok {
		return 0, fmt.Errorf("GET %s: Content-Range %q", u, cr)
	}
	return strconv.Atoi(total)
}

// allJobs lists every job, a page at a time.
func allJobs(t testing.TB, c *client.Client) []api.Job {
	t.Helper()
	var all []api.Job
	for {
		page, err := c.ListJobs(t.Context(), 1000, len(all))
		if err != nil {
			t.Fatalf("list jobs: %v", err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			return all
		}
	}
}

// waitAllFinal waits until no job is queued or running; at the deadline it fails t, naming some that still are.
func waitAllFinal(t *testing.T, c *client.Client, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n, err := countJobs(t.Context(), c, api.JobQueued, api.JobRunning)
		if err != nil {
			t.Fatalf("count jobs: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			var stuck []string
			for _, j := range allJobs(t, c) {
				if !j.Status.Final() && len(stuck) < 20 {
					stuck = append(stuck, fmt.Sprintf("%s %s (started %v)", j.ID, j.Status, j.StartTime))
				}
			}
			t.Errorf("%d jobs still queued or running %v after the load, e.g.:\n%s", n, d, strings.Join(stuck, "\n"))
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// audit checks what a load left, with TestCrashSafety's rules, over every job the store holds (a submission whose
// answer was lost may have been accepted all the same): each is final; a succeeded job ran exactly once, an
// orphaned one at most once, and no other outcome occurs; no accepted job is missing; nothing ran that the store
// does not hold. ran is the file each job appended its id to.
func audit(t *testing.T, accepted []string, jobs []api.Job, ran string) (succeeded, orphaned int) {
	t.Helper()
	runs := map[string]int{}
	b, err := os.ReadFile(ran)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, id := range strings.Fields(string(b)) {
		runs[id]++
	}
	byID := map[string]api.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
		switch {
		case j.Status == api.JobSucceeded:
			succeeded++
			if runs[j.ID] != 1 {
				t.Errorf("succeeded job %s ran %d times, want 1", j.ID, runs[j.ID])
			}
		case j.Status == api.JobFailed && j.Reason == api.ReasonOrphaned:
			orphaned++
			if runs[j.ID] > 1 {
				t.Errorf("orphaned job %s ran %d times, want at most 1", j.ID, runs[j.ID])
			}
		default:
			t.Errorf("job %s = %s %q, want succeeded or failed %q", j.ID, j.Status, j.Reason, api.ReasonOrphaned)
		}
	}
	for _, id := range accepted {
		if _, ok := byID[id]; !ok {
			t.Errorf("accepted job %s disappeared", id)
		}
	}
	for id, n := range runs {
		if _, ok := byID[id]; !ok {
			t.Errorf("job %s ran %d times but the store does not hold it", id, n)
		}
	}
	return succeeded, orphaned
}

// metric sums the samples of the metric name at url/metrics whose labels include every one of labels
// (`task="x"`).
func metric(url, name string, labels ...string) (float64, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !(f[0] == name || strings.HasPrefix(f[0], name+"{")) {
			continue
		}
		matched := true
		for _, l := range labels {
			matched = matched && strings.Contains(f[0], l)
		}
		if !matched {
			continue
		}
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum, nil
}

// finishedBy returns, per replica, how many jobs it finished (runplane_jobs_total); -1 for one that is down.
func finishedBy(rs *replicaSet, labels ...string) []int {
	out := make([]int, len(rs.srvs))
	for i, s := range rs.srvs {
		v, err := metric(s.url, "runplane_jobs_total", labels...)
		out[i] = int(v)
		if err != nil {
			out[i] = -1
		}
	}
	return out
}
