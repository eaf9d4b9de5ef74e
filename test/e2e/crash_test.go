package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// TestCrashSafety kills the server with SIGKILL under load and restarts it: every accepted job must be
// accounted for — queued ones run, running ones end failed "orphaned" with their processes gone, none stays
// running, none disappears, none runs twice — and audited.
func TestCrashSafety(t *testing.T) {
	data := t.TempDir()
	marks := t.TempDir() // each job appends its id here; the path also marks the job's processes
	ran := filepath.Join(marks, "ran")

	srv := startServe(t, data, "--max-concurrent-jobs", "4", "--isolation", "none") // jobs append to ran
	c := login(t, srv.url)
	ctx := t.Context()
	repo := gittest.URL(gittest.NewRepo(t, map[string]string{"README": "crash test\n"}))
	if _, err := c.CreateRunner(ctx, api.Runner{Name: "r", GitURL: repo}); err != nil {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf(`echo "$RUNPLANE_JOB_ID" >> %s; sleep 0.4`, ran)
	if _, err := c.CreateTask(ctx, api.Task{Name: "w", Runner: "r", Command: cmd}); err != nil {
		t.Fatal(err)
	}

	// Submit from 8 clients; kill the server once 60 jobs are accepted, while submissions are still in flight.
	var (
		mu       sync.Mutex
		accepted []string
		wg       sync.WaitGroup
	)
	killed := make(chan struct{})
	var once sync.Once
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				job, _, err := c.Submit(ctx, "w", []byte(`{}`), client.SubmitOptions{})
				if err != nil {
					return // the server is gone: this submission was not accepted
				}
				mu.Lock()
				accepted = append(accepted, job.ID)
				n := len(accepted)
				mu.Unlock()
				if n == 60 {
					once.Do(func() { srv.kill(); close(killed) })
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d jobs accepted before the load ended", len(accepted))
	}

	// The killed server's job processes die with it.
	waitFor(t, "job processes of the killed server to exit", 10*time.Second, func() (bool, error) {
		return len(processesMentioning(marks)) == 0, nil
	})

	srv2 := startServe(t, data, "--max-concurrent-jobs", "4", "--isolation", "none")
	c2 := login(t, srv2.url)
	var jobs []api.Job
	waitFor(t, "every job to end after restart", 120*time.Second, func() (bool, error) {
		var err error
		jobs, err = c2.ListJobs(ctx, 1000, 0)
		if err != nil {
			return false, err
		}
		for _, j := range jobs {
			if !j.Status.Final() {
				return false, nil
			}
		}
		return true, nil
	})

	byID := map[string]api.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	runs := map[string]int{}
	b, _ := os.ReadFile(ran)
	for _, id := range strings.Fields(string(b)) {
		runs[id]++
	}
	orphaned, succeeded := 0, 0
	for _, id := range accepted {
		j, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("accepted job %s disappeared", id)
		case j.Status == api.JobSucceeded:
			succeeded++
			if runs[id] != 1 {
				t.Errorf("succeeded job %s ran %d times, want 1", id, runs[id])
			}
		case j.Status == api.JobFailed && j.Reason == api.ReasonOrphaned:
			orphaned++
			if runs[id] > 1 {
				t.Errorf("orphaned job %s ran %d times, want at most 1", id, runs[id])
			}
		default:
			t.Errorf("job %s = %s %q, want succeeded or failed %q", id, j.Status, j.Reason, api.ReasonOrphaned)
		}
	}
	for id, n := range runs {
		if n > 1 {
			t.Errorf("job %s ran %d times", id, n)
		}
	}
	// Every accepted submission has its audit entry: it committed with the job.
	entries, err := c2.ListAuditLogs(ctx, 10000)
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	for _, e := range entries {
		if e.EventType == "run" && e.Status == api.AuditSuccess {
			audited[e.EventTarget] = true
		}
	}
	for _, id := range accepted {
		if !audited[id] {
			t.Errorf("accepted job %s has no audit entry", id)
		}
	}
	t.Logf("accepted %d, succeeded %d, orphaned %d, jobs in store %d", len(accepted), succeeded, orphaned, len(jobs))
	if orphaned == 0 {
		t.Errorf("no job was running at the crash; the test proved nothing about orphans")
	}
	if succeeded == 0 {
		t.Errorf("no queued job ran after the restart")
	}
	srv2.stop(t)
}

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
