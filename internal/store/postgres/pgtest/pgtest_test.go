package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestNewDatabase(t *testing.T) {
	srv := pgtest.Start(t)
	if again := pgtest.Start(t); again != srv {
		t.Errorf("Start returned two servers in one test binary, want one shared")
	}
	var name string
	t.Run("fresh", func(t *testing.T) {
		a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
		if a == b {
			t.Fatalf("NewDatabase returned %q twice", a)
		}
		ca, cb := connect(t, a), connect(t, b)
		exec(t, ca, `CREATE TABLE x (n integer)`)
		if n := count(t, cb, `SELECT count(*) FROM pg_tables WHERE tablename = 'x'`); n != 0 {
			t.Errorf("a table created in one database shows in the other")
		}
		// Tests connect as a plain role that owns its database.
		var super bool
		if err := ca.QueryRow(t.Context(), `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
			t.Fatal(err)
		}
		if super {
			t.Errorf("NewDatabase's DSN connects as a superuser, want %s, a plain role", pgtest.User)
		}
		if err := ca.QueryRow(t.Context(), `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must not wait for it.
		_ = connect(t, a)
	})
	admin := connect(t, srv.SuperuserDSN("postgres"))
	if n := count(t, admin, `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 0 {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestStopRestart(t *testing.T) {
	srv := pgtest.NewServer(t)
	dsn := srv.CreateDatabase(t)
	conn := connect(t, dsn)
	exec(t, conn, `CREATE TABLE x (n integer); INSERT INTO x VALUES (1)`)

	srv.Stop(t)
	if _, err := conn.Exec(t.Context(), `SELECT 1`); err == nil {
		t.Errorf("a connection made before Stop still works after it")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		c.Close(ctx)
		t.Fatalf("connect after Stop succeeded, want an error")
	}

	srv.Restart(t)
	if n := count(t, connect(t, dsn), `SELECT count(*) FROM x`); n != 1 {
		t.Errorf("rows after Restart = %d, want 1", n)
	}
	srv.Restart(t) // while running: stops first
	connect(t, dsn)
}

func TestKillRestart(t *testing.T) {
	srv := pgtest.NewServer(t)
	dsn := srv.CreateDatabase(t)
	conn := connect(t, dsn)
	exec(t, conn, `CREATE TABLE x (n integer); INSERT INTO x VALUES (1)`)
	srv.Kill(t)
	// The killed server's sessions end when they notice; the postmaster refuses to start while they hold its
	// shared memory, so a restart that works shows they are gone.
	srv.Restart(t)
	if n := count(t, connect(t, dsn), `SELECT count(*) FROM x`); n != 1 {
		t.Errorf("rows after Kill and Restart = %d, want 1: a committed transaction was lost", n)
	}
}
