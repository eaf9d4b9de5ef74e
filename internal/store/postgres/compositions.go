package postgres

import (
	"context"
	"encoding/json"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Compositions are rows of compositionTable (nsobjects.go), under their generated resource.

// CreateComposition stores a new composition of resource; ErrConflict if taken.
func (s *Store) CreateComposition(ctx context.Context, resource string, c api.ResourceRequest) (store.Composition, error) {
	if !textOK(resource) {
		return store.Composition{}, invalidf("composition name %q cannot be stored", c.Metadata.Name)
	}
	r, err := s.createNS(ctx, compositionTable, resource, c, nil)
	return store.CompositionOf(r), err
}

// GetComposition returns a composition; ErrNotFound if absent.
func (s *Store) GetComposition(ctx context.Context, resource, namespace, name string) (store.Composition, error) {
	r, err := s.getNS(ctx, compositionTable, resource, namespace, name)
	return store.CompositionOf(r), err
}

// ListCompositions returns the compositions of resource in namespace ("" for all), by namespace then name.
func (s *Store) ListCompositions(ctx context.Context, resource, namespace string) ([]store.Composition, error) {
	rs, err := s.listNS(ctx, compositionTable, resource, namespace)
	return compositionsOf(rs), err
}

// UpdateComposition replaces a composition's apiVersion, labels, annotations and spec over version.
func (s *Store) UpdateComposition(ctx context.Context, resource string, c api.ResourceRequest, version int64) (store.Composition, error) {
	r, err := s.updateNS(ctx, compositionTable, resource, c, version)
	return store.CompositionOf(r), err
}

// SetCompositionStatus replaces a composition's status over version.
func (s *Store) SetCompositionStatus(ctx context.Context, resource, namespace, name string, version int64, status json.RawMessage) (store.Composition, error) {
	r, err := s.setNSStatus(ctx, compositionTable, resource, namespace, name, version, status)
	return store.CompositionOf(r), err
}

// DeleteComposition removes a composition; ErrNotFound if absent.
func (s *Store) DeleteComposition(ctx context.Context, resource, namespace, name string) error {
	return s.deleteNS(ctx, compositionTable, resource, namespace, name)
}

func compositionsOf(rs []store.ResourceRequest) []store.Composition {
	cs := make([]store.Composition, len(rs))
	for i, r := range rs {
		cs[i] = store.CompositionOf(r)
	}
	return cs
}
