package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

// Krateo compositions: instances of the types CompositionDefinitions generate, at
// /compositions/{namespace}/{resource}[/{name}], resource the generated type's plural.

func compositionsPath(namespace, resource string) string {
	return "/compositions/" + seg(namespace) + "/" + seg(resource)
}

// ListCompositions lists the compositions of resource in namespace.
func (c *Client) ListCompositions(ctx context.Context, namespace, resource string) ([]api.ResourceRequest, error) {
	return getJSON[[]api.ResourceRequest](ctx, c, compositionsPath(namespace, resource), nil)
}

// GetComposition reads one composition.
func (c *Client) GetComposition(ctx context.Context, namespace, resource, name string) (api.ResourceRequest, error) {
	return getJSON[api.ResourceRequest](ctx, c, compositionsPath(namespace, resource)+"/"+seg(name), nil)
}

// CreateComposition stores a new composition (which installs its release); ErrInvalid (with field paths) when its
// spec does not match the schema of the version it names.
func (c *Client) CreateComposition(ctx context.Context, resource string, r api.ResourceRequest) (api.ResourceRequest, error) {
	return sendJSON[api.ResourceRequest](ctx, c, http.MethodPost, compositionsPath(r.Metadata.Namespace, resource), r)
}

// UpdateComposition creates or replaces a composition (PUT), which upgrades its release.
func (c *Client) UpdateComposition(ctx context.Context, resource string, r api.ResourceRequest) (api.ResourceRequest, error) {
	return sendJSON[api.ResourceRequest](ctx, c, http.MethodPut, compositionsPath(r.Metadata.Namespace, resource)+"/"+seg(r.Metadata.Name), r)
}

// DeleteComposition removes a composition (uninstalling its release first: then the server answers 202 and the
// composition goes once the uninstall succeeded).
func (c *Client) DeleteComposition(ctx context.Context, namespace, resource, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: compositionsPath(namespace, resource) + "/" + seg(name)}, nil)
}
