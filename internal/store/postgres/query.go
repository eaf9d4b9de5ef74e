package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// column returns the first column of the rows of query.
func column[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[T])
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// collect scans every row of rows with scan; never nil.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// oneRow turns the result of an UPDATE or DELETE of the kind named name into the store's errors: kind "runner"
// gives "runner "x" not found" when no row matched.
func oneRow(tag pgconn.CommandTag, err error, kind, name string) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFoundf("%s %q not found", kind, name)
	}
	return nil
}

// page lists one page of table's rows matching where (cols, newest first: create_time DESC, then id DESC) and how
// many rows match where in all, in one statement, so from one snapshot: the count is a single row the page joins,
// so an empty page still brings it. args are where's arguments; limit ≤ 0 is no limit. scan reads one row: the
// total, then cols; it reports false for the row an empty page joins, whose page columns are all NULL.
func page[T any](ctx context.Context, q querier, what, table, cols string, where []string, args []any, limit, offset int,
	scan func(rows pgx.Rows, total *int) (T, bool, error)) ([]T, int, error) {
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	var lim *int // NULL: no limit
	if limit > 0 {
		lim = &limit
	}
	args = append(args, lim, max(offset, 0))
	query := `SELECT n.total, p.* FROM (SELECT count(*) AS total FROM ` + table + cond + `) n
		LEFT JOIN LATERAL (SELECT ` + cols + ` FROM ` + table + cond + `
			ORDER BY create_time DESC, id DESC LIMIT $` + strconv.Itoa(len(args)-1) + ` OFFSET $` + strconv.Itoa(len(args)) + `) p ON true
		ORDER BY p.create_time DESC, p.id DESC`
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, 0, wrap(err, "postgres: list %s", what)
	}
	defer rows.Close()
	out := []T{}
	var total int
	for rows.Next() {
		v, ok, err := scan(rows, &total)
		if err != nil {
			return nil, 0, wrap(err, "postgres: list %s", what)
		}
		if ok {
			out = append(out, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap(err, "postgres: list %s", what)
	}
	return out, total, nil
}
