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

// nsTable is a table of namespaced objects kept under the type they are of: resource requests under their promise,
// compositions under their generated resource. Both follow store.Promises' write rules, written here once; a row
// scans as a store.ResourceRequest whose Promise is the owning type.
type nsTable struct {
	table, owner string // the table and its owning column
	noun         string // what a row is called in errors: "request", "composition"
}

var (
	requestTable     = nsTable{table: "resource_requests", owner: "promise", noun: "request"}
	compositionTable = nsTable{table: "compositions", owner: "resource", noun: "composition"}
)

func (t nsTable) selectOne() string {
	return `SELECT ` + t.owner + `, namespace, name, uid, doc, spec, status, generation, version, create_time FROM ` +
		t.table + ` WHERE ` + t.owner + ` = $1 AND namespace = $2 AND name = $3`
}

// create stores r as a new object of owner; before, when not nil, runs first in the transaction.
func (s *Store) createNS(ctx context.Context, t nsTable, owner string, r api.ResourceRequest, before func(pgx.Tx) error) (store.ResourceRequest, error) {
	ns, name := r.Metadata.Namespace, r.Metadata.Name
	doc, spec, status, err := store.EncodeRequest(r)
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("postgres: create %s %s/%s of %q: encode: %w", t.noun, ns, name, owner, err)
	}
	if !textOK(ns) || !textOK(name) {
		return store.ResourceRequest{}, invalidf("%s name %q cannot be stored", t.noun, name)
	}
	var stored store.ResourceRequest
	err = s.write(ctx, func(tx pgx.Tx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO `+t.table+` (`+t.owner+`, namespace, name, uid, doc, spec, status, generation,
			version, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 1, $8, $8)`,
			owner, ns, name, uuid.NewString(), string(doc), string(spec), string(status), now); err != nil {
			return err
		}
		stored, err = scanRequest(tx.QueryRow(ctx, t.selectOne(), owner, ns, name))
		return err
	})
	if violated(err) != "" {
		return store.ResourceRequest{}, conflictf("%s %q already exists in namespace %q", owner, name, ns)
	}
	return stored, wrap(err, "postgres: create %s %s/%s of %q", t.noun, ns, name, owner)
}

func (s *Store) getNS(ctx context.Context, t nsTable, owner, namespace, name string) (store.ResourceRequest, error) {
	if !textOK(owner) || !textOK(namespace) || !textOK(name) {
		return store.ResourceRequest{}, requestNotFound(owner, namespace, name)
	}
	r, err := scanRequest(s.pool.QueryRow(ctx, t.selectOne(), owner, namespace, name))
	if missing(err) {
		return store.ResourceRequest{}, requestNotFound(owner, namespace, name)
	}
	return r, wrap(err, "postgres: get %s %s/%s of %q", t.noun, namespace, name, owner)
}

func (s *Store) listNS(ctx context.Context, t nsTable, owner, namespace string) ([]store.ResourceRequest, error) {
	if !textOK(owner) || !textOK(namespace) {
		return []store.ResourceRequest{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+t.owner+`, namespace, name, uid, doc, spec, status, generation, version,
		create_time FROM `+t.table+` WHERE `+t.owner+` = $1 AND ($2 = '' OR namespace = $2) ORDER BY namespace, name`,
		owner, namespace)
	if err != nil {
		return nil, wrap(err, "postgres: list %ss", t.noun)
	}
	rs, err := collect(rows, scanRequest)
	return rs, wrap(err, "postgres: list %ss", t.noun)
}

func (s *Store) updateNS(ctx context.Context, t nsTable, owner string, r api.ResourceRequest, version int64) (store.ResourceRequest, error) {
	ns, name := r.Metadata.Namespace, r.Metadata.Name
	doc, spec, _, err := store.EncodeRequest(r)
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("postgres: update %s %s/%s of %q: encode: %w", t.noun, ns, name, owner, err)
	}
	var stored store.ResourceRequest
	err = s.write(ctx, func(tx pgx.Tx) error {
		cur, err := nsAt(ctx, tx, t, owner, ns, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.Exec(ctx, `UPDATE `+t.table+` SET doc = $1, spec = $2, generation = $3, version = version + 1,
			update_time = $4 WHERE `+t.owner+` = $5 AND namespace = $6 AND name = $7`,
			string(doc), string(spec), gen, s.now(), owner, ns, name); err != nil {
			return err
		}
		stored, err = scanRequest(tx.QueryRow(ctx, t.selectOne(), owner, ns, name))
		return err
	})
	return stored, wrap(err, "postgres: update %s %s/%s of %q", t.noun, ns, name, owner)
}

func (s *Store) setNSStatus(ctx context.Context, t nsTable, owner, namespace, name string, version int64, status json.RawMessage) (store.ResourceRequest, error) {
	_, _, st, err := store.EncodeRequest(api.ResourceRequest{Status: status})
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("postgres: set status of %s %s/%s of %q: %w", t.noun, namespace, name, owner, err)
	}
	var stored store.ResourceRequest
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := nsAt(ctx, tx, t, owner, namespace, name, version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE `+t.table+` SET status = $1, version = version + 1, update_time = $2
			WHERE `+t.owner+` = $3 AND namespace = $4 AND name = $5`, string(st), s.now(), owner, namespace, name); err != nil {
			return err
		}
		stored, err = scanRequest(tx.QueryRow(ctx, t.selectOne(), owner, namespace, name))
		return err
	})
	return stored, wrap(err, "postgres: set status of %s %s/%s of %q", t.noun, namespace, name, owner)
}

func (s *Store) deleteNS(ctx context.Context, t nsTable, owner, namespace, name string) error {
	if !textOK(owner) || !textOK(namespace) || !textOK(name) {
		return requestNotFound(owner, namespace, name)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+t.table+` WHERE `+t.owner+` = $1 AND namespace = $2 AND name = $3`,
			owner, namespace, name)
		if err == nil && tag.RowsAffected() == 0 {
			return requestNotFound(owner, namespace, name)
		}
		return err
	})
	return wrap(err, "postgres: delete %s %s/%s of %q", t.noun, namespace, name, owner)
}

func requestNotFound(owner, namespace, name string) error {
	if namespace == "" {
		return notFoundf("%s %q not found", owner, name)
	}
	return notFoundf("%s %q not found in namespace %q", owner, name, namespace)
}

// nsAt reads and locks an object's row in tx, checking its version (0: any).
func nsAt(ctx context.Context, tx pgx.Tx, t nsTable, owner, ns, name string, version int64) (store.RequestRow, error) {
	if !textOK(owner) || !textOK(ns) || !textOK(name) {
		return store.RequestRow{}, requestNotFound(owner, ns, name)
	}
	row, err := scanRequestRow(tx.QueryRow(ctx, t.selectOne()+` FOR UPDATE`, owner, ns, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return row, requestNotFound(owner, ns, name)
	}
	if err != nil {
		return row, err
	}
	if version != 0 && row.Version != version {
		return row, conflictf("%s %q was changed: it is at version %d, not %d", owner, name, row.Version, version)
	}
	return row, nil
}

func scanRequestRow(row pgx.Row) (store.RequestRow, error) {
	var r store.RequestRow
	var doc, spec, status string
	if err := row.Scan(&r.Promise, &r.Namespace, &r.Name, &r.UID, &doc, &spec, &status, &r.Generation, &r.Version, &r.Created); err != nil {
		return r, err
	}
	r.Doc, r.Spec, r.Status = []byte(doc), []byte(spec), []byte(status)
	return r, nil
}

func scanRequest(row pgx.Row) (store.ResourceRequest, error) {
	r, err := scanRequestRow(row)
	if err != nil {
		return store.ResourceRequest{}, err
	}
	rr, err := r.Decode()
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("%s/%s of %q: decode: %w", r.Namespace, r.Name, r.Promise, err)
	}
	return rr, nil
}
