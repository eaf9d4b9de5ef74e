package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
	"github.com/runplane/runplane/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testCipher(t testing.TB) *secret.Cipher {
	t.Helper()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testOptions(t testing.TB) Options {
	return Options{Cipher: testCipher(t), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// openAt opens the store at dsn and closes it when t ends.
func openAt(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, testOptions(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connect opens a plain connection to dsn, closed when t ends: to look at the database behind the store's back.
func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		// The suite closes the store; the database is dropped after that.
		s, err := Open(t.Context(), pgtest.NewDatabase(t), testOptions(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestTwoStoresUpdateRunConcurrently advances one run from two replicas' pools at once: of the updates from one
// version, exactly one wins.
func TestTwoStoresUpdateRunConcurrently(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, b := openAt(t, dsn), openAt(t, dsn)
	if _, _, err := a.CreateRun(t.Context(), storetest.NewRun("run-1")); err != nil {
		t.Fatal(err)
	}
	storetest.UpdateRunConcurrently(t, "run-1", 16, a, b)
}

func TestTwoStoresClaimConcurrently(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, b := openAt(t, dsn), openAt(t, dsn)
	const jobs = 300
	var want []string
	for i := range jobs {
		// Alternate the store that creates, so both write.
		s := []*Store{a, b}[i%2]
		j, _, err := s.CreateJob(t.Context(), store.Job{Job: api.Job{ID: fmt.Sprintf("t-%05d", i), Task: "t"}})
		if err != nil {
			t.Fatalf("CreateJob: %v", err)
		}
		want = append(want, j.ID)
	}
	ids := storetest.ClaimConcurrently(t, 8, a, b)
	storetest.CheckClaimedOnce(t, ids, want)
}

func TestTwoStoresIdempotencyKey(t *testing.T) {
	// Replicas submitting with one key at once: one job, every caller gets it.
	dsn := pgtest.NewDatabase(t)
	stores := []*Store{openAt(t, dsn), openAt(t, dsn)}
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		ids     = map[string]int{}
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			j := store.Job{Job: api.Job{ID: fmt.Sprintf("t-%05d", i), Owner: "alice", Task: "t"}, IdempotencyKey: "once", OwnerID: "u1"}
			got, made, err := stores[i%2].CreateJob(t.Context(), j)
			if err != nil {
				t.Errorf("CreateJob #%d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[got.ID]++
			if made {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	if created != 1 || len(ids) != 1 {
		t.Errorf("%d concurrent CreateJob calls with one key over two stores: created %d, returned ids %v; want 1 job",
			n, created, ids)
	}
}

func TestOpenRequiresCipher(t *testing.T) {
	s, err := Open(t.Context(), "postgres://127.0.0.1:1/x", Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open without a Cipher succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "Cipher") {
		t.Errorf("Open without a Cipher: error %q does not say what is missing", err)
	}
}

// TestOpenFails checks that Open fails with an error that says what is wrong, and never shows the password.
func TestOpenFails(t *testing.T) {
	const password = "pw-Never-Shown-7f3a"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := l.Addr().String()
	l.Close() // nothing listens there now

	srv := pgtest.Start(t)
	real := net.JoinHostPort(srv.Host, fmt.Sprint(srv.Port))
	dsn := func(user, pw, hostport, db string) string {
		u := url.URL{Scheme: "postgres", User: url.UserPassword(user, pw), Host: hostport, Path: "/" + db,
			RawQuery: "sslmode=disable&connect_timeout=5"}
		return u.String()
	}
	tests := []struct {
		name string
		dsn  string
		want string // in the error
	}{
		{"not a dsn", "postgres://runplane:" + password + "@127.0.0.1:notaport/db", "cannot parse"},
		{"bad setting", "host=127.0.0.1 password=" + password + " sslmode=bogus", "sslmode"},
		{"nothing listens", dsn("runplane", password, unreachable, "db"), unreachable + " (127.0.0.1): dial error"},
		{"wrong password", dsn(pgtest.User, password, real, "postgres"), "password authentication failed"},
		{"no such database", dsn(pgtest.User, srv.Password, real, "no_such_db"), `"no_such_db" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			s, err := Open(ctx, tt.dsn, testOptions(t))
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tt.name)
			}
			t.Logf("Open(%s): %v", tt.name, err)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Open(%s) took %v to fail", tt.name, d)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%s) error = %q, want it to contain %q", tt.name, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "postgres: open") {
				t.Errorf("Open(%s) error = %q, want it to start with %q", tt.name, err, "postgres: open")
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), srv.Password) {
				t.Errorf("Open(%s) error = %q shows the password", tt.name, err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	s, err := Open(t.Context(), pgtest.NewDatabase(t), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.GetJob(t.Context(), "x"); err == nil {
		t.Errorf("GetJob after Close succeeded, want an error")
	}
}

func TestQueryPlansUseIndexes(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	openAt(t, dsn)
	conn := connect(t, dsn)
	// The tables are empty: forbid sequential and bitmap scans, so that the plan shows whether an index can serve
	// the query in its order.
	if _, err := conn.Exec(t.Context(), `SET enable_seqscan = off; SET enable_bitmapscan = off`); err != nil {
		t.Fatal(err)
	}
	plans := []struct {
		name  string
		query string
		args  []any
	}{
		{"claim", claimJob, []any{time.Now(), "a", time.Now()}},
		{"expired", claimExpired, []any{time.Now(), "a", time.Now()}},
		{"renew", renewLeases, []any{time.Now(), "a"}},
		{"list", `SELECT id FROM jobs ORDER BY create_time DESC, id DESC LIMIT 10`, nil},
		// As ListJobs words its task filter: the partial index jobs_by_task holds only the jobs that have a task.
		{"list by task", `SELECT id FROM jobs WHERE task = $1 AND task <> '' ORDER BY create_time DESC, id DESC LIMIT 10`, []any{"t"}},
		{"count", `SELECT count(*) FROM jobs WHERE status = 'running'`, nil},
		{"key", lookupJobKey, []any{"a", "k"}},
		{"queued of an owner", countQueuedOf, []any{"a"}},
		{"audit", `SELECT id FROM audit_logs ORDER BY create_time DESC, id DESC LIMIT 10`, nil},
		{"tokens", `SELECT id FROM api_tokens WHERE owner = 'a' ORDER BY create_time, id`, nil},
		{"runners", `SELECT name FROM runners ORDER BY name`, nil},
		{"members", `SELECT group_id FROM group_members WHERE user_id = 'u' ORDER BY group_id`, nil},
		{"running runs", `SELECT id FROM runs WHERE status = 'running' ORDER BY create_time DESC, id DESC LIMIT 10`, nil},
		{"runs of a workflow", `SELECT id FROM runs WHERE workflow = 'w' ORDER BY create_time DESC, id DESC LIMIT 10`, nil},
		{"runs of an owner", `SELECT id FROM runs WHERE owner = 'a' ORDER BY create_time DESC, id DESC LIMIT 10`, nil},
		{"run key", `SELECT id FROM runs WHERE owner_id = 'a' AND idempotency_key = 'k' AND idempotency_key <> ''`, nil},
		{"run values", `SELECT name FROM run_values WHERE run = 'r' ORDER BY step, kind, name`, nil},
		{"jobs of a run", `SELECT id FROM jobs WHERE run = 'r' AND run <> '' ORDER BY create_time DESC, id DESC LIMIT 10`, nil},
	}
	for _, p := range plans {
		rows, err := conn.Query(t.Context(), `EXPLAIN `+p.query, p.args...)
		if err != nil {
			t.Fatalf("%s: EXPLAIN: %v", p.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: EXPLAIN: %v", p.name, err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Index") || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
			t.Errorf("%s: want an index and neither a sequential scan nor a sort; plan:\n%s", p.name, plan)
		}
	}
	// ListJobs's task filter, as a prepared statement planned for any task (a generic plan, as PostgreSQL comes to
	// use for a statement run often): only its task <> '' term lets it use the partial index jobs_by_task.
	if _, err := conn.Exec(t.Context(), `SET plan_cache_mode = force_generic_plan;
		PREPARE jobs_of_task(text) AS SELECT id FROM jobs WHERE task = $1 AND task <> ''
		ORDER BY create_time DESC, id DESC LIMIT 10`); err != nil {
		t.Fatal(err)
	}
	if rows, err := conn.Query(t.Context(), `EXPLAIN EXECUTE jobs_of_task('t')`); err != nil {
		t.Fatalf("jobs of a task: EXPLAIN: %v", err)
	} else if lines, err := pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatalf("jobs of a task: EXPLAIN: %v", err)
	} else if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "jobs_by_task") || strings.Contains(plan, "Sort") {
		t.Errorf("jobs of a task: want the index jobs_by_task and no sort; plan:\n%s", plan)
	}
	if _, err := conn.Exec(t.Context(), `RESET plan_cache_mode`); err != nil {
		t.Fatal(err)
	}
	// The live runs (the advancer's recovery lists them) come from the status index, sorted: they are few whatever
	// the number of finished runs.
	var plan []string
	rows, err := conn.Query(t.Context(), `EXPLAIN SELECT id FROM runs WHERE status = ANY($1)
		ORDER BY create_time DESC, id DESC LIMIT 10`, []string{"queued", "running"})
	if err == nil {
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatalf("live runs: EXPLAIN: %v", err)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "runs_by_status") || strings.Contains(p, "Seq Scan") {
		t.Errorf("live runs: want the status index and no sequential scan; plan:\n%s", p)
	}
}

func TestCatalogWritesSerialize(t *testing.T) {
	// Writes that check before they change wait for catalogLock; the job queue never does.
	dsn := pgtest.NewDatabase(t)
	s := openAt(t, dsn)
	holder := connect(t, dsn)
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock($1)`, int64(catalogLock)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.DeleteGroup(ctx, "g"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DeleteGroup while another transaction holds the catalog lock = %v, want it to wait until its "+
			"context ends", err)
	}
	if _, _, err := s.CreateJob(t.Context(), store.Job{Job: api.Job{ID: "t-1", Task: "t"}}); err != nil {
		t.Errorf("CreateJob while the catalog lock is held: %v", err)
	}
	if _, err := s.ClaimJob(t.Context(), time.Now(), store.Lease{Owner: "a", Until: time.Now().Add(time.Minute)}); err != nil {
		t.Errorf("ClaimJob while the catalog lock is held: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- s.DeleteGroup(t.Context(), "g") }()
	select {
	case err := <-done:
		t.Fatalf("DeleteGroup returned %v while the catalog lock is held, want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteGroup once the lock is free = %v, want ErrNotFound", err)
	}
}
