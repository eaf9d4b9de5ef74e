package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const (
	definitionCols     = `namespace, name, uid, doc, spec, status, generated, generation, version, create_time`
	selectDefinition   = `SELECT ` + definitionCols + ` FROM composition_definitions WHERE namespace = ? AND name = ?`
	insertDefinition   = `INSERT INTO composition_definitions (namespace, name, uid, doc, spec, status, generated, generation, version, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, '', 1, 1, ?, ?)`
	updateDefinition   = `UPDATE composition_definitions SET doc = ?, spec = ?, generation = ?, version = version + 1, update_time = ? WHERE namespace = ? AND name = ?`
	updateDefinitionSt = `UPDATE composition_definitions SET status = ?, generated = ?, version = version + 1, update_time = ? WHERE namespace = ? AND name = ?`
	deleteDefinition   = `DELETE FROM composition_definitions WHERE namespace = ? AND name = ?`
	listDefinitions    = `SELECT ` + definitionCols + ` FROM composition_definitions WHERE ? = '' OR namespace = ? ORDER BY namespace, name`
)

// CreateCompositionDefinition stores a new definition; ErrConflict if (namespace, name) is taken.
func (s *Store) CreateCompositionDefinition(ctx context.Context, d api.CompositionDefinition) (store.CompositionDefinition, error) {
	ns, name := d.Metadata.Namespace, d.Metadata.Name
	doc, spec, status, err := store.EncodeDefinition(d)
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("sqlite: create composition definition %s/%s: encode: %w", ns, name, err)
	}
	now := toNanos(s.now())
	var stored store.CompositionDefinition
	err = s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(insertDefinition, ns, name, uuid.NewString(), string(doc), string(spec), string(status), now, now); err != nil {
			return err
		}
		stored, err = scanDefinition(tx.queryRow(selectDefinition, ns, name))
		return err
	}, insertDefinition, selectDefinition)
	if isUnique(err) {
		return store.CompositionDefinition{}, conflictf("composition definition %q already exists in namespace %q", name, ns)
	}
	return stored, wrap(err, "sqlite: create composition definition %s/%s", ns, name)
}

// GetCompositionDefinition returns a definition; ErrNotFound if absent.
func (s *Store) GetCompositionDefinition(ctx context.Context, namespace, name string) (store.CompositionDefinition, error) {
	return getOne(ctx, s.rs, scanDefinition, notFoundf("composition definition %q not found in namespace %q", name, namespace),
		fmt.Sprintf("sqlite: get composition definition %s/%s", namespace, name), selectDefinition, namespace, name)
}

// ListCompositionDefinitions returns the definitions in namespace ("": all), by namespace then name; never nil.
func (s *Store) ListCompositionDefinitions(ctx context.Context, namespace string) ([]store.CompositionDefinition, error) {
	return listAll(ctx, s.rs, scanDefinition, "sqlite: list composition definitions", listDefinitions, namespace, namespace)
}

// UpdateCompositionDefinition replaces a definition's labels, annotations and spec over version.
func (s *Store) UpdateCompositionDefinition(ctx context.Context, d api.CompositionDefinition, version int64) (store.CompositionDefinition, error) {
	ns, name := d.Metadata.Namespace, d.Metadata.Name
	doc, spec, _, err := store.EncodeDefinition(d)
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("sqlite: update composition definition %s/%s: encode: %w", ns, name, err)
	}
	var stored store.CompositionDefinition
	err = s.write(ctx, func(tx *wtx) error {
		cur, err := definitionAt(tx, ns, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.exec(updateDefinition, string(doc), string(spec), gen, toNanos(s.now()), ns, name); err != nil {
			return err
		}
		stored, err = scanDefinition(tx.queryRow(selectDefinition, ns, name))
		return err
	}, selectDefinition, updateDefinition)
	return stored, wrap(err, "sqlite: update composition definition %s/%s", ns, name)
}

// SetCompositionDefinitionStatus replaces a definition's status and generated type over version.
func (s *Store) SetCompositionDefinitionStatus(ctx context.Context, namespace, name string, version int64,
	st api.CompositionDefinitionStatus, generated json.RawMessage) (store.CompositionDefinition, error) {
	status, err := store.EncodeJSON(st)
	if err != nil {
		return store.CompositionDefinition{}, fmt.Errorf("sqlite: set status of composition definition %s/%s: encode: %w", namespace, name, err)
	}
	var stored store.CompositionDefinition
	err = s.write(ctx, func(tx *wtx) error {
		cur, err := definitionAt(tx, namespace, name, version)
		if err != nil {
			return err
		}
		gen := string(cur.Generated)
		if generated != nil {
			gen = string(generated)
		}
		if _, err := tx.exec(updateDefinitionSt, string(status), gen, toNanos(s.now()), namespace, name); err != nil {
			return err
		}
		stored, err = scanDefinition(tx.queryRow(selectDefinition, namespace, name))
		return err
	}, selectDefinition, updateDefinitionSt)
	return stored, wrap(err, "sqlite: set status of composition definition %s/%s", namespace, name)
}

// DeleteCompositionDefinition removes a definition.
func (s *Store) DeleteCompositionDefinition(ctx context.Context, namespace, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteDefinition, namespace, name)
		return oneRow(res, err, "composition definition", namespace+"/"+name)
	}, deleteDefinition)
	return wrap(err, "sqlite: delete composition definition %s/%s", namespace, name)
}

// definitionAt reads the definition's row in tx, checking its version (0: any).
func definitionAt(tx *wtx, namespace, name string, version int64) (store.DefinitionRow, error) {
	row, err := scanDefinitionRow(tx.queryRow(selectDefinition, namespace, name))
	if errors.Is(err, sql.ErrNoRows) {
		return row, notFoundf("composition definition %q not found in namespace %q", name, namespace)
	}
	if err != nil {
		return row, err
	}
	if version != 0 && row.Version != version {
		return row, conflictf("composition definition %s/%s was changed: it is at version %d, not %d", namespace, name, row.Version, version)
	}
	return row, nil
}

func scanDefinitionRow(row scanner) (store.DefinitionRow, error) {
	var r store.DefinitionRow
	var doc, spec, status, generated string
	var created int64
	if err := row.Scan(&r.Namespace, &r.Name, &r.UID, &doc, &spec, &status, &generated, &r.Generation, &r.Version, &created); err != nil {
		return r, err
	}
	r.Doc, r.Spec, r.Status, r.Generated, r.Created = []byte(doc), []byte(spec), []byte(status), []byte(generated), fromNanos(created)
	return r, nil
}

func scanDefinition(row scanner) (store.CompositionDefinition, error) {
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
