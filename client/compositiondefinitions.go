package client

import (
	"context"
	"net/http"

	"github.com/runplane/runplane/api"
)

func definitionPath(namespace, name string) string {
	return "/compositiondefinitions/" + seg(namespace) + "/" + seg(name)
}

// ListCompositionDefinitions returns the Krateo CompositionDefinitions in namespace ("": every namespace).
func (c *Client) ListCompositionDefinitions(ctx context.Context, namespace string) ([]api.CompositionDefinition, error) {
	return getJSON[[]api.CompositionDefinition](ctx, c, "/compositiondefinitions", namespaceQuery(namespace))
}

// GetCompositionDefinition returns one definition.
func (c *Client) GetCompositionDefinition(ctx context.Context, namespace, name string) (api.CompositionDefinition, error) {
	return getJSON[api.CompositionDefinition](ctx, c, definitionPath(namespace, name), nil)
}

// CreateCompositionDefinition stores a new definition (the server reads its chart); ErrConflict if the name is
// taken in its namespace, ErrInvalid for a bad document.
func (c *Client) CreateCompositionDefinition(ctx context.Context, d api.CompositionDefinition) (api.CompositionDefinition, error) {
	return sendJSON[api.CompositionDefinition](ctx, c, http.MethodPost, "/compositiondefinitions", d)
}

// UpdateCompositionDefinition creates or replaces the definition d names (PUT).
func (c *Client) UpdateCompositionDefinition(ctx context.Context, d api.CompositionDefinition) (api.CompositionDefinition, error) {
	return sendJSON[api.CompositionDefinition](ctx, c, http.MethodPut, definitionPath(d.Metadata.Namespace, d.Metadata.Name), d)
}

// DeleteCompositionDefinition removes a definition.
func (c *Client) DeleteCompositionDefinition(ctx context.Context, namespace, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: definitionPath(namespace, name)}, nil)
}
