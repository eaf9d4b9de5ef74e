package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/runplane/runplane/api"
)

// ListPromises returns the promises the caller may read.
func (c *Client) ListPromises(ctx context.Context) ([]api.Promise, error) {
	return getJSON[[]api.Promise](ctx, c, "/promises", nil)
}

// GetPromise returns one promise.
func (c *Client) GetPromise(ctx context.Context, name string) (api.Promise, error) {
	return getJSON[api.Promise](ctx, c, "/promises/"+seg(name), nil)
}

// CreatePromise stores a new promise; ErrConflict if the name is taken, ErrInvalid for a bad promise.
func (c *Client) CreatePromise(ctx context.Context, p api.Promise) (api.Promise, error) {
	return sendJSON[api.Promise](ctx, c, http.MethodPost, "/promises", p)
}

// UpdatePromise creates or replaces the promise named p.Metadata.Name (PUT).
func (c *Client) UpdatePromise(ctx context.Context, p api.Promise) (api.Promise, error) {
	return sendJSON[api.Promise](ctx, c, http.MethodPut, "/promises/"+seg(p.Metadata.Name), p)
}

// DeletePromise removes a promise; ErrConflict while it has resource requests.
func (c *Client) DeletePromise(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/promises/" + seg(name)}, nil)
}

func namespaceQuery(ns string) url.Values {
	if ns == "" {
		return nil
	}
	return url.Values{"namespace": {ns}}
}

// ListResourceRequests returns the requests of a promise in namespace ("": every namespace).
func (c *Client) ListResourceRequests(ctx context.Context, promise, namespace string) ([]api.ResourceRequest, error) {
	return getJSON[[]api.ResourceRequest](ctx, c, "/resources/"+seg(promise), namespaceQuery(namespace))
}

// GetResourceRequest returns one request of a promise ("" namespace: default, or none for a cluster-scoped type).
func (c *Client) GetResourceRequest(ctx context.Context, promise, namespace, name string) (api.ResourceRequest, error) {
	return getJSON[api.ResourceRequest](ctx, c, "/resources/"+seg(promise)+"/"+seg(name), namespaceQuery(namespace))
}

// CreateResourceRequest stores a new request of a promise's API; ErrInvalid (with field paths) when its spec
// does not match the promise's schema.
func (c *Client) CreateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest) (api.ResourceRequest, error) {
	return sendJSON[api.ResourceRequest](ctx, c, http.MethodPost, "/resources/"+seg(promise), r)
}

// UpdateResourceRequest creates or replaces a request (PUT).
func (c *Client) UpdateResourceRequest(ctx context.Context, promise string, r api.ResourceRequest) (api.ResourceRequest, error) {
	return sendJSON[api.ResourceRequest](ctx, c, http.MethodPut, "/resources/"+seg(promise)+"/"+seg(r.Metadata.Name), r)
}

// DeleteResourceRequest removes a request.
func (c *Client) DeleteResourceRequest(ctx context.Context, promise, namespace, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/resources/" + seg(promise) + "/" + seg(name),
		query: namespaceQuery(namespace)}, nil)
}
