package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
)

// StateStores stores state stores (git repositories and directories that destinations' files are written to) by
// name, unique across kinds. Their credentials are sealed at rest (SealStateStore) and opened on read.
type StateStores interface {
	// CreateStateStore stores a new state store; ErrConflict if the name is taken. The caller validates it.
	CreateStateStore(ctx context.Context, s api.StateStore) error
	// GetStateStore returns a state store with its credentials opened; ErrNotFound if absent.
	GetStateStore(ctx context.Context, name string) (api.StateStore, error)
	// ListStateStores returns every state store ordered by name, opened; never nil.
	ListStateStores(ctx context.Context) ([]api.StateStore, error)
	// UpdateStateStore replaces the state store named s.Name; ErrNotFound if absent, ErrInvalid if its kind
	// changes while a destination refers to it by that kind.
	UpdateStateStore(ctx context.Context, s api.StateStore) error
	// DeleteStateStore removes a state store; ErrNotFound if absent, ErrConflict (counting them) while a
	// destination uses it.
	DeleteStateStore(ctx context.Context, name string) error
}

// Destinations stores destinations by name.
type Destinations interface {
	// CreateDestination stores a new destination; ErrConflict if the name is taken, ErrInvalid if no state store
	// of its stateStoreRef's kind and name exists (checked in the same transaction).
	CreateDestination(ctx context.Context, d api.Destination) error
	// GetDestination returns a destination; ErrNotFound if absent.
	GetDestination(ctx context.Context, name string) (api.Destination, error)
	// ListDestinations returns every destination ordered by name; never nil.
	ListDestinations(ctx context.Context) ([]api.Destination, error)
	// UpdateDestination replaces the destination named d.Name; ErrNotFound if absent, ErrInvalid as for create.
	UpdateDestination(ctx context.Context, d api.Destination) error
	// DeleteDestination removes a destination; ErrNotFound if absent.
	DeleteDestination(ctx context.Context, name string) error
}

// FieldCredentials is a state store's sealed field.
const FieldCredentials = "credentials"

// StateStoreBinding is what a state store's sealed credentials are bound to: "state_store/<name>/credentials".
func StateStoreBinding(name string) string { return "state_store/" + name + "/" + FieldCredentials }

// SealStateStore splits s for storage: its definition as JSON without credentials, and the credentials sealed
// (nil for none). Backends call it on every state store they write.
func SealStateStore(c *secret.Cipher, s api.StateStore) (def, sealed []byte, err error) {
	creds := s.Credentials
	s.Credentials = nil
	if def, err = EncodeJSON(s); err != nil {
		return nil, nil, fmt.Errorf("state store %q: encode: %w", s.Name, err)
	}
	if creds == nil || *creds == (api.GitCredentials{}) {
		return def, nil, nil
	}
	b, err := json.Marshal(creds)
	if err != nil {
		return nil, nil, fmt.Errorf("state store %q: encode credentials: %w", s.Name, err)
	}
	if sealed, err = c.Seal(b, StateStoreBinding(s.Name)); err != nil {
		return nil, nil, fmt.Errorf("state store %q: seal credentials: %w", s.Name, err)
	}
	return def, sealed, nil
}

// OpenStateStore rebuilds the state store named name from what SealStateStore made.
func OpenStateStore(c *secret.Cipher, name string, def, sealed []byte) (api.StateStore, error) {
	var s api.StateStore
	if err := DecodeJSON(def, &s); err != nil {
		return api.StateStore{}, fmt.Errorf("state store %q: decode: %w", name, err)
	}
	s.Name = name
	if sealed == nil {
		return s, nil
	}
	b, err := c.Open(sealed, StateStoreBinding(name))
	if err != nil {
		return api.StateStore{}, fmt.Errorf("state store %q: open credentials (is this the key the store was created with?): %w", name, err)
	}
	var creds api.GitCredentials
	// The decoder's error could quote the plaintext, so it is not wrapped.
	if err := json.Unmarshal(b, &creds); err != nil {
		return api.StateStore{}, fmt.Errorf("state store %q: sealed credentials are not a JSON object", name)
	}
	s.Credentials = &creds
	return s, nil
}
