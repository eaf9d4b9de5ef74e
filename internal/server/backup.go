package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runplane/runplane/internal/store/sqlite"
)

// Backup writes what restoring cfg's server needs into dir, a new directory that is itself a data dir a server
// can be started on: a consistent snapshot of the SQLite database, taken while the server runs, and the keys,
// without which its sealed secrets and sessions cannot be read. Job logs, the git cache and workspaces are not
// copied (a job's stdout is in the database). With a PostgreSQL store only the keys are written: back the
// database up with pg_dump. It returns what it wrote.
func Backup(ctx context.Context, cfg Config, dir string) ([]string, error) {
	data, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	keys := data
	if cfg.KeysDir != "" {
		keys = cfg.KeysDir
	}
	if _, err := os.Stat(filepath.Join(keys, secretKeyFile)); err != nil {
		return nil, fmt.Errorf("backup: no runplane keys in %s: %w", keys, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("backup: %s already exists: back up into a new directory", dir)
		}
		return nil, fmt.Errorf("backup: %w", err)
	}
	var wrote []string
	if cfg.Store == "" || cfg.Store == StoreSQLite {
		dest := filepath.Join(dir, dbFile)
		if err := sqlite.Backup(ctx, filepath.Join(data, dbFile), dest); err != nil {
			return wrote, fmt.Errorf("backup: %w", err)
		}
		wrote = append(wrote, dest)
	}
	for _, k := range []string{secretKeyFile, jwtKeyFile} {
		b, err := os.ReadFile(filepath.Join(keys, k))
		if err != nil {
			return wrote, fmt.Errorf("backup: %w", err)
		}
		dest := filepath.Join(dir, k)
		if err := os.WriteFile(dest, b, 0o600); err != nil {
			return wrote, fmt.Errorf("backup: %w", err)
		}
		wrote = append(wrote, dest)
	}
	return wrote, nil
}
