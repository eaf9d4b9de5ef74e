package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/store"
)

// migrationSteps are the Go parts of migrations, by version.
func (s *Store) migrationSteps() map[int]migrationStep {
	return map[int]migrationStep{7: s.resealRunners}
}

// resealRunners binds every runner token and secret map sealed by an older runplane to its row
// (store.ResealLegacy). It runs once, as part of migration 7.
func (s *Store) resealRunners(ctx context.Context, tx pgx.Tx) error {
	type row struct {
		name     string
		tok, sec []byte
	}
	rows, err := tx.Query(ctx, `SELECT name, token_enc, secret_enc FROM runners`)
	if err != nil {
		return fmt.Errorf("reseal runners: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.name, &x.tok, &x.sec)
		return x, err
	})
	if err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE runners SET token_enc = $1, secret_enc = $2 WHERE name = $3`, tok, sec, r.name); err != nil {
			return fmt.Errorf("reseal runner %q: %w", r.name, err)
		}
	}
	return nil
}
