package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// TestCrossReplicaSyncAndCancel has replica A (one job slot) busy, so that what is submitted to it runs on
// replica B: a synchronous request to A returns as soon as B has finished the job, and a cancel through A of a job
// running on B ends it cancelled and kills its process. And the other way: A's job, cancelled through B.
func TestCrossReplicaSyncAndCancel(t *testing.T) {
	rs := newReplicaSet(t, pgtest.NewDatabase(t), testLease)
	rs.start(t, 1, "--max-concurrent-jobs", "1")
	rs.start(t, 1)
	const a, b = 0, 1
	block, blockMark := sleepTask("block")
	sleeper, sleeperMark := sleepTask("sleeper")
	createTasks(t, rs.clients[a], block, sleeper, quickTask)
	blocker := occupy(t, rs, a, "block")

	took := syncVia(t, rs, a, 10)
	// A sync answer may come (through the database's notice to A) a moment before B has counted the job in its
	// metrics: wait for the count, then check that A counted none.
	var by []int
	waitFor(t, "B to count the 10 synchronous jobs", 10*time.Second, func() (bool, error) {
		by = finishedBy(rs, `task="quick"`)
		return by[b] >= 10, nil
	})
	if by[a] != 0 || by[b] != 10 {
		t.Errorf("synchronous jobs finished by replica = %v, want [0 10]: B runs what is submitted to A", by)
	}
	t.Logf("sync through A, run by B: p50 %v, max %v", percentile(took, .5), percentile(took, 1))

	job, _, err := rs.clients[a].Submit(t.Context(), "sleeper", nil, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sleeper to run", 10*time.Second, func() (bool, error) {
		return len(processesMentioning(sleeperMark)) > 0, nil
	})
	if v, err := metric(rs.srvs[b].url, "runplane_jobs_running"); err != nil || v != 1 {
		t.Fatalf("replica B runs %v jobs (%v), want 1: the sleeper", v, err)
	}
	cancelVia(t, rs, a, job.ID, sleeperMark)
	// B lets go of the job, and A still runs its own.
	waitFor(t, "B to let go of the cancelled job", 10*time.Second, func() (bool, error) {
		n, where, err := rs.running()
		return n == 1 && where == a, err
	})
	cancelVia(t, rs, b, blocker, blockMark)
	waitFor(t, "no job to run", 10*time.Second, rs.idle)
	rs.stop(t)
}

// quickTask is a synchronous task whose sync timeout is far above what a job of it takes.
var quickTask = api.Task{Name: "quick", Command: "true", Synchronous: true, SyncTimeout: api.Duration(30 * time.Second)}

// sleepTask is a task that sleeps long, for a duration (the returned marker) that no other process on the machine
// has on its command line: its processes can be found by it.
func sleepTask(name string) (api.Task, string) {
	marker := fmt.Sprintf("600.%09d", rand.IntN(1e9))
	return api.Task{Name: name, Command: "sleep " + marker}, marker
}

// occupy makes replica i, idle and started with --max-concurrent-jobs 1, busy with a job of task (a long sleep)
// and returns its id: the replica then claims nothing else, so what is submitted to it runs on another. A job of
// task that another replica claimed instead is cancelled, and another submitted.
func occupy(t *testing.T, rs *replicaSet, i int, task string) string {
	t.Helper()
	for range 20 {
		job, _, err := rs.clients[i].Submit(t.Context(), task, nil, client.SubmitOptions{})
		if err != nil {
			t.Fatalf("submit %s: %v", task, err)
		}
		var where int
		waitFor(t, "the "+task+" job to run", 10*time.Second, func() (n bool, err error) {
			var running int
			running, where, err = rs.running()
			return running == 1, err
		})
		if where == i {
			return job.ID
		}
		if _, err := rs.clients[i].Cancel(t.Context(), job.ID); err != nil {
			t.Fatalf("cancel the %s job replica %d claimed: %v", task, where, err)
		}
		waitFor(t, "no job to run", 10*time.Second, rs.idle)
	}
	t.Fatalf("replica %d never claimed a job submitted to it", i)
	return ""
}

// syncVia submits n jobs of quickTask to replica i, one at a time: each must come back finished, promptly.
func syncVia(t *testing.T, rs *replicaSet, i, n int) []time.Duration {
	t.Helper()
	var took []time.Duration
	for range n {
		start := time.Now()
		j, finished, err := rs.clients[i].Submit(t.Context(), quickTask.Name, nil, client.SubmitOptions{})
		d := time.Since(start)
		if err != nil || !finished || j.Status != api.JobSucceeded {
			t.Fatalf("sync job through replica %d = %s %s finished %v after %v, %v; want succeeded at once",
				i, j.ID, j.Status, finished, d, err)
		}
		if d > 5*time.Second {
			t.Errorf("sync job %s through replica %d took %v: a replica that did not run it must be woken at once, "+
				"well before the task's %v sync timeout", j.ID, i, d, time.Duration(quickTask.SyncTimeout))
		}
		took = append(took, d)
	}
	return took
}

// cancelVia cancels job id through replica i: it must answer the job cancelled, and the job's process (found by
// marker) must die.
func cancelVia(t *testing.T, rs *replicaSet, i int, id, marker string) {
	t.Helper()
	start := time.Now()
	j, err := rs.clients[i].Cancel(t.Context(), id)
	if err != nil || j.Status != api.JobCancelled {
		t.Fatalf("cancel %s through replica %d = %s %q, %v; want cancelled", id, i, j.Status, j.Reason, err)
	}
	waitFor(t, "the cancelled job's process to die", 10*time.Second, func() (bool, error) {
		return len(processesMentioning(marker)) == 0, nil
	})
	t.Logf("cancel of %s through replica %d: its process was gone %v after the request", id, i,
		time.Since(start).Round(time.Millisecond))
}

// running returns how many jobs the replicas run (runplane_jobs_running), and where: the last replica running one.
func (rs *replicaSet) running() (n, where int, err error) {
	where = -1
	for k, s := range rs.srvs {
		v, err := metric(s.url, "runplane_jobs_running")
		if err != nil {
			return 0, 0, err
		}
		if v > 0 {
			where = k
		}
		n += int(v)
	}
	return n, where, nil
}

// idle reports whether no replica runs a job.
func (rs *replicaSet) idle() (bool, error) {
	n, _, err := rs.running()
	return n == 0, err
}
