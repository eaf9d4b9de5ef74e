package sqlite

import (
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	for i := range 3 {
		s := openAt(t, path)
		if err := s.CreateRunner(t.Context(), api.Runner{Name: fmt.Sprintf("r%d", i), GitURL: "https://x/y.git"}); err != nil {
			t.Fatalf("open #%d: CreateRunner: %v", i, err)
		}
		if err := migrate(t.Context(), s.w, migrations, slog.New(slog.DiscardHandler), nil); err != nil {
			t.Errorf("open #%d: migrate again: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []int
	for _, m := range ms {
		want = append(want, m.Version)
	}
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema_migrations after three opens (-want +got):\n%s", diff)
	}
	var runners int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM runners`).Scan(&runners); err != nil || runners != 3 {
		t.Errorf("runners after three opens = %d, %v; want 3 (a migration re-ran and dropped data?)", runners, err)
	}
}

func TestMigrate(t *testing.T) {
	v1 := &fstest.MapFile{Data: []byte(`CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);`)}
	v2 := &fstest.MapFile{Data: []byte(`CREATE TABLE b (y INTEGER);`)}
	broken := &fstest.MapFile{Data: []byte(`CREATE TABLE c (z INTEGER); SELECT nonsense FROM nowhere;`)}
	tests := []struct {
		name    string
		runs    []fstest.MapFS // migrated in order on one database
		wantErr string         // from the last run
		want    []int          // versions recorded after the last run
		tables  []string       // tables that must exist after the last run
	}{
		{
			name:   "fresh",
			runs:   []fstest.MapFS{{"migrations/0001_a.sql": v1, "migrations/0002_b.sql": v2}},
			want:   []int{1, 2},
			tables: []string{"a", "b"},
		},
		{
			name:   "one at a time",
			runs:   []fstest.MapFS{{"migrations/0001_a.sql": v1}, {"migrations/0001_a.sql": v1, "migrations/0002_b.sql": v2}},
			want:   []int{1, 2},
			tables: []string{"a", "b"},
		},
		{
			name:    "failed migration rolls back alone",
			runs:    []fstest.MapFS{{"migrations/0001_a.sql": v1, "migrations/0002_c.sql": broken}},
			wantErr: "migration 0002_c.sql",
			want:    []int{1},
			tables:  []string{"a"},
		},
		{
			name:    "database newer than binary",
			runs:    []fstest.MapFS{{"migrations/0001_a.sql": v1, "migrations/0002_b.sql": v2}, {"migrations/0001_a.sql": v1}},
			wantErr: "schema version 2 is newer",
			want:    []int{1, 2},
		},
		{
			name:    "bad name",
			runs:    []fstest.MapFS{{"migrations/init.sql": v1}},
			wantErr: "must start with a positive version",
		},
		{
			name:    "duplicate version",
			runs:    []fstest.MapFS{{"migrations/0001_a.sql": v1, "migrations/001_b.sql": v2}},
			wantErr: "share version 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "m.db"), false))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			var last error
			for _, fsys := range tt.runs {
				last = migrate(t.Context(), db, fsys, slog.New(slog.DiscardHandler), nil)
			}
			if tt.wantErr == "" && last != nil {
				t.Fatalf("migrate: %v", last)
			}
			if tt.wantErr != "" && (last == nil || !strings.Contains(last.Error(), tt.wantErr)) {
				t.Fatalf("migrate error = %v, want one containing %q", last, tt.wantErr)
			}
			got := versions(t, db)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("recorded versions (-want +got):\n%s", diff)
			}
			for _, table := range tt.tables {
				if _, err := db.ExecContext(t.Context(), `SELECT * FROM `+table); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}
			if _, err := db.ExecContext(t.Context(), `SELECT * FROM c`); err == nil {
				t.Errorf("table c of a failed migration exists")
			}
		})
	}
}

func versions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil // no table: nothing recorded
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestConcurrentOpen(t *testing.T) {
	// Several processes starting at once on a new file all migrate it; exactly one applies each migration.
	path := filepath.Join(t.TempDir(), "runplane.db")
	const n = 4
	errs := make(chan error, n)
	stores := make(chan *Store, n)
	for range n {
		go func() {
			s, err := Open(t.Context(), path, testOptions(t))
			errs <- err
			stores <- s
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, m := range ms {
		want = append(want, m.Version)
	}
	if diff := cmp.Diff(want, versions(t, db)); diff != "" {
		t.Errorf("schema_migrations after concurrent opens (-want +got):\n%s", diff)
	}
}

// TestMigrateIdentity upgrades a database that has users from before 0002: they keep their ids and hashes, get an
// update time equal to their creation time, and root becomes the built-in user it is now created as.
func TestMigrateIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	initSQL, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(t.Context(), db, fstest.MapFS{"migrations/0001_init.sql": {Data: initSQL}}, slog.New(slog.DiscardHandler), nil); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	old := []store.User{
		{User: api.User{ID: "u-root", Username: "root", Provider: api.ProviderLocal, Builtin: true}, PasswordHash: "h1"},
		{User: api.User{ID: "u-ann", Username: "ann", Provider: api.ProviderLocal}, PasswordHash: "h2"},
		{User: api.User{ID: "u-root-ad", Username: "root", Provider: api.ProviderActiveDirectory}},
	}
	for _, u := range old {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO users (id, username, provider, password_hash, create_time)
			VALUES (?, ?, ?, ?, ?)`, u.ID, u.Username, u.Provider, u.PasswordHash, created.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path)
	defer s.Close()
	for _, want := range old {
		want.CreateTime, want.UpdateTime, want.Groups = created, created, []string{}
		got, err := s.GetUser(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("GetUser(%q) after migrating: %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetUser(%q) after migrating (-want +got):\n%s", want.ID, diff)
		}
	}
}

// TestMigrateLeases upgrades a database with a job running from before leases: it has none, so ClaimExpired hands
// it over at any time, and a queued one gets its lease when claimed.
func TestMigrateLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	before := fstest.MapFS{}
	for _, name := range []string{"migrations/0001_init.sql", "migrations/0002_identity.sql"} {
		b, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	if err := migrate(t.Context(), db, before, slog.New(slog.DiscardHandler), nil); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, j := range []struct{ id, status string }{{"t-running", "running"}, {"t-queued", "queued"}} {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO jobs (id, owner, task, status, create_time, start_time)
			VALUES (?, 'alice', 't', ?, ?, ?)`, j.id, j.status, created.UnixNano(), created.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path)
	defer s.Close()
	lease := store.Lease{Owner: "new", Until: created.Add(time.Hour)}
	got, err := s.ClaimExpired(t.Context(), created, lease)
	if err != nil || got.ID != "t-running" || got.Lease != (store.Lease{}) {
		t.Fatalf("ClaimExpired after migrating = %q with lease %+v, %v; want t-running without a lease", got.ID, got.Lease, err)
	}
	claimed, err := s.ClaimJob(t.Context(), created, lease)
	if err != nil || claimed.ID != "t-queued" || !cmp.Equal(claimed.Lease, lease) {
		t.Errorf("ClaimJob after migrating = %q with lease %+v, %v; want t-queued with %+v", claimed.ID, claimed.Lease, err, lease)
	}
}
