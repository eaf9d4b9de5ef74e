package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// deployment is one way to run runplane in the store benchmarks.
type deployment struct {
	name string
	rs   *replicaSet
}

// deployments starts, side by side, a server over SQLite and PostgreSQL replicas, one and three, each set over a
// database of its own. PostgreSQL is a private server, which commits synchronously as a production one does (the
// tests' shared server does not); like every pgtest server it runs with fsync off, as SQLite's synchronous=NORMAL
// does not sync on commit either.
func deployments(b *testing.B) []deployment {
	pg := pgtest.NewServer(b)
	deps := []deployment{
		{"sqlite", newReplicaSet(b, "", hostFiles)},
		{"pg1", newReplicaSet(b, pg.CreateDatabase(b), hostFiles)},
		{"pg3", newReplicaSet(b, pg.CreateDatabase(b), hostFiles)},
	}
	deps[0].rs.start(b, 1)
	deps[1].rs.start(b, 1)
	deps[2].rs.start(b, 3)
	return deps
}

// BenchmarkStoresSync is BenchmarkSync on SQLite and on PostgreSQL with one and with three replicas, interleaved
// request by request, beside the bare spawn, so that all see the same machine. With three replicas the requests
// go to each in turn, and a job may run on another replica than the one that answers its request.
// Run: go test -run '^$' -bench StoresSync -benchtime 500x ./test/e2e/
func BenchmarkStoresSync(b *testing.B) {
	deps := deployments(b)
	ctx := b.Context()
	for _, d := range deps {
		createTasks(b, d.rs.clients[0], api.Task{Name: "true", Command: "true", Synchronous: true})
		for _, c := range d.rs.clients { // warm the git caches and the connections
			for range 5 {
				if _, _, err := c.Submit(ctx, "true", nil, client.SubmitOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	lat := make([][]time.Duration, len(deps))
	var bare []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := spawnBare(); err != nil {
			b.Fatal(err)
		}
		bare = append(bare, time.Since(t0))
		for k, d := range deps {
			c := d.rs.clients[i%len(d.rs.clients)]
			t1 := time.Now()
			j, finished, err := c.Submit(ctx, "true", nil, client.SubmitOptions{})
			if err != nil || !finished || j.Status != api.JobSucceeded {
				b.Fatalf("%s: sync job = %+v finished %v, %v", d.name, j, finished, err)
			}
			lat[k] = append(lat[k], time.Since(t1))
		}
	}
	for k, d := range deps {
		b.ReportMetric(ms(percentile(lat[k], .5)), d.name+"-p50-ms")
		b.ReportMetric(ms(percentile(lat[k], .99)), d.name+"-p99-ms")
	}
	b.ReportMetric(ms(percentile(bare, .5)), "bare-p50-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkStoresThroughput is BenchmarkThroughput on SQLite and on PostgreSQL with one and with three replicas:
// each round submits 5,000 async jobs from 16 clients to each deployment in turn (spread over its replicas) and
// measures jobs/s until all are finished, checking that none is lost and none runs twice. It reports the mean of
// the rounds.
// Run: go test -run '^$' -bench StoresThroughput -benchtime 3x ./test/e2e/
func BenchmarkStoresThroughput(b *testing.B) {
	const n = 5000
	deps := deployments(b)
	ran := make([]string, len(deps))
	for k, d := range deps {
		ran[k] = filepath.Join(b.TempDir(), "ran")
		createTasks(b, d.rs.clients[0], api.Task{Name: "mark", Command: markCommand(ran[k], "")})
	}
	rates := make([]float64, len(deps))
	rounds := 0
	for b.Loop() {
		rounds++
		for k, d := range deps {
			os.Remove(ran[k])
			before := finishedAll(b, d.rs)
			start := time.Now()
			ids := (&load{rs: d.rs, task: "mark"}).run(b.Context(), b, n)
			for finishedAll(b, d.rs) < before+n {
				time.Sleep(20 * time.Millisecond)
			}
			rates[k] += n / time.Since(start).Seconds()
			if err := ranOnce(ids, ran[k], n); err != nil {
				b.Fatalf("%s: %v", d.name, err)
			}
		}
	}
	for k, d := range deps {
		b.ReportMetric(rates[k]/float64(rounds), d.name+"-jobs/s")
	}
	b.ReportMetric(0, "ns/op")
}

// finishedAll sums runplane_jobs_total over the replicas.
func finishedAll(b *testing.B, rs *replicaSet) int {
	total := 0
	for _, s := range rs.srvs {
		total += finishedJobs(b, s.url)
	}
	return total
}

// ranOnce checks that n distinct jobs were accepted and that each appended its id to the file ran exactly once.
func ranOnce(ids []string, ran string, n int) error {
	data, err := os.ReadFile(ran)
	if err != nil {
		return err
	}
	got := strings.Fields(string(data))
	want := slices.Clone(ids)
	slices.Sort(got)
	slices.Sort(want)
	if len(slices.Compact(slices.Clone(want))) != n || !slices.Equal(got, want) {
		return fmt.Errorf("accepted %d jobs (want %d distinct), and %d ids were appended: some job was lost or ran twice",
			len(ids), n, len(got))
	}
	return nil
}
