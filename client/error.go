package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runplane/runplane/api"
)

// Sentinels matched by errors.Is against an *Error of the corresponding HTTP status.
var (
	ErrInvalid         = errors.New("client: invalid request")   // 400
	ErrUnauthorized    = errors.New("client: unauthorized")      // 401
	ErrForbidden       = errors.New("client: forbidden")         // 403
	ErrNotFound        = errors.New("client: not found")         // 404
	ErrConflict        = errors.New("client: conflict")          // 409
	ErrTooLarge        = errors.New("client: request too large") // 413
	ErrTooManyRequests = errors.New("client: too many requests") // 429
)

var statusSentinels = map[int]error{
	http.StatusBadRequest:            ErrInvalid,
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusTooManyRequests:       ErrTooManyRequests,
}

// maxErrorBytes bounds how much of an error body is read.
const maxErrorBytes = 64 << 10

// Error is a request the server answered with a non-2xx status.
type Error struct {
	StatusCode int
	// Message is the server's "error" field, or a short excerpt of a non-JSON body, or the status text.
	Message string
	// Fields lists the failing JSON paths when job input failed schema validation.
	Fields []api.FieldError
	// RetryAfter is how long the server asked the caller to wait (its Retry-After header, for example on a
	// throttled login); zero when it did not say.
	RetryAfter time.Duration
}

// Error returns the message and the status code, for example `runner "x" not found (404)`.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d)", e.Message, e.StatusCode)
}

// Is reports whether target is the sentinel for e's status code.
func (e *Error) Is(target error) bool {
	s, ok := statusSentinels[e.StatusCode]
	return ok && s == target
}

// readError turns a failed response into an *Error. It reads at most maxErrorBytes of the body.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var body api.Error
	if err := json.Unmarshal(b, &body); err == nil && body.Error != "" {
		e.Message, e.Fields = body.Error, body.Fields
		return e
	}
	e.Message = excerpt(b)
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(resp.StatusCode))
		if e.Message == "" {
			e.Message = "unexpected status"
		}
	}
	return e
}

// retryAfter reads a Retry-After header: a number of seconds or an HTTP date (RFC 9110, section 10.2.3).
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(h, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// excerpt returns the first line of a non-JSON body, trimmed to a readable length and valid UTF-8.
func excerpt(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	const max = 200
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
