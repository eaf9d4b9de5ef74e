package store

import (
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/api"
)

// EncodeTaskKubernetes is the JSON text backends store for a task's Kubernetes settings; nil (stored as NULL) when
// the task sets none, so "none" is stored one way whether it came as null or {}.
func EncodeTaskKubernetes(t api.Task) ([]byte, error) {
	if t.Kubernetes.IsZero() {
		return nil, nil
	}
	b, err := json.Marshal(t.Kubernetes)
	if err != nil {
		return nil, fmt.Errorf("task %q: encode kubernetes settings: %w", t.Name, err)
	}
	return b, nil
}

// DecodeTaskKubernetes fills t.Kubernetes from what EncodeTaskKubernetes stored; NULL or empty text leaves it nil.
func DecodeTaskKubernetes(t *api.Task, text []byte) error {
	if len(text) == 0 {
		return nil
	}
	var k api.TaskKubernetes
	if err := json.Unmarshal(text, &k); err != nil {
		return fmt.Errorf("task %q: decode kubernetes settings: %w", t.Name, err)
	}
	if !k.IsZero() {
		t.Kubernetes = &k
	}
	return nil
}

// EncodeTaskResources is the JSON text backends store for a task's resources; nil (stored as NULL) when the task
// sets none.
func EncodeTaskResources(t api.Task) ([]byte, error) {
	if t.Resources.IsZero() {
		return nil, nil
	}
	b, err := json.Marshal(t.Resources)
	if err != nil {
		return nil, fmt.Errorf("task %q: encode resources: %w", t.Name, err)
	}
	return b, nil
}

// DecodeTaskResources fills t.Resources from what EncodeTaskResources stored; NULL or empty text leaves it nil.
func DecodeTaskResources(t *api.Task, text []byte) error {
	if len(text) == 0 {
		return nil
	}
	var r api.TaskResources
	if err := json.Unmarshal(text, &r); err != nil {
		return fmt.Errorf("task %q: decode resources: %w", t.Name, err)
	}
	if !r.IsZero() {
		t.Resources = &r
	}
	return nil
}
