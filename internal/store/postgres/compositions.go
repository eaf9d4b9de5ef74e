package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Compositions use resource_requests' columns, the resource in the promise's place, so their rows scan as
// requests' (scanRequestRow) and are read with store.CompositionOf.
const (
	compositionCols   = `resource, namespace, name, uid, doc, spec, status, generation, version, create_time`
	selectComposition = `SELECT ` + compositionCols + ` FROM compositions WHERE resource = $1 AND namespace = $2 AND name = $3`
)

// CreateComposition stores a new composition of resource; ErrConflict if taken.
func (s *Store) CreateComposition(ctx context.Context, resource string, c api.ResourceRequest) (store.Composition, error) {
	ns, name := c.Metadata.Namespace, c.Metadata.Name
	doc, spec, status, err := store.EncodeRequest(c)
	if err != nil {
		return store.Composition{}, fmt.Errorf("postgres: create composition %s/%s of %s: encode: %w", ns, name, resource, err)
	}
	if !textOK(resource) || !textOK(ns) || !textOK(name) {
		return store.Composition{}, invalidf("composition name %q cannot be stored", name)
	}
	var stored store.Composition
	err = s.write(ctx, func(tx pgx.Tx) error {
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO compositions (resource, namespace, name, uid, doc, spec, status, generation,
			version, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 1, $8, $8)`,
			resource, ns, name, uuid.NewString(), string(doc), string(spec), string(status), now); err != nil {
			return err
		}
		stored, err = scanComposition(tx.QueryRow(ctx, selectComposition, resource, ns, name))
		return err
	})
	if violated(err) != "" {
		return store.Composition{}, conflictf("%s %q already exists in namespace %q", resource, name, ns)
	}
	return stored, wrap(err, "postgres: create composition %s/%s of %s", ns, name, resource)
}

// GetComposition returns a composition; ErrNotFound if absent.
func (s *Store) GetComposition(ctx context.Context, resource, namespace, name string) (store.Composition, error) {
	if !textOK(resource) || !textOK(namespace) || !textOK(name) {
		return store.Composition{}, requestNotFound(resource, namespace, name)
	}
	c, err := scanComposition(s.pool.QueryRow(ctx, selectComposition, resource, namespace, name))
	if missing(err) {
		return store.Composition{}, requestNotFound(resource, namespace, name)
	}
	return c, wrap(err, "postgres: get composition %s/%s of %s", namespace, name, resource)
}

// ListCompositions returns the compositions of resource in namespace ("" for all), by namespace then name.
func (s *Store) ListCompositions(ctx context.Context, resource, namespace string) ([]store.Composition, error) {
	if !textOK(resource) || !textOK(namespace) {
		return []store.Composition{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+compositionCols+` FROM compositions
		WHERE resource = $1 AND ($2 = '' OR namespace = $2) ORDER BY namespace, name`, resource, namespace)
	if err != nil {
		return nil, wrap(err, "postgres: list compositions")
	}
	cs, err := collect(rows, scanComposition)
	return cs, wrap(err, "postgres: list compositions")
}

// UpdateComposition replaces a composition's apiVersion, labels, annotations and spec over version.
func (s *Store) UpdateComposition(ctx context.Context, resource string, c api.ResourceRequest, version int64) (store.Composition, error) {
	ns, name := c.Metadata.Namespace, c.Metadata.Name
	doc, spec, _, err := store.EncodeRequest(c)
	if err != nil {
		return store.Composition{}, fmt.Errorf("postgres: update composition %s/%s of %s: encode: %w", ns, name, resource, err)
	}
	var stored store.Composition
	err = s.write(ctx, func(tx pgx.Tx) error {
		cur, err := compositionAt(ctx, tx, resource, ns, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.Exec(ctx, `UPDATE compositions SET doc = $1, spec = $2, generation = $3, version = version + 1,
			update_time = $4 WHERE resource = $5 AND namespace = $6 AND name = $7`,
			string(doc), string(spec), gen, s.now(), resource, ns, name); err != nil {
			return err
		}
		stored, err = scanComposition(tx.QueryRow(ctx, selectComposition, resource, ns, name))
		return err
	})
	return stored, wrap(err, "postgres: update composition %s/%s of %s", ns, name, resource)
}

// SetCompositionStatus replaces a composition's status over version.
func (s *Store) SetCompositionStatus(ctx context.Context, resource, namespace, name string, version int64, status json.RawMessage) (store.Composition, error) {
	_, _, st, err := store.EncodeRequest(api.ResourceRequest{Status: status})
	if err != nil {
		return store.Composition{}, fmt.Errorf("postgres: set status of composition %s/%s of %s: %w", namespace, name, resource, err)
	}
	var stored store.Composition
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := compositionAt(ctx, tx, resource, namespace, name, version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE compositions SET status = $1, version = version + 1, update_time = $2
			WHERE resource = $3 AND namespace = $4 AND name = $5`, string(st), s.now(), resource, namespace, name); err != nil {
			return err
		}
		stored, err = scanComposition(tx.QueryRow(ctx, selectComposition, resource, namespace, name))
		return err
	})
	return stored, wrap(err, "postgres: set status of composition %s/%s of %s", namespace, name, resource)
}

// DeleteComposition removes a composition; ErrNotFound if absent.
func (s *Store) DeleteComposition(ctx context.Context, resource, namespace, name string) error {
	if !textOK(resource) || !textOK(namespace) || !textOK(name) {
		return requestNotFound(resource, namespace, name)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM compositions WHERE resource = $1 AND namespace = $2 AND name = $3`,
			resource, namespace, name)
		if err == nil && tag.RowsAffected() == 0 {
			return requestNotFound(resource, namespace, name)
		}
		return err
	})
	return wrap(err, "postgres: delete composition %s/%s of %s", namespace, name, resource)
}

func compositionAt(ctx context.Context, tx pgx.Tx, resource, ns, name string, version int64) (store.RequestRow, error) {
	if !textOK(resource) || !textOK(ns) || !textOK(name) {
		return store.RequestRow{}, requestNotFound(resource, ns, name)
	}
	row, err := scanRequestRow(tx.QueryRow(ctx, selectComposition+` FOR UPDATE`, resource, ns, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return row, requestNotFound(resource, ns, name)
	}
	if err != nil {
		return row, err
	}
	if version != 0 && row.Version != version {
		return row, conflictf("%s %q was changed: it is at version %d, not %d", resource, name, row.Version, version)
	}
	return row, nil
}

func scanComposition(row pgx.Row) (store.Composition, error) {
	r, err := scanRequest(row)
	if err != nil {
		return store.Composition{}, err
	}
	return store.CompositionOf(r), nil
}
