package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	mig "github.com/runplane/runplane/internal/store/migration"
	"io/fs"
	"log/slog"
	"time"
)

// migrations holds the schema, one file per version: NNNN_what.sql. A file is never edited once released; a
// change to the schema is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration = mig.Migration

// loadMigrations reads fsys's migrations/*.sql in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	ms, err := mig.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// migrate applies, in version order, each migration of fsys the database has not recorded in schema_migrations,
// each in its own transaction together with its record. It is safe to run on every start and from two processes
// at once: the writer's transactions are BEGIN IMMEDIATE, so the second waits and then finds the work done.
// It refuses a database that records a version this binary does not know, i.e. one a newer runplane migrated.
//
// A version may have a Go step in steps, run after its SQL in the same transaction: work SQL cannot do, such as
// resealing values with the store's key.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, log *slog.Logger, steps map[int]migrationStep) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version      INTEGER PRIMARY KEY,
		name         TEXT NOT NULL,
		applied_time INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if known := len(ms); newest.Valid && (known == 0 || newest.Int64 > int64(ms[known-1].Version)) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this binary knows; upgrade runplane", newest.Int64)
	}
	for _, m := range ms {
		applied, err := applyMigration(ctx, db, m, steps[m.Version])
		if err != nil {
			return err
		}
		if applied {
			log.Info("applied migration", "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// migrationStep is the Go part of a migration, run inside its transaction.
type migrationStep func(ctx context.Context, tx *sql.Tx) error

func applyMigration(ctx context.Context, db *sql.DB, m migration, step migrationStep) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if step != nil {
		if err := step(ctx, tx); err != nil {
			return false, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_time) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("sqlite: record migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: commit: %w", m.Name, err)
	}
	return true, nil
}
