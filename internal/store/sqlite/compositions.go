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

// Compositions use resource_requests' columns, the resource in the promise's place, so their rows scan as
// requests' (scanRequestRow) and are read with store.CompositionOf.
const (
	compositionCols   = `resource, namespace, name, uid, doc, spec, status, generation, version, create_time`
	selectComposition = `SELECT ` + compositionCols + ` FROM compositions WHERE resource = ? AND namespace = ? AND name = ?`
	insertComposition = `INSERT INTO compositions (resource, namespace, name, uid, doc, spec, status, generation, version, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?)`
	updateComposition = `UPDATE compositions SET doc = ?, spec = ?, generation = ?, version = version + 1, update_time = ? WHERE resource = ? AND namespace = ? AND name = ?`
	updateCompSt      = `UPDATE compositions SET status = ?, version = version + 1, update_time = ? WHERE resource = ? AND namespace = ? AND name = ?`
	deleteComposition = `DELETE FROM compositions WHERE resource = ? AND namespace = ? AND name = ?`
	listCompositions  = `SELECT ` + compositionCols + ` FROM compositions WHERE resource = ? AND (? = '' OR namespace = ?) ORDER BY namespace, name`
)

// CreateComposition stores a new composition of resource; ErrConflict if taken.
func (s *Store) CreateComposition(ctx context.Context, resource string, c api.ResourceRequest) (store.Composition, error) {
	ns, name := c.Metadata.Namespace, c.Metadata.Name
	doc, spec, status, err := store.EncodeRequest(c)
	if err != nil {
		return store.Composition{}, fmt.Errorf("sqlite: create composition %s/%s of %s: encode: %w", ns, name, resource, err)
	}
	now := toNanos(s.now())
	var stored store.Composition
	err = s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(insertComposition, resource, ns, name, uuid.NewString(), string(doc), string(spec), string(status), now, now); err != nil {
			return err
		}
		stored, err = scanComposition(tx.queryRow(selectComposition, resource, ns, name))
		return err
	}, insertComposition, selectComposition)
	if isUnique(err) {
		return store.Composition{}, conflictf("%s %q already exists in namespace %q", resource, name, ns)
	}
	return stored, wrap(err, "sqlite: create composition %s/%s of %s", ns, name, resource)
}

// GetComposition returns a composition; ErrNotFound if absent.
func (s *Store) GetComposition(ctx context.Context, resource, namespace, name string) (store.Composition, error) {
	return getOne(ctx, s.rs, scanComposition, requestNotFound(resource, namespace, name),
		fmt.Sprintf("sqlite: get composition %s/%s of %s", namespace, name, resource), selectComposition, resource, namespace, name)
}

// ListCompositions returns the compositions of resource in namespace ("" for all), by namespace then name.
func (s *Store) ListCompositions(ctx context.Context, resource, namespace string) ([]store.Composition, error) {
	return listAll(ctx, s.rs, scanComposition, "sqlite: list compositions", listCompositions, resource, namespace, namespace)
}

// UpdateComposition replaces a composition's apiVersion, labels, annotations and spec over version.
func (s *Store) UpdateComposition(ctx context.Context, resource string, c api.ResourceRequest, version int64) (store.Composition, error) {
	ns, name := c.Metadata.Namespace, c.Metadata.Name
	doc, spec, _, err := store.EncodeRequest(c)
	if err != nil {
		return store.Composition{}, fmt.Errorf("sqlite: update composition %s/%s of %s: encode: %w", ns, name, resource, err)
	}
	var stored store.Composition
	err = s.write(ctx, func(tx *wtx) error {
		cur, err := compositionAt(tx, resource, ns, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.exec(updateComposition, string(doc), string(spec), gen, toNanos(s.now()), resource, ns, name); err != nil {
			return err
		}
		stored, err = scanComposition(tx.queryRow(selectComposition, resource, ns, name))
		return err
	}, selectComposition, updateComposition)
	return stored, wrap(err, "sqlite: update composition %s/%s of %s", ns, name, resource)
}

// SetCompositionStatus replaces a composition's status over version.
func (s *Store) SetCompositionStatus(ctx context.Context, resource, namespace, name string, version int64, status json.RawMessage) (store.Composition, error) {
	_, _, st, err := store.EncodeRequest(api.ResourceRequest{Status: status})
	if err != nil {
		return store.Composition{}, fmt.Errorf("sqlite: set status of composition %s/%s of %s: %w", namespace, name, resource, err)
	}
	var stored store.Composition
	err = s.write(ctx, func(tx *wtx) error {
		if _, err := compositionAt(tx, resource, namespace, name, version); err != nil {
			return err
		}
		if _, err := tx.exec(updateCompSt, string(st), toNanos(s.now()), resource, namespace, name); err != nil {
			return err
		}
		stored, err = scanComposition(tx.queryRow(selectComposition, resource, namespace, name))
		return err
	}, selectComposition, updateCompSt)
	return stored, wrap(err, "sqlite: set status of composition %s/%s of %s", namespace, name, resource)
}

// DeleteComposition removes a composition; ErrNotFound if absent.
func (s *Store) DeleteComposition(ctx context.Context, resource, namespace, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteComposition, resource, namespace, name)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				return requestNotFound(resource, namespace, name)
			}
		}
		return err
	}, deleteComposition)
	return wrap(err, "sqlite: delete composition %s/%s of %s", namespace, name, resource)
}

func compositionAt(tx *wtx, resource, ns, name string, version int64) (store.RequestRow, error) {
	row, err := scanRequestRow(tx.queryRow(selectComposition, resource, ns, name))
	if errors.Is(err, sql.ErrNoRows) {
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

func scanComposition(row scanner) (store.Composition, error) {
	r, err := scanRequest(row)
	if err != nil {
		return store.Composition{}, err
	}
	return store.CompositionOf(r), nil
}
