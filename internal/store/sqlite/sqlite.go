// Package sqlite is runplane's embedded store: one SQLite file in the data dir, through modernc.org/sqlite (no
// cgo). It implements store.Store and passes storetest.Run.
//
// The file is in WAL mode with synchronous=NORMAL: a committed change survives the process being killed (kill -9);
// only a power loss may drop the last few commits. Writes go through a single connection, so writers queue in Go
// instead of spinning on SQLITE_BUSY, and those that queue together share one transaction (group commit, see
// write.go). Reads use a pool of read-only connections that WAL lets run alongside the writer. Several processes
// may open one file: SQLite's file locks (and busy_timeout) serialize their writes, and ClaimJob and ClaimExpired stay
// exactly-once across them. It does not implement store.Events: such processes do not hear of each other's jobs.
//
// Runner tokens and secret values, and a run's sensitive values, are sealed with the secret.Cipher given in
// Options before they reach SQL. This package must never write them in plaintext, log them, or put them in an
// error, and must never import another store backend.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
)

var _ store.Store = (*Store)(nil)

// Options configure Open. Cipher is required; the other fields have working zero values.
type Options struct {
	// Cipher seals runner tokens and secrets at rest. Open fails without one: the store never keeps them in plaintext.
	Cipher *secret.Cipher
	// Logger receives migration and lifecycle messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock for create and update times the caller does not set; nil means time.Now.
	Now func() time.Time
}

// Store is a store.Store backed by one SQLite file. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // exactly one connection: every write, serialized
	r      *sql.DB // read-only connections
	ws, rs *stmts  // prepared statements of w and r
	wr     *writer // batches the writes on w
	cipher *secret.Cipher
	log    *slog.Logger
	now    func() time.Time
	// dry is the transaction every read and write of a DryRun view runs in; nil in the Store Open returns.
	dry *wtx
}

// busyTimeout is how long a statement waits for another process's write lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Open opens (creating it, mode 0600, if needed) the SQLite database at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, path, opts, true)
}

// open is Open with the choice of a separate reader pool; split=false puts reads on the single writer connection
// too, which the benchmarks compare against.
func open(ctx context.Context, path string, opts Options, split bool) (*Store, error) {
	if opts.Cipher == nil {
		return nil, errors.New("sqlite: open: Options.Cipher is required: runner secrets are never stored in plaintext")
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open: want a file path, got %q", path)
	}
	s := &Store{cipher: opts.Cipher, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("path", path)
	if s.now == nil {
		s.now = time.Now
	}
	// Create the file ourselves so it, and the -wal and -shm files SQLite gives the same mode, are private:
	// it holds password hashes and job output.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	f.Close()

	s.w, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := connect(ctx, s.w); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, s.w, migrations, s.log, s.migrationSteps()); err != nil {
		s.w.Close()
		return nil, err
	}
	s.ws = newStmts(s.w)
	if s.wr, err = newWriter(ctx, s.w, s.ws); err != nil {
		s.ws.close()
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !split {
		s.r, s.rs = s.w, s.ws
		return s, nil
	}
	s.r, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// database/sql keeps only 2 idle connections by default; a reader opened per query would pay for the pragmas
	// and a cold page cache every time.
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	s.rs = newStmts(s.r)
	return s, nil
}

// connect opens the writer's connection. Switching a new file to WAL needs an exclusive lock, and SQLite answers
// SQLITE_BUSY at once, without waiting, when another process is switching it at the same moment; so retry that
// for up to busyTimeout.
func connect(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		var e *sqlitedriver.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// dsn returns the data source name for path. Pragmas go in the DSN so that every pooled connection gets them.
func dsn(path string, readOnly bool) string {
	// A file: URI, so that no character of the path is taken for DSN syntax.
	p := filepath.ToSlash(path)
	if filepath.VolumeName(path) != "" {
		p = "/" + p
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
		// Temporary files in memory: above all the statement journal that every operation of a write batch (its
		// own savepoint) fills, which on disk cost each job's writes a few pwrite calls. They never outlive the
		// transaction, so crash safety does not depend on them.
		"_pragma=temp_store(MEMORY)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	} else {
		// Every transaction of the writer takes the write lock at BEGIN: a deferred one that reads first could fail
		// with SQLITE_BUSY_SNAPSHOT when another process commits in between, which busy_timeout cannot absorb.
		q = append(q, "_pragma=journal_mode(WAL)", "_txlock=immediate")
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// Close closes both connection pools. The last connection to close checkpoints the WAL into the database file.
func (s *Store) Close() error {
	// Statements first: SQLite keeps a connection with unfinalized statements open.
	errs := []error{s.ws.close()}
	if s.r != s.w {
		errs = append(errs, s.rs.close(), s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// storeError carries a clean message for the API while wrapping a store sentinel for errors.Is.
type storeError struct {
	msg  string
	kind error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.kind }

func notFoundf(format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), kind: store.ErrNotFound}
}

func conflictf(format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), kind: store.ErrConflict}
}

func invalidf(format string, args ...any) error {
	return &storeError{msg: fmt.Sprintf(format, args...), kind: store.ErrInvalid}
}

// isUnique reports whether err is a violated PRIMARY KEY or UNIQUE constraint.
func isUnique(err error) bool {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isPrimaryKey reports whether err is a violated PRIMARY KEY constraint: an id that is taken.
func isPrimaryKey(err error) bool {
	var e *sqlitedriver.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// read runs fn in a read transaction on the reader pool, so that its queries see one snapshot of the database;
// queries are the statements fn runs, which it prepares first. fn only queries through tx.
func (s *Store) read(ctx context.Context, fn func(tx *wtx) error, queries ...string) error {
	if s.dry != nil {
		return fn(s.dry)
	}
	if err := s.rs.warm(ctx, queries...); err != nil {
		return err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(&wtx{ctx: ctx, tx: tx, stmts: s.rs})
}

// Times are stored as unix nanoseconds (UTC by definition): they sort as numbers, which RFC 3339 text with
// trimmed fractions does not, and they cover 1678 to 2262.
func toNanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// The times nanoseconds since 1970 can hold.
var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// clampedNanos is toNanos for a time that may lie outside what nanoseconds can hold, like the far future a server
// passes to ClaimExpired to take every running job: it becomes the nearest time they can.
func clampedNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// leaseUntil stores a lease's end; the zero time, no lease, is NULL.
func leaseUntil(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: clampedNanos(t), Valid: true}
}

// storedTime returns t, or now when t is zero, as it reads back from the database.
func storedTime(t, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return fromNanos(toNanos(t))
}

func nullNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// nullBytes stores an empty value as NULL, so that it reads back as nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nullText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
