package store

import (
	"context"
	"encoding/json"

	"github.com/runplane/runplane/api"
)

// Composition is a stored instance of a type a CompositionDefinition generated (a Krateo composition: one Helm
// release). It is kept as a resource request is: Metadata's Generation (1 on create, +1 each time the spec
// changes), UID, CreationTimestamp and ResourceVersion are the store's; its apiVersion is the one it was written
// with (the chart version it is installed from), not a storage version.
type Composition struct {
	// Resource is the generated type's plural (composition.krateo.io's resource).
	Resource string
	api.ResourceRequest
	Version int64
}

// Compositions stores compositions by (resource, namespace, name), with the write rules of Promises: writes that
// take a version store only over it (0: any), else ErrConflict; every write moves Version on by one; a status
// write never changes the generation and a spec write keeps the status. Every write records the audit entry
// pending in ctx (WithAudit) in its transaction.
type Compositions interface {
	// CreateComposition stores c (its status as given) with generation and version 1; ErrConflict if (resource,
	// namespace, name) is taken.
	CreateComposition(ctx context.Context, resource string, c api.ResourceRequest) (Composition, error)
	// GetComposition returns a composition; ErrNotFound if absent.
	GetComposition(ctx context.Context, resource, namespace, name string) (Composition, error)
	// ListCompositions returns the compositions of resource in namespace ("": every namespace), ordered by
	// namespace then name; never nil.
	ListCompositions(ctx context.Context, resource, namespace string) ([]Composition, error)
	// UpdateComposition replaces the apiVersion, labels, annotations and spec of the composition c names, moving
	// its generation on when the spec changed; ErrNotFound if absent, ErrConflict if not at version.
	UpdateComposition(ctx context.Context, resource string, c api.ResourceRequest, version int64) (Composition, error)
	// SetCompositionStatus replaces a composition's status (a JSON object); ErrNotFound, ErrConflict as above.
	SetCompositionStatus(ctx context.Context, resource, namespace, name string, version int64, status json.RawMessage) (Composition, error)
	// DeleteComposition removes a composition; ErrNotFound if absent.
	DeleteComposition(ctx context.Context, resource, namespace, name string) error
}

// CompositionOf is the composition a row read as a request holds (its Promise column is the resource).
func CompositionOf(r ResourceRequest) Composition {
	return Composition{Resource: r.Promise, ResourceRequest: r.ResourceRequest, Version: r.Version}
}
