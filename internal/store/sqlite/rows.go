package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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

// page answers one page of a list, newest first (create_time, then id), and the number of rows the conditions
// match, from one read-only snapshot: table and cols name what is listed, where and args the conditions, limit <= 0
// means no limit. what names the list in errors ("list jobs").
func page[T any](ctx context.Context, s *Store, what, table, cols string, where []string, args []any, limit, offset int,
	scan func(scanner) (T, error)) ([]T, int, error) {
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	lim := int64(-1) // SQLite: no limit
	if limit > 0 {
		lim = int64(limit)
	}
	offset = max(offset, 0)
	countQuery := `SELECT count(*) FROM ` + table + cond
	listQuery := `SELECT ` + cols + ` FROM ` + table + cond + ` ORDER BY create_time DESC, id DESC LIMIT ? OFFSET ?`
	fail := func(err error) ([]T, int, error) { return nil, 0, fmt.Errorf("sqlite: %s: %w", what, err) }
	if err := s.rs.warm(ctx, countQuery, listQuery); err != nil {
		return fail(err)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	count, err := s.rs.inTx(ctx, tx, countQuery)
	if err != nil {
		return fail(err)
	}
	var total int
	if err := count.QueryRowContext(ctx, args...).Scan(&total); err != nil {
		return fail(err)
	}
	if total <= offset {
		return []T{}, total, nil
	}
	list, err := s.rs.inTx(ctx, tx, listQuery)
	if err != nil {
		return fail(err)
	}
	rows, err := list.QueryContext(ctx, append(args, lim, offset)...)
	if err != nil {
		return fail(err)
	}
	items, err := scanAll(rows, scan)
	if err != nil {
		return fail(err)
	}
	return items, total, nil
}
