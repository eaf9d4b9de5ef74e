package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// CreateStateStore stores a new state store with its credentials sealed; ErrConflict if the name is taken.
func (s *Store) CreateStateStore(ctx context.Context, ss api.StateStore) error {
	def, sealed, err := store.SealStateStore(s.cipher, ss)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err = s.change(ctx, func(q dbtx) error {
		_, err := q.Exec(ctx, `INSERT INTO state_stores (name, kind, spec, credentials_enc, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $5)`, ss.Name, ss.Kind, string(def), nullBytes(sealed), s.now())
		return err
	})
	if violated(err) != "" {
		return conflictf("state store %q already exists", ss.Name)
	}
	return wrap(err, "postgres: create state store %q", ss.Name)
}

// GetStateStore returns a state store with its credentials opened; ErrNotFound if absent.
func (s *Store) GetStateStore(ctx context.Context, name string) (api.StateStore, error) {
	ss, err := s.scanStateStore(s.pool.QueryRow(ctx, `SELECT name, spec, credentials_enc FROM state_stores WHERE name = $1`, name))
	if missing(err) {
		return api.StateStore{}, notFoundf("state store %q not found", name)
	}
	if err != nil {
		return api.StateStore{}, wrap(err, "postgres: get state store %q", name)
	}
	return ss, nil
}

// ListStateStores returns every state store ordered by name.
func (s *Store) ListStateStores(ctx context.Context) ([]api.StateStore, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, spec, credentials_enc FROM state_stores ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list state stores")
	}
	out, err := collect(rows, s.scanStateStore)
	return out, wrap(err, "postgres: list state stores")
}

// UpdateStateStore replaces a state store; ErrNotFound if absent, ErrInvalid if its kind changes under a
// destination.
func (s *Store) UpdateStateStore(ctx context.Context, ss api.StateStore) error {
	if !textOK(ss.Name) {
		return notFoundf("state store %q not found", ss.Name)
	}
	def, sealed, err := store.SealStateStore(s.cipher, ss)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE state_stores SET kind = $1, spec = $2, credentials_enc = $3, update_time = $4
			WHERE name = $5`, ss.Kind, string(def), nullBytes(sealed), s.now(), ss.Name)
		if err := oneRow(tag, err, "state store", ss.Name); err != nil {
			return err
		}
		others, err := column[string](ctx, tx, `SELECT name FROM destinations WHERE store_name = $1 AND store_kind <> $2`,
			ss.Name, ss.Kind)
		if err != nil {
			return err
		}
		if len(others) > 0 {
			return invalidf("state store %q: kind cannot become %s while %s refer to it as another kind", ss.Name, ss.Kind,
				store.Count(len(others), "destination", "destinations"))
		}
		return nil
	})
	return wrap(err, "postgres: update state store %q", ss.Name)
}

// DeleteStateStore removes a state store; ErrConflict while a destination uses it. The row is deleted (and so
// locked) before the destinations are counted, so a destination created meanwhile is seen (see checkStoreRef).
func (s *Store) DeleteStateStore(ctx context.Context, name string) error {
	if !textOK(name) {
		return notFoundf("state store %q not found", name)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM state_stores WHERE name = $1`, name)
		if err := oneRow(tag, err, "state store", name); err != nil {
			return err
		}
		dests, err := column[string](ctx, tx, `SELECT name FROM destinations WHERE store_name = $1`, name)
		if err != nil {
			return err
		}
		if len(dests) > 0 {
			return conflictf("state store %q is used by %s", name, store.Count(len(dests), "destination", "destinations"))
		}
		return nil
	})
	return wrap(err, "postgres: delete state store %q", name)
}

func (s *Store) scanStateStore(row pgx.Row) (api.StateStore, error) {
	var name, def string
	var sealed []byte
	if err := row.Scan(&name, &def, &sealed); err != nil {
		return api.StateStore{}, err
	}
	return store.OpenStateStore(s.cipher, name, []byte(def), sealed)
}

// CreateDestination stores a new destination; ErrConflict if the name is taken, ErrInvalid without its store.
func (s *Store) CreateDestination(ctx context.Context, d api.Destination) error {
	def, err := store.EncodeJSON(d)
	if err != nil {
		return fmt.Errorf("postgres: create destination %q: encode: %w", d.Name, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		if err := checkStoreRef(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO destinations (name, store_kind, store_name, spec, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $5)`, d.Name, d.StateStoreRef.Kind, d.StateStoreRef.Name, string(def), s.now())
		return err
	})
	if violated(err) != "" {
		return conflictf("destination %q already exists", d.Name)
	}
	return wrap(err, "postgres: create destination %q", d.Name)
}

// GetDestination returns a destination; ErrNotFound if absent.
func (s *Store) GetDestination(ctx context.Context, name string) (api.Destination, error) {
	d, err := scanDestination(s.pool.QueryRow(ctx, `SELECT name, spec FROM destinations WHERE name = $1`, name))
	if missing(err) {
		return api.Destination{}, notFoundf("destination %q not found", name)
	}
	if err != nil {
		return api.Destination{}, wrap(err, "postgres: get destination %q", name)
	}
	return d, nil
}

// ListDestinations returns every destination ordered by name.
func (s *Store) ListDestinations(ctx context.Context) ([]api.Destination, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, spec FROM destinations ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list destinations")
	}
	out, err := collect(rows, scanDestination)
	return out, wrap(err, "postgres: list destinations")
}

// UpdateDestination replaces a destination; ErrNotFound if absent, ErrInvalid without its store.
func (s *Store) UpdateDestination(ctx context.Context, d api.Destination) error {
	if !textOK(d.Name) {
		return notFoundf("destination %q not found", d.Name)
	}
	def, err := store.EncodeJSON(d)
	if err != nil {
		return fmt.Errorf("postgres: update destination %q: encode: %w", d.Name, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		if err := checkStoreRef(ctx, tx, d); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE destinations SET store_kind = $1, store_name = $2, spec = $3, update_time = $4
			WHERE name = $5`, d.StateStoreRef.Kind, d.StateStoreRef.Name, string(def), s.now(), d.Name)
		return oneRow(tag, err, "destination", d.Name)
	})
	return wrap(err, "postgres: update destination %q", d.Name)
}

// DeleteDestination removes a destination; ErrNotFound if absent.
func (s *Store) DeleteDestination(ctx context.Context, name string) error {
	if !textOK(name) {
		return notFoundf("destination %q not found", name)
	}
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `DELETE FROM destinations WHERE name = $1`, name)
		return oneRow(tag, err, "destination", name)
	})
	return wrap(err, "postgres: delete destination %q", name)
}

// checkStoreRef fails with ErrInvalid unless d's state store exists with the kind d names. FOR SHARE holds the
// store's row until the transaction ends, so a concurrent delete of the store waits and then sees d.
func checkStoreRef(ctx context.Context, tx pgx.Tx, d api.Destination) error {
	var kind string
	err := tx.QueryRow(ctx, `SELECT kind FROM state_stores WHERE name = $1 FOR SHARE`, d.StateStoreRef.Name).Scan(&kind)
	if missing(err) {
		return invalidf("stateStoreRef: state store %q not found", d.StateStoreRef.Name)
	}
	if err != nil {
		return err
	}
	if kind != d.StateStoreRef.Kind {
		return invalidf("stateStoreRef: state store %q is a %s, not a %s", d.StateStoreRef.Name, kind, d.StateStoreRef.Kind)
	}
	return nil
}

func scanDestination(row pgx.Row) (api.Destination, error) {
	var name, def string
	if err := row.Scan(&name, &def); err != nil {
		return api.Destination{}, err
	}
	var d api.Destination
	if err := store.DecodeJSON([]byte(def), &d); err != nil {
		return api.Destination{}, fmt.Errorf("destination %q: decode: %w", name, err)
	}
	d.Name = name
	return d, nil
}
