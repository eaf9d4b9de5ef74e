package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// versions returns the versions schema_migrations records.
func versions(t *testing.T, conn *pgx.Conn) []int {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func knownVersions(t *testing.T) []int {
	t.Helper()
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

// syncWriter lets several stores log into one buffer.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestMigrateConcurrent(t *testing.T) {
	// Replicas starting at once on a new database all open it; each migration is applied exactly once.
	dsn := pgtest.NewDatabase(t)
	const n = 4
	logs := &syncWriter{}
	opts := Options{Cipher: testCipher(t), Logger: slog.New(slog.NewTextHandler(logs, nil))}
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*Store, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), dsn, opts)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open #%d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
		// Each store works.
		if err := stores[i].CreateRunner(t.Context(), api.Runner{Name: fmt.Sprintf("r%d", i), GitURL: "https://x/y.git"}); err != nil {
			t.Errorf("store #%d: CreateRunner: %v", i, err)
		}
	}
	want := knownVersions(t)
	if diff := cmp.Diff(want, versions(t, connect(t, dsn))); diff != "" {
		t.Errorf("schema_migrations after concurrent opens (-want +got):\n%s", diff)
	}
	if got := strings.Count(logs.String(), "applied migration"); got != len(want) {
		t.Errorf("concurrent opens applied %d migrations, want %d (each once); log:\n%s", got, len(want), logs)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	for i := range 3 {
		s, err := Open(t.Context(), dsn, testOptions(t))
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		if err := s.CreateRunner(t.Context(), api.Runner{Name: fmt.Sprintf("r%d", i), GitURL: "https://x/y.git"}); err != nil {
			t.Fatalf("open #%d: CreateRunner: %v", i, err)
		}
		s.Close()
	}
	conn := connect(t, dsn)
	if diff := cmp.Diff(knownVersions(t), versions(t, conn)); diff != "" {
		t.Errorf("schema_migrations after three opens (-want +got):\n%s", diff)
	}
	var runners int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM runners`).Scan(&runners); err != nil || runners != 3 {
		t.Errorf("runners after three opens = %d, %v; want 3 (a migration re-ran and dropped data?)", runners, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	openAt(t, dsn).Close()
	conn := connect(t, dsn)
	if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), dsn, testOptions(t))
	if err == nil {
		s.Close()
		t.Fatalf("Open of a database migrated by a newer runplane succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "newer than this binary knows") {
		t.Errorf("Open error = %q, want it to say the schema is newer", err)
	}
}

func TestMigrate(t *testing.T) {
	// Pending migrations are applied together or not at all: a failing one leaves no table and no record behind.
	dsn := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	log := slog.New(slog.DiscardHandler)
	v1 := &fstest.MapFile{Data: []byte(`CREATE TABLE a (x integer); INSERT INTO a VALUES (1);`)}
	v2 := &fstest.MapFile{Data: []byte(`CREATE TABLE b (y integer);`)}
	bad := &fstest.MapFile{Data: []byte(`CREATE TABLE c (z integer); SELECT no_such_function();`)}
	conn := connect(t, dsn)
	tables := func() string {
		t.Helper()
		rows, err := conn.Query(t.Context(), `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, " ")
	}

	steps := []struct {
		name       string
		fsys       fstest.MapFS
		wantErr    string
		wantTables string
	}{
		{"first and failing", fstest.MapFS{"migrations/0001_a.sql": v1, "migrations/0002_c.sql": bad}, "0002_c.sql", ""},
		{"first", fstest.MapFS{"migrations/0001_a.sql": v1}, "", "a schema_migrations"},
		{"first again", fstest.MapFS{"migrations/0001_a.sql": v1}, "", "a schema_migrations"},
		{"second", fstest.MapFS{"migrations/0001_a.sql": v1, "migrations/0002_b.sql": v2}, "", "a b schema_migrations"},
		{"a version missing from the binary", fstest.MapFS{"migrations/0001_a.sql": v1}, "newer than this binary",
			"a b schema_migrations"},
		{"bad name", fstest.MapFS{"migrations/x_a.sql": v1}, "positive version", "a b schema_migrations"},
		{"duplicate version", fstest.MapFS{"migrations/0001_a.sql": v1, "migrations/0001_b.sql": v2}, "share version",
			"a b schema_migrations"},
	}
	for _, st := range steps {
		err := migrate(t.Context(), pool, st.fsys, log, nil)
		switch {
		case st.wantErr == "" && err != nil:
			t.Errorf("%s: migrate: %v", st.name, err)
		case st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)):
			t.Errorf("%s: migrate error = %v, want one containing %q", st.name, err, st.wantErr)
		}
		if got := tables(); got != st.wantTables {
			t.Errorf("%s: tables = %q, want %q", st.name, got, st.wantTables)
		}
	}
	var rows int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM a`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("rows of a = %d, %v; want 1 (0001 ran more than once?)", rows, err)
	}
}

func TestMigrateLeastPrivilege(t *testing.T) {
	// Once the schema is in place, a role that may only read and write its tables can open the store.
	dsn := pgtest.NewDatabase(t)
	openAt(t, dsn).Close()
	srv := pgtest.Start(t)
	u, err := urlDatabase(dsn)
	if err != nil {
		t.Fatal(err)
	}
	role := "app_" + strings.ReplaceAll(u, "-", "_")
	role = role[:min(len(role), 63)]
	admin := connect(t, srv.SuperuserDSN(u))
	for _, q := range []string{
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'app-pw'`, pgx.Identifier{role}.Sanitize()),
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
		fmt.Sprintf(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s`, pgx.Identifier{role}.Sanitize()),
	} {
		if _, err := admin.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Roles belong to the cluster: this one would outlive the database.
		ctx := context.Background()
		for _, c := range []struct{ db, q string }{
			{u, `DROP OWNED BY ` + pgx.Identifier{role}.Sanitize()},
			{"postgres", `DROP ROLE ` + pgx.Identifier{role}.Sanitize()},
		} {
			conn, err := pgx.Connect(ctx, srv.SuperuserDSN(c.db))
			if err != nil {
				t.Errorf("drop role: %v", err)
				return
			}
			_, err = conn.Exec(ctx, c.q)
			conn.Close(ctx)
			if err != nil {
				t.Errorf("%s: %v", c.q, err)
			}
		}
	})
	appDSN := strings.Replace(dsn, pgtest.User+":"+srv.Password, role+":app-pw", 1)
	s := openAt(t, appDSN)
	if err := s.CreateRunner(t.Context(), api.Runner{Name: "r", GitURL: "https://x/y.git"}); err != nil {
		t.Errorf("CreateRunner as a role without CREATE: %v", err)
	}
}

// urlDatabase returns the database a postgres:// DSN names.
func urlDatabase(dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	return cfg.Database, nil
}
