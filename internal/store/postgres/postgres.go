// Package postgres is runplane's distributed store: one PostgreSQL database shared by every replica, through pgx
// (pgxpool, no database/sql). It implements store.Store and passes storetest.Run.
//
// Everything a replica must agree on with the others is decided by the database: ClaimJob takes a queued job with
// one UPDATE over SELECT ... FOR UPDATE SKIP LOCKED, so several replicas claiming at once never run one job twice,
// and ClaimExpired takes over a job whose lease ran out the same way; CreateJob's idempotency rests on a unique
// index; and writes that check before they change (deleting a group that may have members, say) hold a
// transaction-scoped advisory lock, so they are as atomic as SQLite's single writer makes them. Migrations run
// under another advisory lock, so replicas may start at the same moment. Replicas hear of each other's new and
// finished jobs through LISTEN/NOTIFY (store.Events, see events.go).
//
// Runner tokens and secret values, and a run's sensitive values, are sealed with the secret.Cipher given in
// Options before they reach SQL. This package must never write them in plaintext, log them, or put them in an
// error, must never put the DSN's password in an error or a log, and must never import another store backend.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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

// Store is a store.Store backed by a PostgreSQL database. It is safe for concurrent use, and any number of Stores,
// in any number of processes, may share one database.
type Store struct {
	pg *pgxpool.Pool
	// pool runs every statement: pg, or in a DryRun view the view's transaction (dry).
	pool   pgdb
	dry    pgx.Tx
	cipher *secret.Cipher
	log    *slog.Logger
	now    func() time.Time
}

// Open connects to the database dsn names (a postgres:// URL or key=value pairs, as libpq takes them; pool_*
// parameters tune the pool) and brings its schema up to date. It fails if the database cannot be reached within
// ctx or the DSN's connect_timeout.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Cipher == nil {
		return nil, errors.New("postgres: open: Options.Cipher is required: runner secrets are never stored in plaintext")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn redacts the password from the DSN it quotes.
		return nil, wrap(err, "postgres: open")
	}
	s := &Store{cipher: opts.Cipher, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("host", cfg.ConnConfig.Host, "port", cfg.ConnConfig.Port, "database", cfg.ConnConfig.Database)
	if s.now == nil {
		s.now = time.Now
	}
	if s.pg, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, wrap(err, "postgres: open")
	}
	s.pool = s.pg
	// The pool connects lazily; a DSN that points nowhere should fail here, not on the first request.
	if err := s.pg.Ping(ctx); err != nil {
		s.pg.Close()
		// pgconn says which user, database and address it tried.
		return nil, wrap(err, "postgres: open")
	}
	if err := migrate(ctx, s.pg, migrations, s.log, s.migrationSteps()); err != nil {
		s.pg.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, waiting for the connections in use to be released.
func (s *Store) Close() error {
	s.pg.Close()
	return nil
}

// catalogLock is the advisory lock (a transaction-scoped one, in the database's own space of keys) held by every
// write that reads before it writes: DeleteRunner, and the writes of users, groups, memberships, roles, role
// bindings and API tokens that check what they refer to or what is in their way. It serializes them as SQLite's
// single writer does, so each check stays true until its write commits. Those writes are rare. Single-statement
// writes, which no check of theirs depends on, and the job queue and audit log never take it.
const catalogLock = 0x72756e706c616e65 // "runplane"

// beginCatalog begins a transaction and takes catalogLock in the same round trip.
var beginCatalog = fmt.Sprintf(`BEGIN; SELECT pg_advisory_xact_lock(%d)`, int64(catalogLock))

// write runs fn in a transaction holding catalogLock; fn's error rolls it back. The audit entry pending in ctx,
// if any, is written after fn in the same transaction.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	p := store.AuditFrom(ctx)
	audited := p.Take()
	change := func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if audited {
			return s.insertPendingAudit(ctx, tx, p)
		}
		return nil
	}
	var err error
	if s.dry != nil {
		// A savepoint of the dry run's transaction, which holds catalogLock already.
		err = pgx.BeginFunc(ctx, s.dry, change)
	} else {
		err = pgx.BeginTxFunc(ctx, s.pg, pgx.TxOptions{BeginQuery: beginCatalog}, change)
	}
	if audited {
		p.Done(err == nil)
	}
	return err
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

// wrap says what failed, except in the store's own errors, whose messages are final. A value PostgreSQL cannot
// hold as text is the caller's mistake: ErrInvalid.
func wrap(err error, format string, args ...any) error {
	var se *storeError
	if err == nil || errors.As(err, &se) {
		return err
	}
	if badText(err) {
		return invalidf("text must be valid UTF-8 without NUL bytes")
	}
	if unavailable(err) {
		return &unavailableError{msg: fmt.Sprintf(format, args...), err: err}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// unavailableError is a failure to reach the database: it is both its cause and store.ErrUnavailable.
type unavailableError struct {
	msg string
	err error
}

func (e *unavailableError) Error() string   { return e.msg + ": " + e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{e.err, store.ErrUnavailable} }

// unavailable reports whether err means the database could not be reached or went away (restarting, shutting
// down, network lost), so that the same call may succeed later.
func unavailable(err error) bool {
	var connect *pgconn.ConnectError
	var pg *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &connect), pgconn.SafeToRetry(err):
		return true
	case errors.As(err, &pg):
		// Class 08: connection exception; 57P01-03: the server is shutting down or starting; 53300: too many
		// connections.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" ||
			pg.Code == "53300"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr):
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return false
}

// badText reports whether err is PostgreSQL refusing a text value, a NUL byte or invalid UTF-8, which its text
// type cannot hold (SQLite's can).
func badText(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "22021" // character_not_in_repertoire
}

// missing reports whether a lookup by key found nothing: no row, or a key PostgreSQL cannot even hold as text,
// which no row can have (SQLite answers it with no row).
func missing(err error) bool { return errors.Is(err, pgx.ErrNoRows) || badText(err) }

// textOK reports whether PostgreSQL can hold s as text. Statements that write by key check it first: their
// error could not tell a key no row can have from a value that cannot be stored.
func textOK(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// violated returns the name of the unique constraint (or primary key) err violates, "" if it is another error.
func violated(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == "23505" { // unique_violation
		return e.ConstraintName
	}
	return ""
}

// Times are timestamptz, which keeps microseconds: a time reads back truncated to them, in UTC.

// storedTime returns t, or now when t is zero, as it reads back from the database.
func storedTime(t, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return t.Truncate(time.Microsecond).UTC()
}

// stored returns t as it reads back from the database.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// utc returns a scanned nullable time in UTC.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// nullBytes stores an empty value as NULL, so that it reads back as nil.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nullText stores empty JSON as NULL.
func nullText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// textBytes returns a scanned nullable text column as bytes; nil for NULL.
func textBytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// nonNil returns ids, or an empty list for nil: a list as the store returns it.
func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}
