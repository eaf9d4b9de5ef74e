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

const (
	definitionCols   = `namespace, name, uid, doc, spec, status, generated, generation, version, create_time`
	selectDefinition = `SELECT ` + definitionCols + ` FROM composition_definitions WHERE namespace = $1 AND name = $2`
)

// CreateCompositionDefinition stores a new definition; ErrConflict if (namespace, name) is taken.
func (s *Store) CreateCompositionDefinition(ctx context.Context, d api.CompositionDefinition) (store.CompositionDefinition, error) {
	ns, name := d.Metadata.Namespace, d.Metadata.Name
	doc, spec, status, err := store.EncodeDefinition(d)
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("postgres: create composition definition %s/%s: encode: %w", ns, name, err)
	}
	if !textOK(ns) || !textOK(name) {
		return store.CompositionDefinition{}, invalidf("composition definition name %q cannot be stored", name)
	}
	var stored store.CompositionDefinition
	err = s.write(ctx, func(tx pgx.Tx) error {
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO composition_definitions (namespace, name, uid, doc, spec, status, generated,
			generation, version, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, '', 1, 1, $7, $7)`,
			ns, name, uuid.NewString(), string(doc), string(spec), string(status), now); err != nil {
			return err
		}
		stored, err = scanDefinition(tx.QueryRow(ctx, selectDefinition, ns, name))
		return err
	})
	if violated(err) != "" {
		return store.CompositionDefinition{}, conflictf("composition definition %q already exists in namespace %q", name, ns)
	}
	return stored, wrap(err, "postgres: create composition definition %s/%s", ns, name)
}

// GetCompositionDefinition returns a definition; ErrNotFound if absent.
func (s *Store) GetCompositionDefinition(ctx context.Context, namespace, name string) (store.CompositionDefinition, error) {
	notFound := notFoundf("composition definition %q not found in namespace %q", name, namespace)
	if !textOK(namespace) || !textOK(name) {
		return store.CompositionDefinition{}, notFound
	}
	d, err := scanDefinition(s.pool.QueryRow(ctx, selectDefinition, namespace, name))
	if missing(err) {
		return store.CompositionDefinition{}, notFound
	}
	return d, wrap(err, "postgres: get composition definition %s/%s", namespace, name)
}

// ListCompositionDefinitions returns the definitions in namespace ("": all), by namespace then name; never nil.
func (s *Store) ListCompositionDefinitions(ctx context.Context, namespace string) ([]store.CompositionDefinition, error) {
	if !textOK(namespace) {
		return []store.CompositionDefinition{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+definitionCols+` FROM composition_definitions WHERE $1 = '' OR namespace = $1
		ORDER BY namespace, name`, namespace)
	if err != nil {
		return nil, wrap(err, "postgres: list composition definitions")
	}
	ds, err := collect(rows, scanDefinition)
	return ds, wrap(err, "postgres: list composition definitions")
}

// UpdateCompositionDefinition replaces a definition's labels, annotations and spec over version.
func (s *Store) UpdateCompositionDefinition(ctx context.Context, d api.CompositionDefinition, version int64) (store.CompositionDefinition, error) {
	ns, name := d.Metadata.Namespace, d.Metadata.Name
	doc, spec, _, err := store.EncodeDefinition(d)
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("postgres: update composition definition %s/%s: encode: %w", ns, name, err)
	}
	var stored store.CompositionDefinition
	err = s.write(ctx, func(tx pgx.Tx) error {
		cur, err := definitionAt(ctx, tx, ns, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.Exec(ctx, `UPDATE composition_definitions SET doc = $1, spec = $2, generation = $3,
			version = version + 1, update_time = $4 WHERE namespace = $5 AND name = $6`,
			string(doc), string(spec), gen, s.now(), ns, name); err != nil {
			return err
		}
		stored, err = scanDefinition(tx.QueryRow(ctx, selectDefinition, ns, name))
		return err
	})
	return stored, wrap(err, "postgres: update composition definition %s/%s", ns, name)
}

// SetCompositionDefinitionStatus replaces a definition's status and generated type over version.
func (s *Store) SetCompositionDefinitionStatus(ctx context.Context, namespace, name string, version int64,
	st api.CompositionDefinitionStatus, generated json.RawMessage) (store.CompositionDefinition, error) {
	status, err := store.EncodeJSON(st)
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("postgres: set status of composition definition %s/%s: encode: %w", namespace, name, err)
	}
	var stored store.CompositionDefinition
	err = s.write(ctx, func(tx pgx.Tx) error {
		cur, err := definitionAt(ctx, tx, namespace, name, version)
		if err != nil {
			return err
		}
		gen := string(cur.Generated)
		if generated != nil {
			gen = string(generated)
		}
		if _, err := tx.Exec(ctx, `UPDATE composition_definitions SET status = $1, generated = $2, version = version + 1,
			update_time = $3 WHERE namespace = $4 AND name = $5`, string(status), gen, s.now(), namespace, name); err != nil {
			return err
		}
		stored, err = scanDefinition(tx.QueryRow(ctx, selectDefinition, namespace, name))
		return err
	})
	return stored, wrap(err, "postgres: set status of composition definition %s/%s", namespace, name)
}

// DeleteCompositionDefinition removes a definition.
func (s *Store) DeleteCompositionDefinition(ctx context.Context, namespace, name string) error {
	if !textOK(namespace) || !textOK(name) {
		return notFoundf("composition definition %q not found", namespace+"/"+name)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM composition_definitions WHERE namespace = $1 AND name = $2`, namespace, name)
		return oneRow(tag, err, "composition definition", namespace+"/"+name)
	})
	return wrap(err, "postgres: delete composition definition %s/%s", namespace, name)
}

// definitionAt reads and locks the definition's row in tx, checking its version (0: any).
func definitionAt(ctx context.Context, tx pgx.Tx, namespace, name string, version int64) (store.DefinitionRow, error) {
	notFound := notFoundf("composition definition %q not found in namespace %q", name, namespace)
	if !textOK(namespace) || !textOK(name) {
		return store.DefinitionRow{}, notFound
	}
	row, err := scanDefinitionRow(tx.QueryRow(ctx, selectDefinition+` FOR UPDATE`, namespace, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return row, notFound
	}
	if err != nil {
		return row, err
	}
	if version != 0 && row.Version != version {
		return row, conflictf("composition definition %s/%s was changed: it is at version %d, not %d", namespace, name, row.Version, version)
	}
	return row, nil
}

func scanDefinitionRow(row pgx.Row) (store.DefinitionRow, error) {
	var r store.DefinitionRow
	var doc, spec, status, generated string
	if err := row.Scan(&r.Namespace, &r.Name, &r.UID, &doc, &spec, &status, &generated, &r.Generation, &r.Version, &r.Created); err != nil {
		return r, err
	}
	r.Doc, r.Spec, r.Status, r.Generated = []byte(doc), []byte(spec), []byte(status), []byte(generated)
	return r, nil
}

func scanDefinition(row pgx.Row) (store.CompositionDefinition, error) {
	r, err := scanDefinitionRow(row)
	if err != nil {
		return store.CompositionDefinition{}, err
	}
	d, err := r.Decode()
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("composition definition %s/%s: decode: %w", r.Namespace, r.Name, err)
	}
	return d, nil
}
