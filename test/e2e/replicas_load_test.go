package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// loadJobs is how many jobs the load tests submit: 2,000, or the 10,000 with RUNPLANE_E2E_FULL=1.
func loadJobs() int {
	if os.Getenv("RUNPLANE_E2E_FULL") == "1" {
		return 10_000
	}
	return 2_000
}

// finalWithin is how long n jobs may take to end after their submission: generous, for a slow CI machine.
func finalWithin(n int) time.Duration { return time.Minute + time.Duration(n)*20*time.Millisecond }

// TestReplicasExactlyOnce submits jobs from 16 clients across three replicas over one database: every job runs
// exactly once, and they run on more than one replica.
func TestReplicasExactlyOnce(t *testing.T) {
	rs := newReplicaSet(t, pgtest.NewDatabase(t), testLease, hostFiles)
	rs.start(t, 3)
	ran := filepath.Join(t.TempDir(), "ran")
	createTasks(t, rs.clients[0], api.Task{Name: "mark", Command: markCommand(ran, "")})

	n := loadJobs()
	start := time.Now()
	accepted := (&load{rs: rs, task: "mark"}).run(t.Context(), t, n)
	submitted := time.Since(start)
	waitAllFinal(t, rs.clients[1], finalWithin(n))
	elapsed := time.Since(start)

	jobs := allJobs(t, rs.clients[2])
	succeeded, _ := audit(t, accepted, jobs, ran)
	if len(accepted) != n || len(jobs) != n || succeeded != n {
		t.Errorf("accepted %d, store holds %d, succeeded %d; want %d of each", len(accepted), len(jobs), succeeded, n)
	}
	b, _ := os.ReadFile(ran)
	ids := strings.Fields(string(b))
	slices.Sort(ids)
	if all, distinct := len(ids), len(slices.Compact(ids)); all != n || distinct != n {
		t.Errorf("the jobs appended %d ids, %d distinct; want %d, all distinct", all, distinct, n)
	}
	by := finishedBy(rs)
	total, ranOn := 0, 0
	for _, k := range by {
		total += k
		if k > 0 {
			ranOn++
		}
	}
	if total != n || ranOn < 2 {
		t.Errorf("jobs finished by replica (runplane_jobs_total) = %v: want %d in all, on more than one replica", by, n)
	}
	t.Logf("%d jobs: submitted in %v, all succeeded after %v (%.0f jobs/s); finished by replica: %v",
		n, submitted.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), by)
	rs.stop(t)
}

// TestReplicaKilled kills one of three replicas with SIGKILL once a third of the load is accepted. Its jobs are
// recovered by the others when its leases run out: every accepted job ends, succeeded ones ran exactly once,
// the ones it was running end orphaned (and ran at most once), nothing stays running, and the clients' submissions
// go on through the survivors.
func TestReplicaKilled(t *testing.T) {
	rs := newReplicaSet(t, pgtest.NewDatabase(t), testLease, hostFiles)
	rs.start(t, 3)
	marks := t.TempDir() // the jobs append their ids here; the path also marks their processes
	ran := filepath.Join(marks, "ran")
	// A short sleep keeps each replica running several jobs at any moment, so the victim dies with some.
	createTasks(t, rs.clients[0], api.Task{Name: "mark", Command: markCommand(ran, "sleep 0.05")})

	n := loadJobs()
	const victim = 2
	var (
		killed    atomic.Bool
		killOnce  sync.Once
		afterKill atomic.Int64
	)
	l := &load{rs: rs, task: "mark",
		failed: func(i int, err error) bool {
			if i == victim && killed.Load() {
				return true // the client tries the next replica
			}
			t.Errorf("submit to replica %d: %v", i, err)
			return false
		},
		accepted: func(k int) {
			if killed.Load() {
				afterKill.Add(1)
			}
			if k == n/3 {
				killOnce.Do(func() {
					killed.Store(true)
					rs.srvs[victim].kill()
				})
			}
		},
	}
	start := time.Now()
	accepted := l.run(t.Context(), t, n)
	if !killed.Load() {
		t.Fatalf("only %d jobs accepted: the victim was never killed", len(accepted))
	}
	waitAllFinal(t, rs.clients[0], finalWithin(n))
	elapsed := time.Since(start)

	jobs := allJobs(t, rs.clients[1])
	succeeded, orphaned := audit(t, accepted, jobs, ran)
	if orphaned == 0 {
		t.Errorf("no job was running on the victim when it died; the test proved nothing about recovery")
	}
	if afterKill.Load() == 0 {
		t.Errorf("no submission was accepted after the kill")
	}
	// The victim's job processes died with it; the survivors' have ended.
	waitFor(t, "no job process left", 10*time.Second, func() (bool, error) {
		return len(processesMentioning(marks)) == 0, nil
	})
	t.Logf("accepted %d (%d after the kill), store holds %d: succeeded %d, orphaned %d, all final after %v; "+
		"finished by replica: %v (the victim's count died with it)",
		len(accepted), afterKill.Load(), len(jobs), succeeded, orphaned, elapsed.Round(time.Millisecond), finishedBy(rs))
	rs.stop(t)
}
