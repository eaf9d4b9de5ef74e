package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Reading rows: the shapes every Get and List share, so that each says only its query and its messages.

// scanner is the one method of *sql.Row and *sql.Rows that a scan function uses.
type scanner interface{ Scan(dest ...any) error }

// getOne runs query on the pool of rs and reads its one row with scan. No row gives notFound, as it is; any other
// error is wrapped as "what: err".
func getOne[T any](ctx context.Context, rs *stmts, scan func(scanner) (T, error), notFound error, what, query string,
	args ...any) (T, error) {
	v, err := scan(rs.queryRow(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// listAll runs query on the pool of rs and reads every row with scan; never nil. An error is wrapped as "what: err".
func listAll[T any](ctx context.Context, rs *stmts, scan func(scanner) (T, error), what, query string,
	args ...any) ([]T, error) {
	rows, err := rs.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	vs, err := scanAll(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return vs, nil
}

// scanAll reads every row of rows with scan and closes rows; never nil.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	vs := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return vs, nil
}

// strings returns the first column of the rows of query.
func (t *wtx) strings(query string, args ...any) ([]string, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(row scanner) (s string, err error) { return s, row.Scan(&s) })
}

// oneRow turns the result of an UPDATE or DELETE of the kind named name into the store's errors: kind "runner"
// gives "runner "x" not found" when no row matched.
func oneRow(res sql.Result, err error, kind, name string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFoundf("%s %q not found", kind, name)
	}
	return nil
}

// notBuiltin returns the name of the object id of the kind named kind, read with query (which selects its name and
// whether it is built in), before it is changed or deleted (verb): ErrNotFound if absent, ErrConflict if built in,
// as in "role "Admin" is built in and cannot be deleted".
func (t *wtx) notBuiltin(query, kind, id, verb string) (string, error) {
	var name string
	var builtin bool
	err := t.queryRow(query, id).Scan(&name, &builtin)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFoundf("%s %q not found", kind, id)
	}
	if err != nil {
		return "", err
	}
	if builtin {
		return "", conflictf("%s %q is built in and cannot be %s", kind, name, verb)
	}
	return name, nil
}
