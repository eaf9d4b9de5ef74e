package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Request bodies get a read deadline. Without one, a client that sends its headers and then its body a byte a
// minute holds a connection, and a file descriptor, for as long as it likes, unauthenticated (the body is read
// before anything can be checked).

// BodyTimeoutError is the error reading a request body returns once its deadline has passed (408).
type BodyTimeoutError struct {
	After time.Duration
}

func (e *BodyTimeoutError) Error() string {
	return fmt.Sprintf("request body not received within %v", e.After)
}

// deadlineBody reads a request body under a read deadline on its connection. At the body's end it lifts the
// deadline: net/http then reads the connection in the background to notice a client hanging up, and an expired
// deadline there would look like one and cancel a long synchronous run or log follow.
type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	after time.Duration
	ended bool
}

// withBodyDeadline puts r's body, if it has one, under a read deadline of d from now; d <= 0 leaves it as it is.
func withBodyDeadline(w http.ResponseWriter, r *http.Request, d time.Duration) *http.Request {
	if d <= 0 || r.Body == nil || r.Body == http.NoBody {
		return r
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return r // a writer without a connection (tests): nothing to bound
	}
	r2 := *r
	r2.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, after: d}
	return &r2
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == nil || b.ended {
		return n, err
	}
	b.ended = true
	if errors.Is(err, io.EOF) {
		_ = b.rc.SetReadDeadline(time.Time{})
		return n, err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, &BodyTimeoutError{After: b.after}
	}
	return n, err
}

// isBodyError reports whether err is a body too large or too slow, which decoding passes on as it is.
func isBodyError(err error) bool {
	var (
		tooLarge *http.MaxBytesError
		slow     *BodyTimeoutError
	)
	return errors.As(err, &tooLarge) || errors.As(err, &slow)
}
