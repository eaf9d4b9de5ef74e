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
	promiseCols   = `name, uid, doc, spec, status, generation, version, create_time`
	selectPromise = `SELECT ` + promiseCols + ` FROM promises WHERE name = $1`
)

// CreatePromise stores a new promise; ErrConflict if the name is taken.
func (s *Store) CreatePromise(ctx context.Context, p api.Promise) (store.Promise, error) {
	name := p.Metadata.Name
	doc, spec, status, err := store.EncodePromise(p)
	if err != nil {
		return store.Promise{}, fmt.Errorf("postgres: create promise %q: encode: %w", name, err)
	}
	if !textOK(name) {
		return store.Promise{}, invalidf("promise name %q cannot be stored", name)
	}
	var stored store.Promise
	err = s.write(ctx, func(tx pgx.Tx) error {
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO promises (name, uid, doc, spec, status, generation, version, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, 1, 1, $6, $6)`, name, uuid.NewString(), string(doc), string(spec), string(status), now); err != nil {
			return err
		}
		stored, err = scanPromise(tx.QueryRow(ctx, selectPromise, name))
		return err
	})
	if violated(err) != "" {
		return store.Promise{}, conflictf("promise %q already exists", name)
	}
	return stored, wrap(err, "postgres: create promise %q", name)
}

// GetPromise returns a promise; ErrNotFound if absent.
func (s *Store) GetPromise(ctx context.Context, name string) (store.Promise, error) {
	p, err := scanPromise(s.pool.QueryRow(ctx, selectPromise, name))
	if missing(err) {
		return store.Promise{}, notFoundf("promise %q not found", name)
	}
	return p, wrap(err, "postgres: get promise %q", name)
}

// ListPromises returns every promise ordered by name; never nil.
func (s *Store) ListPromises(ctx context.Context) ([]store.Promise, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+promiseCols+` FROM promises ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "postgres: list promises")
	}
	ps, err := collect(rows, scanPromise)
	return ps, wrap(err, "postgres: list promises")
}

// UpdatePromise replaces a promise's labels, annotations and spec over version.
func (s *Store) UpdatePromise(ctx context.Context, p api.Promise, version int64) (store.Promise, error) {
	name := p.Metadata.Name
	doc, spec, _, err := store.EncodePromise(p)
	if err != nil {
		return store.Promise{}, fmt.Errorf("postgres: update promise %q: encode: %w", name, err)
	}
	var stored store.Promise
	err = s.write(ctx, func(tx pgx.Tx) error {
		cur, err := promiseAt(ctx, tx, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.Exec(ctx, `UPDATE promises SET doc = $1, spec = $2, generation = $3, version = version + 1,
			update_time = $4 WHERE name = $5`, string(doc), string(spec), gen, s.now(), name); err != nil {
			return err
		}
		stored, err = scanPromise(tx.QueryRow(ctx, selectPromise, name))
		return err
	})
	return stored, wrap(err, "postgres: update promise %q", name)
}

// SetPromiseStatus replaces a promise's status over version.
func (s *Store) SetPromiseStatus(ctx context.Context, name string, version int64, st api.PromiseStatus) (store.Promise, error) {
	status, err := store.EncodeJSON(st)
	if err != nil {
		return store.Promise{}, fmt.Errorf("postgres: set status of promise %q: encode: %w", name, err)
	}
	var stored store.Promise
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := promiseAt(ctx, tx, name, version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE promises SET status = $1, version = version + 1, update_time = $2 WHERE name = $3`,
			string(status), s.now(), name); err != nil {
			return err
		}
		stored, err = scanPromise(tx.QueryRow(ctx, selectPromise, name))
		return err
	})
	return stored, wrap(err, "postgres: set status of promise %q", name)
}

// DeletePromise removes a promise that has no requests.
func (s *Store) DeletePromise(ctx context.Context, name string) error {
	if !textOK(name) {
		return notFoundf("promise %q not found", name)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		// Lock the promise first, so that no request of it is created meanwhile.
		if _, err := promiseAt(ctx, tx, name, 0); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM resource_requests WHERE promise = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conflictf("promise %q has %s: delete them first", name, store.Count(n, "resource request", "resource requests"))
		}
		tag, err := tx.Exec(ctx, `DELETE FROM promises WHERE name = $1`, name)
		return oneRow(tag, err, "promise", name)
	})
	return wrap(err, "postgres: delete promise %q", name)
}

// promiseAt reads and locks the promise's row in tx, checking its version (0: any).
func promiseAt(ctx context.Context, tx pgx.Tx, name string, version int64) (store.PromiseRow, error) {
	if !textOK(name) {
		return store.PromiseRow{}, notFoundf("promise %q not found", name)
	}
	row, err := scanPromiseRow(tx.QueryRow(ctx, selectPromise+` FOR UPDATE`, name))
	if errors.Is(err, pgx.ErrNoRows) {
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

func scanPromiseRow(row pgx.Row) (store.PromiseRow, error) {
	var r store.PromiseRow
	var doc, spec, status string
	if err := row.Scan(&r.Name, &r.UID, &doc, &spec, &status, &r.Generation, &r.Version, &r.Created); err != nil {
		return r, err
	}
	r.Doc, r.Spec, r.Status = []byte(doc), []byte(spec), []byte(status)
	return r, nil
}

func scanPromise(row pgx.Row) (store.Promise, error) {
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
	if !textOK(promise) {
		return store.ResourceRequest{}, invalidf("promise %q not found", promise)
	}
	return s.createNS(ctx, requestTable, promise, r, func(tx pgx.Tx) error {
		// A shared lock on the promise: DeletePromise, which locks it for update, waits for this request.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM promises WHERE name = $1 FOR SHARE`, promise).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return invalidf("promise %q not found", promise)
		}
		return err
	})
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
