package httpapi

import (
	"fmt"
	"net/http"

	"github.com/runplane/runplane/api"
)

// page is a list request's ?limit and ?offset.
type page struct {
	limit, offset int // limit 0: everything from offset
}

// parsePage reads ?limit and ?offset. def is the limit when none is given and max caps it (0: no cap).
func parsePage(r *http.Request, def, max int) (page, error) {
	limit, err := queryInt(r, "limit", def)
	if err != nil {
		return page{}, err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return page{}, err
	}
	if max > 0 {
		if limit > max {
			return page{}, api.Invalidf("query parameter limit=%d: at most %d", limit, max)
		}
		if limit == 0 {
			limit = max
		}
	}
	return page{limit: limit, offset: offset}, nil
}

// span is the part of a list a page selects.
type span struct{ from, to, n int }

// slice returns the span of a list of total items that p selects.
func (p page) slice(total int) span {
	from := min(p.offset, total)
	to := total
	if p.limit > 0 {
		to = min(from+p.limit, total)
	}
	return span{from: from, to: to, n: to - from}
}

// writeList answers items (never null) with a Content-Range header such as "jobs 0-9/123", or "jobs */123"
// when the page is empty, for react-admin style paging clients.
func writeList[T any](w http.ResponseWriter, kind string, items []T, s span, total int) {
	if items == nil {
		items = []T{}
	}
	if len(items) == 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("%s */%d", kind, total))
	} else {
		w.Header().Set("Content-Range", fmt.Sprintf("%s %d-%d/%d", kind, s.from, s.from+len(items)-1, total))
	}
	writeJSON(w, http.StatusOK, items)
}

// keep returns the items whose name ok accepts, for filtering a list to what the caller may read.
func keep[T any](items []T, ok func(names ...string) bool, name func(T) string) []T {
	out := items[:0:0]
	for _, x := range items {
		if ok(name(x)) {
			out = append(out, x)
		}
	}
	return out
}
