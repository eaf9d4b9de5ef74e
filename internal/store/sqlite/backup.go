package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Backup writes a consistent copy of the database file at path to dest, a new file, while servers may be using
// the database: SQLite's VACUUM INTO reads one snapshot (WAL mode lets writers go on meanwhile), so the copy holds
// every transaction committed before it began and none after. The copy is compact and needs no WAL file.
func Backup(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %s already exists", dest)
	}
	// Not the read-only DSN: query_only refuses VACUUM INTO, although it writes only dest.
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", dest, err)
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}
