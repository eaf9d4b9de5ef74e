package store

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
)

// Promise is a stored Kratix promise. Metadata's Generation (1 on create, +1 each time the spec changes), UID,
// CreationTimestamp and ResourceVersion (Version, in decimal) are the store's; Status is what SetPromiseStatus
// last wrote.
type Promise struct {
	api.Promise
	Version int64
}

// ResourceRequest is a stored request for a resource of a promise's API. Metadata's Generation (1 on create, +1
// each time the spec changes), UID, CreationTimestamp and ResourceVersion are the store's.
type ResourceRequest struct {
	// Promise is the promise the request is of.
	Promise string
	api.ResourceRequest
	Version int64
}

// Promises stores promises by name and their resource requests by (promise, namespace, name).
//
// Writes that take a version (Update..., Set...Status) store only over that stored version (0: whatever is
// stored) and return ErrConflict otherwise; every write moves Version on by one, so of several writers from one
// version exactly one succeeds, in any processes sharing the store. Spec and status are written separately: a
// status write never changes the generation, and a spec write keeps the status. Every write records the audit
// entry pending in ctx (WithAudit) in its transaction.
type Promises interface {
	// CreatePromise stores p (its status as given) with generation and version 1 and returns it; ErrConflict if
	// the name is taken.
	CreatePromise(ctx context.Context, p api.Promise) (Promise, error)
	// GetPromise returns a promise; ErrNotFound if absent.
	GetPromise(ctx context.Context, name string) (Promise, error)
	// ListPromises returns every promise ordered by name; never nil.
	ListPromises(ctx context.Context) ([]Promise, error)
	// UpdatePromise replaces the labels, annotations and spec of the promise p.Metadata.Name, moving its
	// generation on when the spec changed; ErrNotFound if absent, ErrConflict if not at version.
	UpdatePromise(ctx context.Context, p api.Promise, version int64) (Promise, error)
	// SetPromiseStatus replaces a promise's status; ErrNotFound if absent, ErrConflict if not at version.
	SetPromiseStatus(ctx context.Context, name string, version int64, st api.PromiseStatus) (Promise, error)
	// DeletePromise removes a promise; ErrNotFound if absent, ErrConflict (counting them) while it has requests.
	DeletePromise(ctx context.Context, name string) error

	// CreateResourceRequest stores r (its status as given) as a request of promise with generation and version 1;
	// ErrConflict if (promise, namespace, name) is taken, ErrInvalid if the promise does not exist.
	CreateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest) (ResourceRequest, error)
	// GetResourceRequest returns a request; ErrNotFound if absent.
	GetResourceRequest(ctx context.Context, promise, namespace, name string) (ResourceRequest, error)
	// ListResourceRequests returns the requests of promise in namespace ("": every namespace), ordered by
	// namespace then name; never nil.
	ListResourceRequests(ctx context.Context, promise, namespace string) ([]ResourceRequest, error)
	// UpdateResourceRequest replaces the apiVersion, labels, annotations and spec of the request r names,
	// moving its generation on when the spec changed; ErrNotFound if absent, ErrConflict if not at version.
	UpdateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest, version int64) (ResourceRequest, error)
	// SetResourceRequestStatus replaces a request's status (a JSON object); ErrNotFound, ErrConflict as above.
	SetResourceRequestStatus(ctx context.Context, promise, namespace, name string, version int64, status json.RawMessage) (ResourceRequest, error)
	// DeleteResourceRequest removes a request; ErrNotFound if absent.
	DeleteResourceRequest(ctx context.Context, promise, namespace, name string) error
}

// Encoding shared by the backends, so that both read back what either wrote.

// PromiseRow is a promise as its columns hold it.
type PromiseRow struct {
	Name, UID           string
	Doc, Spec, Status   []byte // Doc: apiVersion, kind, labels, annotations; Spec: api.PromiseSpec; Status: api.PromiseStatus
	Generation, Version int64
	Created             time.Time
}

type promiseDoc struct {
	APIVersion  string            `json:"apiVersion"`
	Kind        string            `json:"kind"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// EncodePromise splits p into the columns a write stores.
func EncodePromise(p api.Promise) (doc, spec, status []byte, err error) {
	if doc, err = EncodeJSON(promiseDoc{p.APIVersion, p.Kind, p.Metadata.Labels, p.Metadata.Annotations}); err != nil {
		return nil, nil, nil, err
	}
	if spec, err = EncodeJSON(p.Spec); err != nil {
		return nil, nil, nil, err
	}
	if status, err = EncodeJSON(p.Status); err != nil {
		return nil, nil, nil, err
	}
	return doc, spec, status, nil
}

// Decode is the stored promise the row holds.
func (r PromiseRow) Decode() (Promise, error) {
	var d promiseDoc
	p := Promise{Version: r.Version}
	if err := DecodeJSON(r.Doc, &d); err != nil {
		return p, err
	}
	if err := DecodeJSON(r.Spec, &p.Spec); err != nil {
		return p, err
	}
	if err := DecodeJSON(r.Status, &p.Status); err != nil {
		return p, err
	}
	created := r.Created.UTC()
	p.APIVersion, p.Kind = d.APIVersion, d.Kind
	p.Metadata = api.ObjectMeta{Name: r.Name, Labels: d.Labels, Annotations: d.Annotations, Generation: r.Generation,
		UID: r.UID, ResourceVersion: strconv.FormatInt(r.Version, 10), CreationTimestamp: &created}
	return p, nil
}

// RequestRow is a resource request as its columns hold it.
type RequestRow struct {
	Promise, Namespace, Name, UID string
	Doc, Spec, Status             []byte // Doc: apiVersion, kind, labels, annotations
	Generation, Version           int64
	Created                       time.Time
}

// EncodeRequest returns the columns a write stores: doc, and spec and status as compact JSON objects ({} when
// empty).
func EncodeRequest(r api.ResourceRequest) (doc, spec, status []byte, err error) {
	if doc, err = EncodeJSON(promiseDoc{r.APIVersion, r.Kind, r.Metadata.Labels, r.Metadata.Annotations}); err != nil {
		return nil, nil, nil, err
	}
	if spec, err = compactObject(r.Spec); err != nil {
		return nil, nil, nil, err
	}
	if status, err = compactObject(r.Status); err != nil {
		return nil, nil, nil, err
	}
	return doc, spec, status, nil
}

// CompactObject is raw compacted, or {} when empty or null.
func compactObject(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode is the stored request the row holds.
func (r RequestRow) Decode() (ResourceRequest, error) {
	var d promiseDoc
	rr := ResourceRequest{Promise: r.Promise, Version: r.Version}
	if err := DecodeJSON(r.Doc, &d); err != nil {
		return rr, err
	}
	created := r.Created.UTC()
	rr.APIVersion, rr.Kind = d.APIVersion, d.Kind
	rr.Metadata = api.ObjectMeta{Name: r.Name, Namespace: r.Namespace, Labels: d.Labels, Annotations: d.Annotations,
		Generation: r.Generation, UID: r.UID, ResourceVersion: strconv.FormatInt(r.Version, 10), CreationTimestamp: &created}
	rr.Spec = json.RawMessage(bytes.Clone(r.Spec))
	rr.Status = json.RawMessage(bytes.Clone(r.Status))
	return rr, nil
}
