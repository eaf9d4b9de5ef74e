package httpapi

import (
	"context"
	"crypto/rand"
	"net/http"
)

// Every request gets an id, answered as X-Request-Id and written in the access log and in the log lines of its
// failures, so that an operator can find what happened to the request a user quotes. A proxy or client that
// already gave the request an id keeps it, if it is a plausible one.

const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming id: longer ones are replaced.
const maxRequestIDLen = 128

type requestIDKey struct{}

// requestIDOf returns the request's own id when it sent a plausible one (1 to 128 visible ASCII characters),
// else a new random one.
func requestIDOf(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); validRequestID(id) {
		return id
	}
	return rand.Text()
}

// validRequestID reports whether id may be used as is: it cannot forge log lines or grow the log without bound.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// requestID is the id of the request ctx belongs to; "" outside a request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
