// Package pgtest runs a real PostgreSQL server (Debian's postgresql package) for tests: its own cluster in a temp
// dir (in memory when /dev/shm allows; $PGTEST_DIR chooses another place), listening on 127.0.0.1 and a private
// unix socket dir only, tuned for speed over durability.
//
// A test binary shares one server, started on first use: its TestMain calls Main, and each test takes a fresh
// database of its own with NewDatabase (a CREATE DATABASE, tens of milliseconds). A test that stops, kills or
// restarts the server takes a private one with NewServer.
//
// It is for tests only. It must never touch the system's clusters (/var/lib/postgresql, /etc/postgresql, port
// 5432), nor leave a postgres running after the test binary that started it: servers are stopped by PID, and the
// kernel kills them (Pdeathsig) if the binary dies without cleaning up.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// binGlob finds the server binaries of Debian's postgresql packages, one directory per major version.
const binGlob = "/usr/lib/postgresql/*/bin"

// The roles of every server. Superuser creates and drops databases; User owns them and is what tests connect as:
// it is no superuser, as runplane's role in production need not be.
const (
	Superuser = "postgres"
	User      = "runplane"
)

// Server is a running PostgreSQL cluster. Its methods are safe for concurrent use, but Stop, Kill and Restart
// affect every test using the server: only servers from NewServer have them.
type Server struct {
	// Host and Port are where the server listens for TCP connections: 127.0.0.1 and a port that was free.
	Host string
	Port int
	// Password is User's password; SuperPassword is Superuser's.
	Password, SuperPassword string
	// Dir holds the cluster (Dir/data) and the unix socket; it is removed when the server is done.
	Dir string
	// Version is the server's major version.
	Version int

	shared bool
	bin    string
	cred   *syscall.Credential // nil: run as the current user
	dbs    atomic.Int64

	mu     sync.Mutex
	proc   *process // nil while stopped
	closed bool
}

var (
	mainCalled bool
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Main runs the tests of a package that uses Start or NewDatabase, then stops the shared server and removes its
// files. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

// Start returns the test binary's shared server, starting it on first use. Without PostgreSQL's binaries (or,
// as root, without the postgres system user to run them as) the test is skipped, unless the environment variable
// CI is "true", where it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	if !mainCalled {
		t.Fatalf("pgtest: the shared server needs the package's TestMain to call pgtest.Main(m), which stops it " +
			"when the tests end")
	}
	bin, cred := requirePostgres(t)
	sharedOnce.Do(func() {
		shared, sharedErr = start(bin, cred, true)
	})
	if sharedErr != nil {
		t.Fatalf("pgtest: start the shared server: %v", sharedErr)
	}
	return shared
}

// NewDatabase creates a fresh, empty database on the shared server for t, owned by User, and returns its DSN. It
// is dropped when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return Start(t).CreateDatabase(t)
}

// NewServer starts a server of t's own, which t may stop, kill and restart; it is stopped and removed when t
// ends. It skips or fails t as Start does. Unlike the shared server it commits synchronously: a transaction that
// committed survives Kill.
func NewServer(t testing.TB) *Server {
	t.Helper()
	bin, cred := requirePostgres(t)
	s, err := start(bin, cred, false)
	if err != nil {
		t.Fatalf("pgtest: start a server: %v", err)
	}
	t.Cleanup(s.close)
	return s
}

// DSN returns the URL that connects to db as User over TCP.
func (s *Server) DSN(db string) string { return s.dsn(User, s.Password, db) }

// SuperuserDSN returns the URL that connects to db as Superuser over TCP: for tests that need to look behind the
// store's back (terminate its connections, read the server's files).
func (s *Server) SuperuserDSN(db string) string { return s.dsn(Superuser, s.SuperPassword, db) }

func (s *Server) dsn(role, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, password),
		Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// CreateDatabase creates a fresh, empty database for t, owned by User, and returns its DSN. The database is
// dropped, whoever is still connected to it, when t ends.
func (s *Server) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := s.dbName(t.Name())
	start := time.Now()
	create := fmt.Sprintf(`CREATE DATABASE %s OWNER %s TEMPLATE template0`, pgx.Identifier{name}.Sanitize(),
		pgx.Identifier{User}.Sanitize())
	if s.Version >= 15 {
		// Copying template0's files is several times faster than PostgreSQL 15's default, which writes every
		// block to the write-ahead log; the checkpoint it needs is cheap with fsync off.
		create += ` STRATEGY FILE_COPY`
	}
	if err := s.super(t.Context(), create); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Logf("pgtest: created database %s in %v", name, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if !s.running() {
			return // stopped by the test, or gone with its server
		}
		if err := s.super(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// dbName makes a database name, unique in the server, that says which test it belongs to.
func (s *Server) dbName(test string) string {
	n := s.dbs.Add(1)
	name := fmt.Sprintf("t%04d_%s", n, strings.ToLower(unsafeChars.ReplaceAllString(test, "_")))
	return name[:min(len(name), 63)] // PostgreSQL's limit on identifiers
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// super runs one statement as Superuser in the database postgres, on a connection of its own: CREATE and DROP
// DATABASE may not run in a transaction, nor share a session with other tests' work.
func (s *Server) super(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.SuperuserDSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop shuts the server down as an administrator would (a fast shutdown: sessions are ended, the data is
// checkpointed) and waits until it exited. Clients then fail to connect until Restart.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mustOwn(t, "Stop")
	if err := s.stop(syscall.SIGINT, 30*time.Second); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Kill kills the postmaster with SIGKILL, as a crash of the database server would; its sessions end when they
// notice. Restart recovers the cluster from its write-ahead log.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.mustOwn(t, "Kill")
	if err := s.stop(syscall.SIGKILL, 30*time.Second); err != nil {
		t.Fatalf("pgtest: kill: %v", err)
	}
}

// Restart starts the server again on the same port and data, stopping it first (fast) if it is running. The DSNs
// handed out before keep working.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mustOwn(t, "Restart")
	if err := s.stop(syscall.SIGINT, 30*time.Second); err != nil {
		t.Fatalf("pgtest: restart: stop: %v", err)
	}
	// After a kill, the old server's sessions may still hold its shared memory for a moment; the postmaster
	// refuses to start until they are gone.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) mustOwn(t testing.TB, what string) {
	t.Helper()
	if s.shared {
		t.Fatalf("pgtest: %s on the shared server would disturb every other test; use NewServer", what)
	}
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}
