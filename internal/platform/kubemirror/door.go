package kubemirror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/runplane/runplane/internal/inproc"
)

// door is runplane's REST API as the mirror uses it: in process, as the server's service identity, so that an
// object written with kubectl is validated, authorized, audited and handed to the controller by the very code
// that serves the REST API.
type door struct {
	api   http.Handler
	token func(ctx context.Context) (string, error)
}

// AuditSource is the source of the audit log's entries of the changes the mirror makes through the REST API.
const AuditSource = "kubernetes"

// apiError is the REST API's answer to a refused call: its status and its message ({"error"}).
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Msg) }

// invalid reports whether the API refused the object itself (4xx other than a conflict of versions): retrying
// the same object cannot succeed, so the mirror says so in the cluster object's status and waits for a change.
func (e *apiError) invalid() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusConflict
}

// call sends a request to the API and decodes a 2xx answer into out (when not nil); any other answer is an
// *apiError. It returns the status.
func (d door) call(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	// Audited as the server's identity with "kubernetes" as the source: the change came through the cluster.
	req, err := http.NewRequestWithContext(inproc.WithCaller(ctx, AuditSource), method, "/api/v1"+path, rd)
	if err != nil {
		return 0, err
	}
	tok, err := d.token(ctx)
	if err != nil {
		return 0, fmt.Errorf("kubemirror: service identity: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "runplane-kubemirror")
	req.RemoteAddr = "127.0.0.1:0"
	w := inproc.NewRecorder()
	d.api.ServeHTTP(w, req)
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	if w.Status >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		if e.Error == "" {
			e.Error = strings.ToLower(http.StatusText(w.Status))
		}
		return w.Status, &apiError{Status: w.Status, Msg: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			return w.Status, fmt.Errorf("kubemirror: %s %s: decode answer: %w", method, path, err)
		}
	}
	return w.Status, nil
}
