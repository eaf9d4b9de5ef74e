// Package inproc serves API requests inside the process: the web UI's pages and the Kubernetes mirror call the REST
// handler itself rather than the network.
package inproc

import (
	"bytes"
	"net/http"
)

// Recorder is the ResponseWriter of an in-process call: it keeps the first status written (200 when the handler
// writes a body without one), the headers and the body.
type Recorder struct {
	Status int
	Body   bytes.Buffer
	header http.Header
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

func (r *Recorder) Header() http.Header { return r.header }

func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.Body.Write(b)
}

func (r *Recorder) WriteHeader(status int) {
	if r.Status == 0 {
		r.Status = status
	}
}
