package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// listPage performs a GET of path and decodes the list it answers, with the total its Content-Range header gives
// ("jobs 0-99/1234": 1234), or -1 when the server sent none.
func listPage[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, int, error) {
	r := request{method: http.MethodGet, path: path, query: q}
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var out []T
	if err := decodeBody(r, resp, &out); err != nil {
		return nil, 0, err
	}
	return out, rangeTotal(resp.Header.Get("Content-Range")), nil
}

// rangeTotal is the total of a Content-Range header, -1 when there is none.
func rangeTotal(h string) int {
	i := strings.LastIndexByte(h, '/')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(h[i+1:])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// pageQuery adds the time bounds and paging every filtered list shares to q.
func pageQuery(q url.Values, since, until time.Time, limit, offset int) url.Values {
	setTime(q, "since", since)
	setTime(q, "until", until)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q
}

func setTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
}

func setNonEmpty(q url.Values, name, v string) {
	if v != "" {
		q.Set(name, v)
	}
}

// pageAll calls page with offsets 0, size, 2·size, ... until a page comes back short, and returns every item once
// (by key), in order. Lists are newest first, so what is added while paging only shifts items already seen onto
// later pages, where key drops them again; nothing that existed when paging began is missed.
func pageAll[T any](size int, key func(T) string, page func(offset int) ([]T, error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	for offset := 0; ; offset += size {
		items, err := page(offset)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if k := key(it); !seen[k] {
				seen[k] = true
				all = append(all, it)
			}
		}
		if len(items) < size {
			if all == nil {
				all = []T{}
			}
			return all, nil
		}
	}
}
