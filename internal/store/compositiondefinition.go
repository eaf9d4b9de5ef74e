package store

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
)

// CompositionDefinition is a stored Krateo CompositionDefinition. Metadata's Generation (1 on create, +1 each time
// the spec changes), UID, CreationTimestamp and ResourceVersion (Version, in decimal) are the store's; Status and
// Generated are what SetCompositionDefinitionStatus last wrote.
type CompositionDefinition struct {
	api.CompositionDefinition
	Version int64
	// Generated is the resource type the definition generated (a CustomResourceDefinition, JSON), with every chart
	// version it served so far; nil before the chart was first read.
	Generated json.RawMessage
}

// CompositionDefinitions stores definitions by (namespace, name), with the same write rules as Promises: writes
// that take a version store only over it (0: any), else ErrConflict; every write moves Version on by one; a status
// write never changes the generation and a spec write keeps the status. Every write records the audit entry
// pending in ctx (WithAudit) in its transaction.
type CompositionDefinitions interface {
	// CreateCompositionDefinition stores d (its status as given) with generation and version 1; ErrConflict if
	// (namespace, name) is taken.
	CreateCompositionDefinition(ctx context.Context, d api.CompositionDefinition) (CompositionDefinition, error)
	// GetCompositionDefinition returns a definition; ErrNotFound if absent.
	GetCompositionDefinition(ctx context.Context, namespace, name string) (CompositionDefinition, error)
	// ListCompositionDefinitions returns the definitions in namespace ("": every namespace), ordered by namespace
	// then name; never nil.
	ListCompositionDefinitions(ctx context.Context, namespace string) ([]CompositionDefinition, error)
	// UpdateCompositionDefinition replaces the labels, annotations and spec of the definition d names, moving its
	// generation on when the spec changed; ErrNotFound if absent, ErrConflict if not at version.
	UpdateCompositionDefinition(ctx context.Context, d api.CompositionDefinition, version int64) (CompositionDefinition, error)
	// SetCompositionDefinitionStatus replaces a definition's status and generated type (nil generated keeps
	// the stored one); ErrNotFound if absent, ErrConflict if not at version.
	SetCompositionDefinitionStatus(ctx context.Context, namespace, name string, version int64,
		st api.CompositionDefinitionStatus, generated json.RawMessage) (CompositionDefinition, error)
	// DeleteCompositionDefinition removes a definition; ErrNotFound if absent.
	DeleteCompositionDefinition(ctx context.Context, namespace, name string) error
}

// DefinitionRow is a definition as its columns hold it.
type DefinitionRow struct {
	Namespace, Name, UID         string
	Doc, Spec, Status, Generated []byte // Doc: apiVersion, kind, labels, annotations; Generated "" before any
	Generation, Version          int64
	Created                      time.Time
}

// EncodeDefinition splits d into the columns a write stores.
func EncodeDefinition(d api.CompositionDefinition) (doc, spec, status []byte, err error) {
	if doc, err = EncodeJSON(promiseDoc{d.APIVersion, d.Kind, d.Metadata.Labels, d.Metadata.Annotations}); err != nil {
		return nil, nil, nil, err
	}
	if spec, err = EncodeJSON(d.Spec); err != nil {
		return nil, nil, nil, err
	}
	if status, err = EncodeJSON(d.Status); err != nil {
		return nil, nil, nil, err
	}
	return doc, spec, status, nil
}

// Decode is the stored definition the row holds.
func (r DefinitionRow) Decode() (CompositionDefinition, error) {
	var d promiseDoc
	out := CompositionDefinition{Version: r.Version}
	if err := DecodeJSON(r.Doc, &d); err != nil {
		return out, err
	}
	if err := DecodeJSON(r.Spec, &out.Spec); err != nil {
		return out, err
	}
	if err := DecodeJSON(r.Status, &out.Status); err != nil {
		return out, err
	}
	if len(r.Generated) > 0 {
		out.Generated = json.RawMessage(r.Generated)
	}
	created := r.Created.UTC()
	out.APIVersion, out.Kind = d.APIVersion, d.Kind
	out.Metadata = api.ObjectMeta{Name: r.Name, Namespace: r.Namespace, Labels: d.Labels, Annotations: d.Annotations,
		Generation: r.Generation, UID: r.UID, ResourceVersion: strconv.FormatInt(r.Version, 10), CreationTimestamp: &created}
	return out, nil
}
