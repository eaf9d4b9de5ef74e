package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// CreateStateStore stores a new state store with its credentials sealed; ErrConflict if the name is taken.
func (s *Store) CreateStateStore(ctx context.Context, ss api.StateStore) error {
	def, sealed, err := store.SealStateStore(s.cipher, ss)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(insertStateStore, ss.Name, ss.Kind, string(def), sealed, now, now)
		return err
	}, insertStateStore)
	if isUnique(err) {
		return conflictf("state store %q already exists", ss.Name)
	}
	return wrap(err, "sqlite: create state store %q", ss.Name)
}

// GetStateStore returns a state store with its credentials opened; ErrNotFound if absent.
func (s *Store) GetStateStore(ctx context.Context, name string) (api.StateStore, error) {
	return getOne(ctx, s.rs, s.scanStateStore, notFoundf("state store %q not found", name),
		fmt.Sprintf("sqlite: get state store %q", name), `SELECT name, spec, credentials_enc FROM state_stores WHERE name = ?`, name)
}

// ListStateStores returns every state store ordered by name.
func (s *Store) ListStateStores(ctx context.Context) ([]api.StateStore, error) {
	return listAll(ctx, s.rs, s.scanStateStore, "sqlite: list state stores",
		`SELECT name, spec, credentials_enc FROM state_stores ORDER BY name`)
}

// UpdateStateStore replaces a state store; ErrNotFound if absent, ErrInvalid if its kind changes under a
// destination.
func (s *Store) UpdateStateStore(ctx context.Context, ss api.StateStore) error {
	def, sealed, err := store.SealStateStore(s.cipher, ss)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		others, err := tx.strings(destinationsOfOtherKind, ss.Name, ss.Kind)
		if err != nil {
			return err
		}
		if len(others) > 0 {
			return invalidf("state store %q: kind cannot become %s while %s refer to it as another kind", ss.Name, ss.Kind,
				store.Count(len(others), "destination", "destinations"))
		}
		res, err := tx.exec(updateStateStore, ss.Kind, string(def), sealed, now, ss.Name)
		return oneRow(res, err, "state store", ss.Name)
	}, destinationsOfOtherKind, updateStateStore)
	return wrap(err, "sqlite: update state store %q", ss.Name)
}

// DeleteStateStore removes a state store; ErrConflict while a destination uses it.
func (s *Store) DeleteStateStore(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		dests, err := tx.strings(storeDestinations, name)
		if err != nil {
			return err
		}
		res, err := tx.exec(deleteStateStore, name)
		if err := oneRow(res, err, "state store", name); err != nil {
			return err
		}
		if len(dests) > 0 {
			return conflictf("state store %q is used by %s", name, store.Count(len(dests), "destination", "destinations"))
		}
		return nil
	}, storeDestinations, deleteStateStore)
	return wrap(err, "sqlite: delete state store %q", name)
}

const (
	insertStateStore = `INSERT INTO state_stores (name, kind, spec, credentials_enc, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?)`
	updateStateStore        = `UPDATE state_stores SET kind = ?, spec = ?, credentials_enc = ?, update_time = ? WHERE name = ?`
	deleteStateStore        = `DELETE FROM state_stores WHERE name = ?`
	storeDestinations       = `SELECT name FROM destinations WHERE store_name = ? ORDER BY name`
	destinationsOfOtherKind = `SELECT name FROM destinations WHERE store_name = ? AND store_kind != ?`
	stateStoreKind          = `SELECT kind FROM state_stores WHERE name = ?`
)

func (s *Store) scanStateStore(row scanner) (api.StateStore, error) {
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
		return fmt.Errorf("sqlite: create destination %q: encode: %w", d.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		if err := tx.checkStoreRef(d); err != nil {
			return err
		}
		_, err := tx.exec(insertDestination, d.Name, d.StateStoreRef.Kind, d.StateStoreRef.Name, string(def), now, now)
		return err
	}, stateStoreKind, insertDestination)
	if isUnique(err) {
		return conflictf("destination %q already exists", d.Name)
	}
	return wrap(err, "sqlite: create destination %q", d.Name)
}

// GetDestination returns a destination; ErrNotFound if absent.
func (s *Store) GetDestination(ctx context.Context, name string) (api.Destination, error) {
	return getOne(ctx, s.rs, scanDestination, notFoundf("destination %q not found", name),
		fmt.Sprintf("sqlite: get destination %q", name), `SELECT name, spec FROM destinations WHERE name = ?`, name)
}

// ListDestinations returns every destination ordered by name.
func (s *Store) ListDestinations(ctx context.Context) ([]api.Destination, error) {
	return listAll(ctx, s.rs, scanDestination, "sqlite: list destinations", `SELECT name, spec FROM destinations ORDER BY name`)
}

// UpdateDestination replaces a destination; ErrNotFound if absent, ErrInvalid without its store.
func (s *Store) UpdateDestination(ctx context.Context, d api.Destination) error {
	def, err := store.EncodeJSON(d)
	if err != nil {
		return fmt.Errorf("sqlite: update destination %q: encode: %w", d.Name, err)
	}
	now := toNanos(s.now())
	err = s.write(ctx, func(tx *wtx) error {
		if err := tx.checkStoreRef(d); err != nil {
			return err
		}
		res, err := tx.exec(updateDestination, d.StateStoreRef.Kind, d.StateStoreRef.Name, string(def), now, d.Name)
		return oneRow(res, err, "destination", d.Name)
	}, stateStoreKind, updateDestination)
	return wrap(err, "sqlite: update destination %q", d.Name)
}

// DeleteDestination removes a destination; ErrNotFound if absent.
func (s *Store) DeleteDestination(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteDestination, name)
		return oneRow(res, err, "destination", name)
	}, deleteDestination)
	return wrap(err, "sqlite: delete destination %q", name)
}

// checkStoreRef fails with ErrInvalid unless d's state store exists with the kind d names.
func (t *wtx) checkStoreRef(d api.Destination) error {
	var kind string
	err := t.queryRow(stateStoreKind, d.StateStoreRef.Name).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
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

const (
	insertDestination = `INSERT INTO destinations (name, store_kind, store_name, spec, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?)`
	updateDestination = `UPDATE destinations SET store_kind = ?, store_name = ?, spec = ?, update_time = ? WHERE name = ?`
	deleteDestination = `DELETE FROM destinations WHERE name = ?`
)

func scanDestination(row scanner) (api.Destination, error) {
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
