package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/inproc"
)

// apiError is an answer of the API other than 2xx: its status and its message, shown to the user in words.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("api: %d %s", e.Status, e.Msg) }

// get calls the API in-process as the browser's request r would (same cookie, same address), and decodes a 2xx
// JSON answer into out. It answers the Content-Range total for lists (-1 when absent).
func (h *Handler) get(r *http.Request, path string, out any) (total int, err error) {
	return h.call(r, http.MethodGet, path, "", nil, out)
}

// call is get for any method, with body sent as contentType. The UI sends only dry runs (which change nothing)
// this way: everything that changes state comes from the browser itself.
func (h *Handler) call(r *http.Request, method, path, contentType string, body []byte, out any) (total int, err error) {
	req, err := http.NewRequestWithContext(r.Context(), method, path, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("ui: request %s: %w", path, err)
	}
	req.RemoteAddr, req.Host, req.TLS = r.RemoteAddr, r.Host, r.TLS
	for _, c := range r.Cookies() {
		req.AddCookie(c)
	}
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "User-Agent"} {
		if v := r.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := inproc.NewRecorder()
	h.api.ServeHTTP(rec, req)
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	if rec.Status/100 != 2 {
		var e api.Error
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = strings.ToLower(http.StatusText(rec.Status))
		}
		return -1, &apiError{Status: rec.Status, Msg: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return -1, fmt.Errorf("ui: decode %s: %w", path, err)
		}
	}
	return contentTotal(rec.Header().Get("Content-Range")), nil
}

// contentTotal reads the total of "jobs 0-9/123" or "jobs */0"; -1 when there is none.
func contentTotal(cr string) int {
	_, t, ok := strings.Cut(cr, "/")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
