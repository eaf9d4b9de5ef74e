package postgres

import (
	"context"
	"embed"
	"fmt"
	mig "github.com/runplane/runplane/internal/store/migration"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations holds the schema, one file per version: NNNN_what.sql. A file is never edited once released; a
// change to the schema is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration = mig.Migration

// migrationLock is the advisory lock migrate holds: replicas starting together apply each migration once.
const migrationLock = 0x72756e706c616e66

// loadMigrations reads fsys's migrations/*.sql in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	ms, err := mig.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// migrate applies, in version order, each migration of fsys the database has not recorded in schema_migrations,
// all in one transaction together with their records. The transaction first takes migrationLock, so replicas that
// start at once queue: the first applies what is missing, the others then find it done. DDL is transactional in
// PostgreSQL, so a migration that fails leaves nothing behind. migrate refuses a database that records a version
// this binary does not know, i.e. one a newer runplane migrated.
//
// A version may have a Go step in steps, run after its SQL in the same transaction: work SQL cannot do, such as
// resealing values with the store's key.
func migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, log *slog.Logger, steps map[int]migrationStep) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return wrap(err, "postgres: migrate")
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	applied, err := apply(ctx, tx, ms, steps)
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err, "postgres: migrate: commit")
	}
	for _, m := range applied {
		log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	return nil
}

// migrationStep is the Go part of a migration, run inside its transaction.
type migrationStep func(ctx context.Context, tx pgx.Tx) error

// apply is migrate's transaction: it takes the lock and applies what is missing.
func apply(ctx context.Context, tx pgx.Tx, ms []migration, steps map[int]migrationStep) ([]migration, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return nil, wrap(err, "postgres: lock for migrations")
	}
	// Look before creating: a database already up to date then needs no CREATE privilege, so replicas may run as
	// a role that cannot change the schema once it is in place.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, wrap(err, "postgres: read schema version")
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (
			version      integer PRIMARY KEY,
			name         text NOT NULL,
			applied_time timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return nil, wrap(err, "postgres: create schema_migrations")
		}
	}
	var newest *int
	if err := tx.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return nil, wrap(err, "postgres: read schema version")
	}
	if known := len(ms); newest != nil && (known == 0 || *newest > ms[known-1].Version) {
		return nil, fmt.Errorf("postgres: database schema version %d is newer than this binary knows; upgrade runplane", *newest)
	}
	var applied []migration
	for _, m := range ms {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
			m.Version).Scan(&done); err != nil {
			return nil, wrap(err, "postgres: migration %s", m.Name)
		}
		if done {
			continue
		}
		// No arguments: pgx sends the file with the simple protocol, which runs several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return nil, wrap(err, "postgres: migration %s", m.Name)
		}
		if step := steps[m.Version]; step != nil {
			if err := step(ctx, tx); err != nil {
				return nil, fmt.Errorf("postgres: migration %s: %w", m.Name, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
			m.Version, m.Name); err != nil {
			return nil, wrap(err, "postgres: record migration %s", m.Name)
		}
		applied = append(applied, m)
	}
	return applied, nil
}
