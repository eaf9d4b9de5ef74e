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
	promiseCols     = `name, uid, doc, spec, status, generation, version, create_time`
	selectPromise   = `SELECT ` + promiseCols + ` FROM promises WHERE name = ?`
	insertPromise   = `INSERT INTO promises (name, uid, doc, spec, status, generation, version, create_time, update_time) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)`
	updatePromise   = `UPDATE promises SET doc = ?, spec = ?, generation = ?, version = version + 1, update_time = ? WHERE name = ?`
	updatePromiseSt = `UPDATE promises SET status = ?, version = version + 1, update_time = ? WHERE name = ?`
	deletePromise   = `DELETE FROM promises WHERE name = ?`
	countRequests   = `SELECT count(*) FROM resource_requests WHERE promise = ?`
	promiseExists   = `SELECT count(*) FROM promises WHERE name = ?`
)

// CreatePromise stores a new promise; ErrConflict if the name is taken.
func (s *Store) CreatePromise(ctx context.Context, p api.Promise) (store.Promise, error) {
	name := p.Metadata.Name
	doc, spec, status, err := store.EncodePromise(p)
	if err != nil {
		return store.Promise{}, fmt.Errorf("sqlite: create promise %q: encode: %w", name, err)
	}
	now := toNanos(s.now())
	var stored store.Promise
	err = s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(insertPromise, name, uuid.NewString(), string(doc), string(spec), string(status), now, now); err != nil {
			return err
		}
		stored, err = scanPromise(tx.queryRow(selectPromise, name))
		return err
	}, insertPromise, selectPromise)
	if isUnique(err) {
		return store.Promise{}, conflictf("promise %q already exists", name)
	}
	return stored, wrap(err, "sqlite: create promise %q", name)
}

// GetPromise returns a promise; ErrNotFound if absent.
func (s *Store) GetPromise(ctx context.Context, name string) (store.Promise, error) {
	return getOne(ctx, s.rs, scanPromise, notFoundf("promise %q not found", name),
		fmt.Sprintf("sqlite: get promise %q", name), selectPromise, name)
}

// ListPromises returns every promise ordered by name; never nil.
func (s *Store) ListPromises(ctx context.Context) ([]store.Promise, error) {
	return listAll(ctx, s.rs, scanPromise, "sqlite: list promises", `SELECT `+promiseCols+` FROM promises ORDER BY name`)
}

// UpdatePromise replaces a promise's labels, annotations and spec over version.
func (s *Store) UpdatePromise(ctx context.Context, p api.Promise, version int64) (store.Promise, error) {
	name := p.Metadata.Name
	doc, spec, _, err := store.EncodePromise(p)
	if err != nil {
		return store.Promise{}, fmt.Errorf("sqlite: update promise %q: encode: %w", name, err)
	}
	var stored store.Promise
	err = s.write(ctx, func(tx *wtx) error {
		cur, err := s.promiseAt(tx, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.exec(updatePromise, string(doc), string(spec), gen, toNanos(s.now()), name); err != nil {
			return err
		}
		stored, err = scanPromise(tx.queryRow(selectPromise, name))
		return err
	}, selectPromise, updatePromise)
	return stored, wrap(err, "sqlite: update promise %q", name)
}

// SetPromiseStatus replaces a promise's status over version.
func (s *Store) SetPromiseStatus(ctx context.Context, name string, version int64, st api.PromiseStatus) (store.Promise, error) {
	status, err := store.EncodeJSON(st)
	if err != nil {
		return store.Promise{}, fmt.Errorf("sqlite: set status of promise %q: encode: %w", name, err)
	}
	var stored store.Promise
	err = s.write(ctx, func(tx *wtx) error {
		if _, err := s.promiseAt(tx, name, version); err != nil {
			return err
		}
		if _, err := tx.exec(updatePromiseSt, string(status), toNanos(s.now()), name); err != nil {
			return err
		}
		stored, err = scanPromise(tx.queryRow(selectPromise, name))
		return err
	}, selectPromise, updatePromiseSt)
	return stored, wrap(err, "sqlite: set status of promise %q", name)
}

// DeletePromise removes a promise that has no requests.
func (s *Store) DeletePromise(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.queryRow(countRequests, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			var exists int
			if err := tx.queryRow(promiseExists, name).Scan(&exists); err != nil {
				return err
			}
			if exists > 0 {
				return conflictf("promise %q has %s: delete them first", name, store.Count(n, "resource request", "resource requests"))
			}
		}
		res, err := tx.exec(deletePromise, name)
		return oneRow(res, err, "promise", name)
	}, countRequests, promiseExists, deletePromise)
	return wrap(err, "sqlite: delete promise %q", name)
}

// promiseAt reads the promise's row in tx, checking its version (0: any).
func (s *Store) promiseAt(tx *wtx, name string, version int64) (store.PromiseRow, error) {
	row, err := scanPromiseRow(tx.queryRow(selectPromise, name))
	if errors.Is(err, sql.ErrNoRows) {
		return row, notFoundf("promise %q not found", name)
	}
	if err != nil {
		return row, err
	}
	if version != 0 && row.Version != version {
		return row, conflictf("promise %q was changed: it is at version %d, not %d", name, row.Version, version)
	}
	return row, nil
}

func scanPromiseRow(row scanner) (store.PromiseRow, error) {
	var r store.PromiseRow
	var doc, spec, status string
	var created int64
	if err := row.Scan(&r.Name, &r.UID, &doc, &spec, &status, &r.Generation, &r.Version, &created); err != nil {
		return r, err
	}
	r.Doc, r.Spec, r.Status, r.Created = []byte(doc), []byte(spec), []byte(status), fromNanos(created)
	return r, nil
}

func scanPromise(row scanner) (store.Promise, error) {
	r, err := scanPromiseRow(row)
	if err != nil {
		return store.Promise{}, err
	}
	p, err := r.Decode()
	if err != nil {
		return store.Promise{}, fmt.Errorf("promise %q: decode: %w", r.Name, err)
	}
	return p, nil
}

// Resource requests are rows of requestTable (nsobjects.go), under their promise.

// CreateResourceRequest stores a new request of promise.
func (s *Store) CreateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest) (store.ResourceRequest, error) {
	return s.createNS(ctx, requestTable, promise, r, func(tx *wtx) error {
		var exists int
		if err := tx.queryRow(promiseExists, promise).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return invalidf("promise %q not found", promise)
		}
		return nil
	}, promiseExists)
}

// GetResourceRequest returns a request; ErrNotFound if absent.
func (s *Store) GetResourceRequest(ctx context.Context, promise, namespace, name string) (store.ResourceRequest, error) {
	return s.getNS(ctx, requestTable, promise, namespace, name)
}

// ListResourceRequests returns the requests of promise in namespace ("" for all), by namespace then name.
func (s *Store) ListResourceRequests(ctx context.Context, promise, namespace string) ([]store.ResourceRequest, error) {
	return s.listNS(ctx, requestTable, promise, namespace)
}

// UpdateResourceRequest replaces a request's apiVersion, labels, annotations and spec over version.
func (s *Store) UpdateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest, version int64) (store.ResourceRequest, error) {
	return s.updateNS(ctx, requestTable, promise, r, version)
}

// SetResourceRequestStatus replaces a request's status over version.
func (s *Store) SetResourceRequestStatus(ctx context.Context, promise, namespace, name string, version int64, status json.RawMessage) (store.ResourceRequest, error) {
	return s.setNSStatus(ctx, requestTable, promise, namespace, name, version, status)
}

// DeleteResourceRequest removes a request; ErrNotFound if absent.
func (s *Store) DeleteResourceRequest(ctx context.Context, promise, namespace, name string) error {
	return s.deleteNS(ctx, requestTable, promise, namespace, name)
}
