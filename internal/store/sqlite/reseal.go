package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/runplane/runplane/internal/store"
)

// migrationSteps are the Go parts of migrations, by version.
func (s *Store) migrationSteps() map[int]migrationStep {
	return map[int]migrationStep{8: s.resealRunners}
}

// resealRunners binds every runner token and secret map sealed by an older runplane to its row
// (store.ResealLegacy). It runs once, as part of migration 8.
func (s *Store) resealRunners(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		name     string
		tok, sec []byte
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, token_enc, secret_enc FROM runners`)
	if err != nil {
		return fmt.Errorf("reseal runners: %w", err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.name, &r.tok, &r.sec); err != nil {
			rows.Close()
			return fmt.Errorf("reseal runners: %w", err)
		}
		all = append(all, r)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("reseal runners: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reseal runners: %w", err)
	}
	for _, r := range all {
		tok, sec, changed, err := store.ResealRunnerLegacy(s.cipher, r.name, r.tok, r.sec)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runners SET token_enc = ?, secret_enc = ? WHERE name = ?`, tok, sec, r.name); err != nil {
			return fmt.Errorf("reseal runner %q: %w", r.name, err)
		}
	}
	return nil
}
