package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// crashRuns is how many runs the workflow crash tests start at once.
const crashRuns = 20

// TestWorkflowCrashSafety kills the server (SQLite) with SIGKILL while 20 runs of a fan-out/fan-in workflow are
// under way and starts it again: every run finishes, succeeded; no step runs twice; nothing is lost.
func TestWorkflowCrashSafety(t *testing.T) {
	data := t.TempDir()
	marks := t.TempDir() // each step appends a line here; the path also marks the steps' processes
	ran := filepath.Join(marks, "ran")
	args := []string{"--max-concurrent-jobs", "4", "--isolation", "none"} // steps append to ran
	srv := startServe(t, data, args...)
	c := login(t, srv.url)
	createCrashWorkflow(t, c, ran)
	ids := startRuns(t, []*client.Client{c})

	waitFor(t, "the runs to be under way", 60*time.Second, func() (bool, error) { return len(markLines(t, ran)) >= 30, nil })
	srv.kill()
	killed := time.Now()
	before := len(markLines(t, ran))
	waitFor(t, "the steps of the killed server to exit", 10*time.Second, func() (bool, error) {
		return len(processesMentioning(marks)) == 0, nil
	})

	srv2 := startServe(t, data, args...)
	c2 := login(t, srv2.url)
	orphaned := checkCrashRuns(t, c2, ids, ran, killed, 0)
	t.Logf("%d runs, %d steps had run at the kill, %d steps' jobs orphaned by it", len(ids), before, orphaned)
	if orphaned == 0 {
		t.Errorf("no step was running at the kill: the test proved nothing about steps cut short")
	}
	if before >= crashRuns*5 {
		t.Errorf("every step had run before the kill: the test proved nothing about runs under way")
	}
	srv2.stop(t)
}

// TestWorkflowReplicaCrash kills one of three replicas over PostgreSQL with SIGKILL while 20 runs are under way,
// spread over the three: the others finish every run, succeeded; the killed replica's step jobs are recovered
// once their leases run out (and retried); no step runs twice; nothing is lost.
func TestWorkflowReplicaCrash(t *testing.T) {
	marks := t.TempDir()
	ran := filepath.Join(marks, "ran")
	rs := newReplicaSet(t, pgtest.NewDatabase(t), testLease, hostFiles)
	rs.start(t, 3, "--max-concurrent-jobs", "2")
	createCrashWorkflow(t, rs.clients[0], ran)
	ids := startRuns(t, rs.clients)

	const victim = 0
	waitFor(t, "the runs to be under way, with a step running on the victim", 60*time.Second, func() (bool, error) {
		if len(markLines(t, ran)) < 30 {
			return false, nil
		}
		n, err := metric(rs.srvs[victim].url, "runplane_jobs_running")
		return n > 0, err
	})
	rs.srvs[victim].kill()
	killed := time.Now()
	before := len(markLines(t, ran))
	rs.srvs = rs.srvs[1:]
	rs.clients = rs.clients[1:]

	// The lease of the test is 2s, renewed every third of it: a job of the victim is recovered once its lease ran
	// out, 2/3 of it after the kill or more if its renewals were on time; checked with slack for a busy machine.
	orphaned := checkCrashRuns(t, rs.clients[0], ids, ran, killed, 2*time.Second/3)
	t.Logf("%d runs, %d steps had run at the kill, %d steps' jobs orphaned by it", len(ids), before, orphaned)
	if orphaned == 0 {
		t.Errorf("no step was running on the killed replica: the test proved nothing about steps cut short")
	}
	if before >= crashRuns*5 {
		t.Errorf("every step had run before the kill: the test proved nothing about runs under way")
	}
	rs.stop(t)
}

// createCrashWorkflow creates "fan": a, then b1, b2 and b3 at once, then d; each step appends
// "<run> <step> <attempt> <job>" to ran and sleeps a little, so that a kill lands mid-step. A step cut short by
// a crash (its job orphaned) has one retry.
func createCrashWorkflow(t *testing.T, c *client.Client, ran string) {
	t.Helper()
	step := func(name string, deps ...string) api.Step {
		script := fmt.Sprintf(`echo "$RUNPLANE_RUN $RUNPLANE_STEP $RUNPLANE_ATTEMPT $RUNPLANE_JOB_ID" >> %s; sleep 0.3`, ran)
		return api.Step{Name: name, Image: "alpine", Command: api.Strings{"sh", "-c", script}, DependsOn: deps, Retries: 1}
	}
	w := api.Workflow{Name: "fan", Steps: []api.Step{
		step("a"), step("b1", "a"), step("b2", "a"), step("b3", "a"), step("d", "b1", "b2", "b3"),
	}}
	if code, err := apiCall(c, http.MethodPost, "/workflows", w, nil); err != nil || code != http.StatusOK {
		t.Fatalf("create workflow: %d %v", code, err)
	}
}

// startRuns starts crashRuns runs of "fan" at once, run i through client i mod len(cs), and returns their ids.
func startRuns(t *testing.T, cs []*client.Client) []string {
	t.Helper()
	ids := make([]string, crashRuns)
	var wg sync.WaitGroup
	for i := range crashRuns {
		wg.Go(func() {
			var created api.RunCreated
			code, err := apiCall(cs[i%len(cs)], http.MethodPost, "/workflows/fan/runs", json.RawMessage(`{}`), &created)
			if err != nil || created.ID == "" || created.Status.Final() {
				t.Errorf("start run %d: %d %+v %v", i, code, created, err)
			}
			ids[i] = created.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// checkCrashRuns waits for every run of ids to end, through c, and checks what the crash left: each run
// succeeded; each step has one job per attempt, its last one succeeded and recorded on it, the others failed
// orphaned (cut short by the crash, after it, recovered no sooner than recoveredAfter past it); each job's step
// ran at most once, a succeeded one exactly once; nothing ran that the store does not hold. It returns how many
// jobs were orphaned.
func checkCrashRuns(t *testing.T, c *client.Client, ids []string, ran string, killed time.Time, recoveredAfter time.Duration) (orphaned int) {
	t.Helper()
	runs := map[string]api.Run{}
	waitFor(t, "every run to end", 3*time.Minute, func() (bool, error) {
		for _, id := range ids {
			if runs[id].Status.Final() {
				continue
			}
			var r api.Run
			if code, err := apiCall(c, http.MethodGet, "/runs/"+id, nil, &r); err != nil || code != http.StatusOK {
				return false, fmt.Errorf("get run %s: %d %v", id, code, err)
			}
			if !r.Status.Final() {
				return false, nil
			}
			runs[id] = r
		}
		return true, nil
	})

	count := map[string]int{}      // job id → times its step ran
	attempt := map[string]string{} // job id → RUNPLANE_ATTEMPT it ran with
	for _, l := range markLines(t, ran) {
		count[l[3]]++
		attempt[l[3]] = l[2]
	}
	held := map[string]bool{}
	for _, id := range ids {
		r := runs[id]
		if r.Status != api.RunSucceeded {
			t.Errorf("run %s = %s (%s), want succeeded: %+v", id, r.Status, r.Reason, r.Steps)
		}
		var jobs []api.Job
		if code, err := apiCall(c, http.MethodGet, "/jobs?limit=1000&run="+id, nil, &jobs); err != nil || code != http.StatusOK {
			t.Fatalf("list the jobs of run %s: %d %v", id, code, err)
		}
		byStep := map[string][]api.Job{}
		for _, j := range jobs {
			held[j.ID] = true
			if j.Run != id {
				t.Errorf("GET /jobs?run=%s listed job %s of run %q", id, j.ID, j.Run)
			}
			byStep[j.Step] = append(byStep[j.Step], j)
		}
		for _, s := range r.Steps {
			js := byStep[s.Name]
			if s.Status != api.StepSucceeded || len(js) != s.Attempt {
				t.Errorf("run %s step %s: %s at attempt %d with %d jobs; want succeeded, one job per attempt", id, s.Name, s.Status, s.Attempt, len(js))
			}
			for _, j := range js {
				switch {
				case j.ID == s.Job:
					if j.Status != api.JobSucceeded || count[j.ID] != 1 || attempt[j.ID] != fmt.Sprint(s.Attempt) {
						t.Errorf("run %s step %s: its job %s = %s, ran %d times as attempt %s; want succeeded, once, as attempt %d",
							id, s.Name, j.ID, j.Status, count[j.ID], attempt[j.ID], s.Attempt)
					}
				case j.Status == api.JobFailed && j.Reason == api.ReasonOrphaned:
					orphaned++
					if count[j.ID] > 1 {
						t.Errorf("run %s step %s: orphaned job %s ran %d times, want at most once", id, s.Name, j.ID, count[j.ID])
					}
					if j.CompletionTime == nil || j.CompletionTime.Before(killed.Add(recoveredAfter)) {
						t.Errorf("run %s step %s: orphaned job %s ended at %v, want no sooner than %v after the kill at %v",
							id, s.Name, j.ID, j.CompletionTime, recoveredAfter, killed)
					}
				default:
					t.Errorf("run %s step %s: job %s = %s %q besides its recorded job %s; want only orphaned attempts", id, s.Name, j.ID, j.Status, j.Reason, s.Job)
				}
			}
		}
	}
	for job, n := range count {
		if !held[job] {
			t.Errorf("job %s ran %d times but no run's job list holds it", job, n)
		}
	}
	return orphaned
}

// markLines reads the lines the steps appended to ran, each "<run> <step> <attempt> <job>".
func markLines(t *testing.T, ran string) [][]string {
	t.Helper()
	b, err := os.ReadFile(ran)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 4 {
			out = append(out, f)
		}
	}
	return out
}

// apiCall sends a JSON request to the API through c's server and token and decodes a 2xx answer into out.
func apiCall(c *client.Client, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.BaseURL()+client.APIPrefix+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}
