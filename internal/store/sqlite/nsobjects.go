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

// nsTable is a table of namespaced objects kept under the type they are of: resource requests under their promise,
// compositions under their generated resource. Both follow store.Promises' write rules, written here once; a row
// scans as a store.ResourceRequest whose Promise is the owning type.
type nsTable struct {
	noun string // what a row is called in errors: "request", "composition"
	// The statements, each taking the owner, namespace and name last.
	selectOne, insert, update, updateStatus, remove, listAll, listIn string
}

var (
	requestTable     = newNSTable("resource_requests", "promise", "request")
	compositionTable = newNSTable("compositions", "resource", "composition")
)

func newNSTable(table, owner, noun string) nsTable {
	cols := owner + `, namespace, name, uid, doc, spec, status, generation, version, create_time`
	key := ` WHERE ` + owner + ` = ? AND namespace = ? AND name = ?`
	return nsTable{
		noun:      noun,
		selectOne: `SELECT ` + cols + ` FROM ` + table + key,
		insert: `INSERT INTO ` + table + ` (uid, doc, spec, status, generation, version, create_time, update_time, ` +
			owner + `, namespace, name) VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?)`,
		update:       `UPDATE ` + table + ` SET doc = ?, spec = ?, generation = ?, version = version + 1, update_time = ?` + key,
		updateStatus: `UPDATE ` + table + ` SET status = ?, version = version + 1, update_time = ?` + key,
		remove:       `DELETE FROM ` + table + key,
		listAll:      `SELECT ` + cols + ` FROM ` + table + ` WHERE ` + owner + ` = ? ORDER BY namespace, name`,
		listIn:       `SELECT ` + cols + ` FROM ` + table + ` WHERE ` + owner + ` = ? AND namespace = ? ORDER BY name`,
	}
}

// createNS stores r as a new object of owner; before, when not nil, runs first in the transaction, and its
// statements are named in stmts.
func (s *Store) createNS(ctx context.Context, t nsTable, owner string, r api.ResourceRequest, before func(*wtx) error, stmts ...string) (store.ResourceRequest, error) {
	ns, name := r.Metadata.Namespace, r.Metadata.Name
	doc, spec, status, err := store.EncodeRequest(r)
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("sqlite: create %s %s/%s of %q: encode: %w", t.noun, ns, name, owner, err)
	}
	now := toNanos(s.now())
	var stored store.ResourceRequest
	err = s.write(ctx, func(tx *wtx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		if _, err := tx.exec(t.insert, uuid.NewString(), string(doc), string(spec), string(status), now, now, owner, ns, name); err != nil {
			return err
		}
		stored, err = scanRequest(tx.queryRow(t.selectOne, owner, ns, name))
		return err
	}, append(stmts, t.insert, t.selectOne)...)
	if isUnique(err) {
		return store.ResourceRequest{}, conflictf("%s %q already exists in namespace %q", owner, name, ns)
	}
	return stored, wrap(err, "sqlite: create %s %s/%s of %q", t.noun, ns, name, owner)
}

func (s *Store) getNS(ctx context.Context, t nsTable, owner, namespace, name string) (store.ResourceRequest, error) {
	return getOne(ctx, s.rs, scanRequest, requestNotFound(owner, namespace, name),
		fmt.Sprintf("sqlite: get %s %s/%s of %q", t.noun, namespace, name, owner), t.selectOne, owner, namespace, name)
}

func (s *Store) listNS(ctx context.Context, t nsTable, owner, namespace string) ([]store.ResourceRequest, error) {
	if namespace == "" {
		return listAll(ctx, s.rs, scanRequest, "sqlite: list "+t.noun+"s", t.listAll, owner)
	}
	return listAll(ctx, s.rs, scanRequest, "sqlite: list "+t.noun+"s", t.listIn, owner, namespace)
}

func (s *Store) updateNS(ctx context.Context, t nsTable, owner string, r api.ResourceRequest, version int64) (store.ResourceRequest, error) {
	ns, name := r.Metadata.Namespace, r.Metadata.Name
	doc, spec, _, err := store.EncodeRequest(r)
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("sqlite: update %s %s/%s of %q: encode: %w", t.noun, ns, name, owner, err)
	}
	var stored store.ResourceRequest
	err = s.write(ctx, func(tx *wtx) error {
		cur, err := nsAt(tx, t, owner, ns, name, version)
		if err != nil {
			return err
		}
		gen := cur.Generation
		if !bytes.Equal(cur.Spec, spec) {
			gen++
		}
		if _, err := tx.exec(t.update, string(doc), string(spec), gen, toNanos(s.now()), owner, ns, name); err != nil {
			return err
		}
		stored, err = scanRequest(tx.queryRow(t.selectOne, owner, ns, name))
		return err
	}, t.selectOne, t.update)
	return stored, wrap(err, "sqlite: update %s %s/%s of %q", t.noun, ns, name, owner)
}

func (s *Store) setNSStatus(ctx context.Context, t nsTable, owner, namespace, name string, version int64, status json.RawMessage) (store.ResourceRequest, error) {
	_, _, st, err := store.EncodeRequest(api.ResourceRequest{Status: status})
	if err != nil {
		return store.ResourceRequest{}, fmt.Errorf("sqlite: set status of %s %s/%s of %q: %w", t.noun, namespace, name, owner, err)
	}
	var stored store.ResourceRequest
	err = s.write(ctx, func(tx *wtx) error {
		if _, err := nsAt(tx, t, owner, namespace, name, version); err != nil {
			return err
		}
		if _, err := tx.exec(t.updateStatus, string(st), toNanos(s.now()), owner, namespace, name); err != nil {
			return err
		}
		stored, err = scanRequest(tx.queryRow(t.selectOne, owner, namespace, name))
		return err
	}, t.selectOne, t.updateStatus)
	return stored, wrap(err, "sqlite: set status of %s %s/%s of %q", t.noun, namespace, name, owner)
}

func (s *Store) deleteNS(ctx context.Context, t nsTable, owner, namespace, name string) error {
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(t.remove, owner, namespace, name)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				return requestNotFound(owner, namespace, name)
			}
		}
		return err
	}, t.remove)
	return wrap(err, "sqlite: delete %s %s/%s of %q", t.noun, namespace, name, owner)
}

func requestNotFound(owner, namespace, name string) error {
	if namespace == "" {
		return notFoundf("%s %q not found", owner, name)
	}
	return notFoundf("%s %q not found in namespace %q", owner, name, namespace)
}

// nsAt reads an object's row in tx, checking its version (0: any).
func nsAt(tx *wtx, t nsTable, owner, ns, name string, version int64) (store.RequestRow, error) {
	row, err := scanRequestRow(tx.queryRow(t.selectOne, owner, ns, name))
	if errors.Is(err, sql.ErrNoRows) {
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

func scanRequestRow(row scanner) (store.RequestRow, error) {
	var r store.RequestRow
	var doc, spec, status string
	var created int64
	if err := row.Scan(&r.Promise, &r.Namespace, &r.Name, &r.UID, &doc, &spec, &status, &r.Generation, &r.Version, &created); err != nil {
		return r, err
	}
	r.Doc, r.Spec, r.Status, r.Created = []byte(doc), []byte(spec), []byte(status), fromNanos(created)
	return r, nil
}

func scanRequest(row scanner) (store.ResourceRequest, error) {
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
