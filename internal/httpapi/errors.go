package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
)

// publicError gives an error the message a client sees, keeping its cause for the status table and the log.
type publicError struct {
	msg string
	err error
}

func (e *publicError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *publicError) Unwrap() error { return e.err }

// withMsg keeps err's status (through its cause) but shows the client msg.
func withMsg(err error, format string, args ...any) error {
	return &publicError{msg: fmt.Sprintf(format, args...), err: err}
}

// notFound is a 404 with a message naming what is missing.
func notFound(format string, args ...any) error { return withMsg(store.ErrNotFound, format, args...) }

// classify is THE table from errors to HTTP status and the body the client sees. Every handler error goes
// through it; nothing else chooses an error status.
func classify(err error) (int, api.Error) {
	var (
		tooLarge *http.MaxBytesError
		invalid  *api.InvalidError
		authErr  *auth.Error
		throttle *auth.ThrottledError
		image    *imagepolicy.NotAllowedError
		full     *jobs.QueueFullError
		slow     *BodyTimeoutError
	)
	switch {
	case errors.As(err, &slow):
		return http.StatusRequestTimeout, api.Error{Error: slow.Error()}
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, api.Error{Error: fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &invalid):
		return http.StatusBadRequest, api.Error{Error: invalid.Msg, Fields: invalid.Fields}
	case errors.As(err, &throttle):
		return http.StatusTooManyRequests, api.Error{Error: throttle.Error()}
	case errors.As(err, &full):
		return http.StatusTooManyRequests, api.Error{Error: full.Error()}
	case errors.As(err, &authErr):
		return http.StatusUnauthorized, api.Error{Error: authErr.Msg}
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, api.Error{Error: "authentication required"}
	case errors.As(err, &image):
		// A job whose runner names an image the allowlist refuses (the runner may predate the list). Saving such a
		// runner is refused as invalid input instead: see Handler.checkImage.
		return http.StatusForbidden, api.Error{Error: image.Error()}
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, api.Error{Error: publicMsg(err, "forbidden")}
	case errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest, api.Error{Error: publicMsg(err, "invalid reference")}
	case errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable, api.Error{Error: "the database is unavailable: retry shortly"}
	case errors.Is(err, auth.ErrDirectoryUnavailable):
		return http.StatusServiceUnavailable, api.Error{Error: "the directory cannot be reached: try again later"}
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, api.Error{Error: publicMsg(err, "not found")}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, api.Error{Error: publicMsg(err, "conflict")}
	default:
		return http.StatusInternalServerError, api.Error{Error: "internal server error"}
	}
}

func publicMsg(err error, fallback string) string {
	var pe *publicError
	if errors.As(err, &pe) {
		return pe.msg
	}
	return fallback
}

// writeError answers err with the status and body classify gives it. The causes of internal errors are logged,
// never sent.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := classify(err)
	switch {
	case r.Context().Err() != nil && errors.Is(err, context.Cause(r.Context())):
		// The client went away, or the server is shutting down: nothing failed on our side. Answer anyway in case
		// someone still listens.
		h.log.DebugContext(r.Context(), "request cancelled", "route", routeOf(w), "err", err, "request_id", requestID(r.Context()))
		status, body = http.StatusServiceUnavailable, api.Error{Error: "request cancelled"}
	case status == http.StatusInternalServerError:
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", routeOf(w), "err", err, "request_id", requestID(r.Context()))
	}
	if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
		// The response is under way (a streamed log): its status is sent; it just ends here.
		return
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="runplane"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusTooManyRequests:
		var (
			t    *auth.ThrottledError
			full *jobs.QueueFullError
		)
		switch {
		case errors.As(err, &t):
			w.Header().Set("Retry-After", retryAfter(t.RetryAfter))
		case errors.As(err, &full):
			w.Header().Set("Retry-After", retryAfter(full.RetryAfter))
		}
	}
	writeJSON(w, status, body)
}

// retryAfter is a Retry-After header's value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// writeJSON answers v as JSON with status. API answers are never cached: some carry tokens.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal server error"}`)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// msg is Kriten's confirmation body, as in {"msg": "runner deleted successfully"}.
type msg struct {
	Msg string `json:"msg"`
}
